"""The review queue: parcels the matcher could not place surely, and a dispatcher's assignments."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, select, tuple_
from sqlalchemy.orm import Session

from dispatch.accounts.service import DeskContext
from dispatch.db import utcnow
from dispatch.errors import NotFound, ValidationFailed
from dispatch.matching import service as matching
from dispatch.models import AddressAlias, Operator, Parcel, Station
from dispatch.models.division import Division
from dispatch.models.station import StationCoverage
from dispatch.review.schemas import AssignIn, AssignOut, MatchOut, ReviewItem, ReviewPage


def _waiting(operator_id: uuid.UUID) -> list[ColumnElement[bool]]:
    """Parcels without a station: unsure matches, and sure villages no station covers."""
    return [Parcel.operator_id == operator_id, Parcel.station_id.is_(None)]


def _cursor(created_at: datetime, parcel_id: uuid.UUID) -> str:
    return (
        base64.urlsafe_b64encode(json.dumps([created_at.isoformat(), str(parcel_id)]).encode())
        .decode()
        .rstrip("=")
    )


def _decode(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        stamp, pid = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return datetime.fromisoformat(stamp), uuid.UUID(pid)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise ValidationFailed(errors=[{"field": "cursor", "reason": "invalid cursor"}]) from exc


def queue(
    session: Session, *, desk: DeskContext, status: str | None, cursor: str | None, limit: int
) -> ReviewPage:
    """One page of the operator's waiting parcels, oldest first, each with what the matcher found.

    Parcels still pending (new, not yet seen by the matching worker) are matched first, so the queue
    never shows a parcel the matcher would place by itself.
    """
    while matching.match_pending(session, operator_id=desk.operator_id):
        pass
    conditions = _waiting(desk.operator_id)
    if status:
        conditions.append(Parcel.match_status == status)
    stmt = select(Parcel).where(*conditions)
    if cursor:
        stmt = stmt.where(tuple_(Parcel.created_at, Parcel.id) > _decode(cursor))
    rows = list(session.execute(stmt.order_by(Parcel.created_at, Parcel.id).limit(limit + 1)).scalars())
    more, rows = len(rows) > limit, rows[:limit]
    matcher = matching.database_matcher(session)
    county = session.execute(select(Operator.county_code).where(Operator.id == desk.operator_id)).scalar_one()
    aliases = matching.aliases_of(session, operator_id=desk.operator_id)
    coverage = matching.coverage_of(session, operator_id=desk.operator_id)
    zone = ZoneInfo(desk.timezone)
    items = []
    for row in rows:
        live = (
            matcher.match(row.address_text, county_hint=county, sort_hint=row.sort_hint, aliases=aliases)
            if matcher
            else None
        )
        items.append(
            ReviewItem(
                parcel_id=row.id,
                waybill_no=row.waybill_no,
                brand=row.brand.value,
                address=row.address_text,
                sort_hint=row.sort_hint,
                match=MatchOut(
                    status=row.match_status,
                    county_code=row.county_code,
                    township_code=row.township_code,
                    village_code=row.village_code,
                    confidence=row.match_confidence,
                    reason=row.match_reason,
                    evidence=list(live.evidence) if live else [],
                    candidates=list(live.candidates) if live else [],
                ),
                suggested_station_id=coverage.get(row.village_code) if row.village_code else None,
                created_at=row.created_at.astimezone(zone),
            )
        )
    next_cursor = _cursor(rows[-1].created_at, rows[-1].id) if more and rows else None
    return ReviewPage(items=items, next_cursor=next_cursor)


def assign(session: Session, *, desk: DeskContext, parcel_id: uuid.UUID, data: AssignIn) -> AssignOut:
    """Put a parcel at a station; remember its address form so the next parcels written so resolve alone."""
    parcel = session.execute(
        select(Parcel).where(Parcel.id == parcel_id, Parcel.operator_id == desk.operator_id).with_for_update()
    ).scalar_one_or_none()
    if parcel is None:
        raise NotFound("No parcel with this id.")
    station = session.execute(
        select(Station).where(Station.id == data.station_id, Station.operator_id == desk.operator_id)
    ).scalar_one_or_none()
    if station is None:
        raise ValidationFailed(
            "No station with this id.", errors=[{"field": "station_id", "reason": "no such station"}]
        )
    covered = list(
        session.execute(
            select(StationCoverage.village_code).where(StationCoverage.station_id == station.id)
        ).scalars()
    )
    village_code = data.village_code or (covered[0] if len(covered) == 1 else None)
    if village_code is None:
        raise ValidationFailed(
            "This station covers several villages (or none): name the village.",
            errors=[{"field": "village_code", "reason": "required for this station"}],
        )
    if covered and village_code not in covered:
        raise ValidationFailed(
            "The station does not cover this village.",
            errors=[{"field": "village_code", "reason": "not covered by the station"}],
        )
    village = session.get(Division, village_code)
    if village is None:
        raise ValidationFailed(errors=[{"field": "village_code", "reason": "unknown village code"}])
    parcel.county_code, parcel.township_code, parcel.village_code = (
        village.county_code,
        village.township_code,
        village.code,
    )
    parcel.station_id = station.id
    parcel.match_status, parcel.match_confidence, parcel.match_reason = (
        "village",
        1.0,
        "assigned by a dispatcher",
    )
    parcel.updated_at = utcnow()
    session.flush()

    alias_key = None
    also = 0
    matcher = matching.database_matcher(session)
    if data.remember and matcher is not None:
        alias_key = matcher.alias_key(parcel.address_text)[:300] or None
    if alias_key:
        alias = session.execute(
            select(AddressAlias).where(
                AddressAlias.operator_id == desk.operator_id, AddressAlias.alias_key == alias_key
            )
        ).scalar_one_or_none()
        if alias is None:
            session.add(
                AddressAlias(
                    operator_id=desk.operator_id,
                    alias_key=alias_key,
                    village_code=village.code,
                    station_id=station.id,
                    created_by=desk.user_id,
                )
            )
        else:
            alias.village_code, alias.station_id, alias.updated_at = village.code, station.id, utcnow()
        session.flush()
        rows = session.execute(
            select(Parcel.id, Parcel.address_text).where(*_waiting(desk.operator_id), Parcel.id != parcel.id)
        )
        waiting = [
            r.id for r in rows if matcher is not None and matcher.alias_key(r.address_text) == alias_key
        ]
        also = matching.match_parcels(session, operator_id=desk.operator_id, parcel_ids=waiting)
    return AssignOut(
        parcel_id=parcel.id,
        station_id=station.id,
        village_code=village.code,
        alias_key=alias_key,
        also_assigned=also,
    )
