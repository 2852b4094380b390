"""Stations of an operator and the villages each covers, for the dispatch desk; and their seeding.

Every function is scoped by the desk user's operator: another operator's station is answered exactly
like a station that does not exist.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from dispatch.accounts import service as accounts
from dispatch.accounts.service import DeskContext
from dispatch.db import utcnow
from dispatch.divisions import service as divisions
from dispatch.errors import Conflict, NotFound, ValidationFailed
from dispatch.models import Division, DivisionLevel, Station, StationKind
from dispatch.stations import repository
from dispatch.stations.schemas import (
    CoverageOut,
    CoveredVillage,
    Location,
    SeedResult,
    StationCreate,
    StationOut,
    StationPage,
    StationPatch,
)

# Suffixes of NBS village-committee names: 青山村委会 / 青山村民委员会 -> 青山村.
_COMMITTEE_SUFFIXES = ("民委员会", "委会")
SEEDED_STATION_SUFFIX = "服务站"


def _not_found() -> NotFound:
    # Identical for a random id and another operator's station: nothing tells them apart.
    return NotFound("No station with this id.")


def station_view(station: Station, *, village_codes: list[str], timezone: str) -> StationOut:
    zone = ZoneInfo(timezone)
    location = None
    if station.latitude_e6 is not None and station.longitude_e6 is not None:
        location = Location(latitude_e6=station.latitude_e6, longitude_e6=station.longitude_e6)
    hours = station.opening_hours
    return StationOut(
        station_id=station.id,
        name=station.name,
        kind=station.kind,
        village_code=station.village_code,
        address=station.address,
        location=location,
        opening_hours=(
            {day: [(start, end) for start, end in intervals] for day, intervals in hours.items()}
            if hours is not None
            else None
        ),
        capacity_parcels=station.capacity_parcels,
        keeper_name=station.keeper_name,
        keeper_phone=station.keeper_phone,
        active=station.active,
        village_codes=village_codes,
        created_at=station.created_at.astimezone(zone),
        updated_at=station.updated_at.astimezone(zone),
    )


def _view(session: Session, station: Station, desk: DeskContext) -> StationOut:
    codes = repository.coverage_codes(session, station_ids=[station.id])[station.id]
    return station_view(station, village_codes=codes, timezone=desk.timezone)


def _get(session: Session, desk: DeskContext, station_id: uuid.UUID, *, lock: bool = False) -> Station:
    station = repository.get(session, operator_id=desk.operator_id, station_id=station_id, lock=lock)
    if station is None:
        raise _not_found()
    return station


def check_villages(
    session: Session, *, county_code: str, codes: list[str], field: str, indexed: bool
) -> dict[str, Division]:
    """The villages named by ``codes``; ``ValidationFailed`` naming every code that is not a known
    village of the county. Errors name ``field``, or ``field.<index>`` when ``indexed``."""
    found = divisions.divisions_by_code(session, codes=set(codes))
    errors: list[dict[str, str]] = []
    unknown: list[str] = []
    foreign: list[str] = []
    for index, code in enumerate(codes):
        division = found.get(code)
        where = f"{field}.{index}" if indexed else field
        if division is None or division.level is not DivisionLevel.VILLAGE:
            unknown.append(code)
            errors.append({"field": where, "reason": f"{code} is not a known village code"})
        elif division.county_code != county_code:
            foreign.append(code)
            errors.append({"field": where, "reason": f"{code} is outside county {county_code}"})
    if errors:
        parts = []
        if unknown:
            parts.append(f"unknown village codes: {', '.join(unknown)}")
        if foreign:
            parts.append(f"outside county {county_code}: {', '.join(foreign)}")
        raise ValidationFailed(
            "; ".join(parts).capitalize() + ".",
            errors=errors,
            extra={"unknown_codes": unknown, "outside_county_codes": foreign},
        )
    return found


def _county(session: Session, desk: DeskContext) -> str:
    return accounts.get_operator(session, operator_id=desk.operator_id).county_code


def _check_site(session: Session, desk: DeskContext, village_code: str) -> None:
    check_villages(
        session, county_code=_county(session, desk), codes=[village_code], field="village_code", indexed=False
    )


# Fields a PATCH copies as they are (location and opening hours are reshaped first).
_PLAIN_FIELDS = ("name", "kind", "village_code", "address", "capacity_parcels", "keeper_name", "keeper_phone")


def create_station(session: Session, *, desk: DeskContext, data: StationCreate) -> StationOut:
    if data.village_code is not None:
        _check_site(session, desk, data.village_code)
    now = utcnow()
    station = Station(
        operator_id=desk.operator_id,
        name=data.name,
        kind=data.kind,
        village_code=data.village_code,
        address=data.address,
        latitude_e6=data.location.latitude_e6 if data.location else None,
        longitude_e6=data.location.longitude_e6 if data.location else None,
        opening_hours=data.opening_hours.stored() if data.opening_hours else None,
        capacity_parcels=data.capacity_parcels,
        keeper_name=data.keeper_name,
        keeper_phone=data.keeper_phone,
        active=data.active,
        created_at=now,
        updated_at=now,
    )
    repository.add(session, [station])
    return station_view(station, village_codes=[], timezone=desk.timezone)


def get_station(session: Session, *, desk: DeskContext, station_id: uuid.UUID) -> StationOut:
    return _view(session, _get(session, desk, station_id), desk)


def update_station(
    session: Session, *, desk: DeskContext, station_id: uuid.UUID, patch: StationPatch
) -> StationOut:
    """Change the fields the patch sets; ``null`` clears a nullable one."""
    station = _get(session, desk, station_id, lock=True)
    sent = patch.model_fields_set
    if "village_code" in sent and patch.village_code is not None:
        _check_site(session, desk, patch.village_code)
    for name in _PLAIN_FIELDS:
        if name in sent:
            setattr(station, name, getattr(patch, name))
    if "active" in sent and patch.active is not None:
        station.active = patch.active
    if "location" in sent:
        station.latitude_e6 = patch.location.latitude_e6 if patch.location else None
        station.longitude_e6 = patch.location.longitude_e6 if patch.location else None
    if "opening_hours" in sent:
        station.opening_hours = patch.opening_hours.stored() if patch.opening_hours else None
    if sent:
        station.updated_at = utcnow()
    session.flush()
    return _view(session, station, desk)


def encode_cursor(created_at: datetime, station_id: uuid.UUID) -> str:
    raw = json.dumps(["s", created_at.isoformat(), str(station_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        tag, stamp, sid = json.loads(raw)
        when = datetime.fromisoformat(stamp)
        if tag != "s" or when.tzinfo is None:
            raise ValueError("not a station cursor")
        return when, uuid.UUID(sid)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise ValidationFailed(
            "The cursor is not one this API issued.", errors=[{"field": "cursor", "reason": "invalid cursor"}]
        ) from exc


def list_stations(
    session: Session,
    *,
    desk: DeskContext,
    kind: StationKind | None,
    active: bool | None,
    covers: str | None,
    cursor: str | None,
    limit: int,
) -> StationPage:
    """One page of the operator's stations, oldest first; ``limit`` is already capped."""
    rows = repository.list_page(
        session,
        operator_id=desk.operator_id,
        kind=kind,
        active=active,
        covers=covers,
        after=decode_cursor(cursor) if cursor else None,
        limit=limit + 1,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    codes = repository.coverage_codes(session, station_ids=[s.id for s in rows])
    return StationPage(
        items=[station_view(s, village_codes=codes[s.id], timezone=desk.timezone) for s in rows],
        next_cursor=encode_cursor(rows[-1].created_at, rows[-1].id) if more and rows else None,
    )


def _coverage_view(station_id: uuid.UUID, villages: list[Division]) -> CoverageOut:
    return CoverageOut(
        station_id=station_id,
        villages=[
            CoveredVillage(village_code=v.code, name=v.name, township_code=v.township_code, retired=v.retired)
            for v in sorted(villages, key=lambda v: v.code)
        ],
    )


def get_coverage(session: Session, *, desk: DeskContext, station_id: uuid.UUID) -> CoverageOut:
    station = _get(session, desk, station_id)
    codes = repository.coverage_codes(session, station_ids=[station.id])[station.id]
    return _coverage_view(station.id, list(divisions.divisions_by_code(session, codes=codes).values()))


def set_coverage(
    session: Session, *, desk: DeskContext, station_id: uuid.UUID, village_codes: list[str]
) -> CoverageOut:
    """Make ``village_codes`` the station's whole coverage.

    Raises ``ValidationFailed`` naming codes that are not villages of the operator's county, and
    ``Conflict`` naming villages another station of the operator already covers (free them there first).
    Retired codes are accepted: parcels addressed with them still need a station.
    """
    station = _get(session, desk, station_id, lock=True)
    villages = check_villages(
        session, county_code=_county(session, desk), codes=village_codes, field="village_codes", indexed=True
    )
    wanted = sorted(set(village_codes))
    holders = repository.covering_stations(session, operator_id=desk.operator_id, village_codes=wanted)
    taken = {code: holder for code, holder in holders.items() if holder != station.id}
    new = [code for code in wanted if code not in holders]
    inserted: set[str] = set()
    if not taken:
        repository.remove_coverage(session, station_id=station.id, keep=wanted)
        inserted = repository.insert_coverage(
            session,
            [{"station_id": station.id, "village_code": c, "operator_id": desk.operator_id} for c in new],
        )
        # A concurrent request may have given a village to another station between our read and insert.
        taken = repository.covering_stations(
            session, operator_id=desk.operator_id, village_codes=set(new) - inserted
        )
    if taken:
        first_index = {code: i for i, code in reversed(list(enumerate(village_codes)))}
        raise Conflict(
            "Villages already covered by another station of this operator: "
            + ", ".join(f"{code} (station {holder})" for code, holder in sorted(taken.items()))
            + ". Remove them from that station's coverage first.",
            errors=[
                {"field": f"village_codes.{first_index[code]}", "reason": f"covered by station {holder}"}
                for code, holder in sorted(taken.items())
            ],
        )
    station.updated_at = utcnow()
    session.flush()
    return _coverage_view(station.id, [villages[code] for code in wanted])


def seeded_station_name(village_name: str) -> str:
    """青山村委会 / 青山村民委员会 / 青山村 -> 青山村服务站."""
    for suffix in _COMMITTEE_SUFFIXES:
        if village_name.endswith(suffix) and len(village_name) > len(suffix):
            village_name = village_name[: -len(suffix)]
            break
    return village_name + SEEDED_STATION_SUFFIX


def seed_village_stations(session: Session, *, operator_id: uuid.UUID) -> SeedResult:
    """One village_station per current village committee of the operator's county that no station of
    the operator covers yet, named after the village, at its township's point (else the county seat's),
    covering that village. Villages already covered are counted as ``existing``; re-running adds nothing.

    Reads villages from the division table (import the gazetteer first). Raises ``NotFound`` for an
    unknown operator.
    """
    operator = accounts.get_operator(session, operator_id=operator_id, lock=True)
    villages = divisions.county_villages(session, county_code=operator.county_code)
    covered = repository.covering_stations(
        session, operator_id=operator_id, village_codes=[v.code for v in villages]
    )
    todo = [v for v in villages if v.code not in covered]
    places = divisions.divisions_by_code(
        session, codes={v.township_code for v in todo if v.township_code} | {operator.county_code}
    )
    seat = places.get(operator.county_code)
    now = utcnow()
    stations: list[Station] = []
    for village in todo:
        point = places.get(village.township_code or "")
        if point is None or point.latitude_e6 is None or point.longitude_e6 is None:
            point = seat
        stations.append(
            Station(
                operator_id=operator_id,
                name=seeded_station_name(village.name),
                kind=StationKind.VILLAGE_STATION,
                village_code=village.code,
                latitude_e6=point.latitude_e6 if point else None,
                longitude_e6=point.longitude_e6 if point else None,
                active=True,
                created_at=now,
                updated_at=now,
            )
        )
    repository.add(session, stations)
    inserted = repository.insert_coverage(
        session,
        [{"station_id": s.id, "village_code": s.village_code, "operator_id": operator_id} for s in stations],
    )
    if len(inserted) != len(stations):  # the operator row lock makes this a bug, not a race
        raise Conflict("Another request covered some of these villages meanwhile; run the seed again.")
    return SeedResult(created=len(stations), existing=len(covered))
