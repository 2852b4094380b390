"""Matching as the service uses it: parcels matched on ingestion, a review queue, and corrections that
are remembered as aliases per operator."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from dispatch.config import get_settings
from dispatch.db import Database, is_postgres, pg_bulk_update
from dispatch.matching.engine import Match, Matcher, Status
from dispatch.matching.gazetteer import Division as GazetteerDivision
from dispatch.matching.gazetteer import Gazetteer, Level, load_dir
from dispatch.models import AddressAlias, Operator, Parcel
from dispatch.models.division import Division
from dispatch.models.station import StationCoverage

AUTO_ASSIGN_CONFIDENCE = 0.9
"""A village match at least this sure sets the parcel's station; anything less waits for a dispatcher."""


_build_lock = threading.Lock()


def matcher_for(gazetteer_dir: str) -> Matcher:
    """The matcher for a gazetteer directory (about half a second to build; cached, and built once even
    when the first requests arrive together)."""
    with _build_lock:
        return _matcher_for(gazetteer_dir)


@lru_cache(maxsize=4)
def _matcher_for(gazetteer_dir: str) -> Matcher:
    return Matcher(load_dir(Path(gazetteer_dir)))


_db_matchers: dict[str, Matcher] = {}


def database_matcher(session: Session) -> Matcher | None:
    """The matcher over the imported gazetteer (rebuilt when an import changes it), else over the
    configured gazetteer directory, else None (no gazetteer: parcels stay unmatched)."""
    count, latest = session.execute(select(func.count(), func.max(Division.imported_at))).one()
    if count:
        version = f"{count}:{latest}"
        with _build_lock:
            matcher = _db_matchers.get(version)
            if matcher is None:
                matcher = Matcher(_gazetteer_from_rows(session.execute(select(Division)).scalars()))
                _db_matchers.clear()
                _db_matchers[version] = matcher
        return matcher
    directory = get_settings().gazetteer_dir
    if (directory / "villages.csv").is_file():
        return matcher_for(str(directory))
    return None


def _gazetteer_from_rows(rows: Iterable[Division]) -> Gazetteer:
    gazetteer = Gazetteer(source="database")
    for row in rows:
        gazetteer.add(
            GazetteerDivision(
                code=row.code,
                level=Level(row.level.value),
                name=row.name,
                county_code=row.county_code,
                township_code=row.township_code,
                city_name=row.city_name,
                kind=row.kind,
                retired=row.retired,
            )
        )
    return gazetteer


def aliases_of(session: Session, *, operator_id: uuid.UUID) -> dict[str, str]:
    rows = session.execute(
        select(AddressAlias.alias_key, AddressAlias.village_code).where(
            AddressAlias.operator_id == operator_id
        )
    )
    return {row.alias_key: row.village_code for row in rows}


def coverage_of(session: Session, *, operator_id: uuid.UUID) -> dict[str, uuid.UUID]:
    rows = session.execute(
        select(StationCoverage.village_code, StationCoverage.station_id).where(
            StationCoverage.operator_id == operator_id
        )
    )
    return {row.village_code: row.station_id for row in rows}


def resolution(match: Match, coverage: dict[str, uuid.UUID]) -> dict[str, Any]:
    """The parcel columns a match sets; the station only for a sure village match with a station."""
    station = None
    if match.status is Status.VILLAGE and match.confidence >= AUTO_ASSIGN_CONFIDENCE and match.village_code:
        station = coverage.get(match.village_code)
    return {
        "county_code": match.county_code,
        "township_code": match.township_code,
        "village_code": match.village_code,
        "station_id": station,
        "match_status": match.status.value,
        "match_confidence": match.confidence,
        "match_reason": (match.reason or "")[:200] or None,
    }


def resolve(
    session: Session, *, operator_id: uuid.UUID, addresses: list[tuple[str, str | None]]
) -> list[dict[str, Any]] | None:
    """The resolution columns for each (address, sort hint), in order; None without a gazetteer."""
    matcher = database_matcher(session)
    if matcher is None or not addresses:
        return None
    county = session.execute(select(Operator.county_code).where(Operator.id == operator_id)).scalar_one()
    aliases = aliases_of(session, operator_id=operator_id)
    coverage = coverage_of(session, operator_id=operator_id)
    return [
        resolution(matcher.match(address, county_hint=county, sort_hint=hint, aliases=aliases), coverage)
        for address, hint in addresses
    ]


def match_parcels(session: Session, *, operator_id: uuid.UUID, parcel_ids: list[uuid.UUID]) -> int:
    """Match these stored parcels' addresses again and store the result; returns how many got a station."""
    if not parcel_ids:
        return 0
    rows = session.execute(
        select(Parcel.id, Parcel.address_text, Parcel.sort_hint).where(Parcel.id.in_(parcel_ids))
    ).all()
    return _store_matches(session, operator_id=operator_id, rows=rows)


def _store_matches(session: Session, *, operator_id: uuid.UUID, rows: Sequence[Any]) -> int:
    """Match (id, address_text, sort_hint) rows and write the results; returns how many got a station."""
    resolved = resolve(
        session, operator_id=operator_id, addresses=[(r.address_text, r.sort_hint) for r in rows]
    )
    if not resolved:
        return 0
    updates = [{"id": row.id, **columns} for row, columns in zip(rows, resolved, strict=True)]
    if is_postgres(session):
        pg_bulk_update(session, Parcel.__table__, updates)
    else:
        session.execute(update(Parcel), updates)  # bulk UPDATE by primary key
    return sum(1 for u in updates if u["station_id"] is not None)


def _pending(operator_id: uuid.UUID) -> tuple[Any, ...]:
    """Not matched yet (new, or re-addressed) and not placed at a station by other means."""
    return (
        Parcel.operator_id == operator_id,
        Parcel.match_status.is_(None),
        Parcel.station_id.is_(None),
    )


PENDING_CHUNK = 2000
"""Pending parcels matched per transaction: one chunk's rows are locked at a time."""


def match_pending(session: Session, *, operator_id: uuid.UUID, limit: int = PENDING_CHUNK) -> int:
    """Match up to ``limit`` of the operator's pending parcels (``match_status`` NULL: new, or re-addressed)
    and store the result; returns how many were matched (0 = none left, or no gazetteer).

    Rows are taken ``FOR UPDATE SKIP LOCKED`` (on PostgreSQL), so workers running side by side never match
    the same parcel twice; the caller commits and calls again until it gets 0.
    """
    if database_matcher(session) is None:
        return 0
    stmt = (
        select(Parcel.id, Parcel.address_text, Parcel.sort_hint)
        .where(*_pending(operator_id))
        .order_by(Parcel.created_at)
        .limit(limit)
    )
    if is_postgres(session):
        stmt = stmt.with_for_update(skip_locked=True)
    rows = session.execute(stmt).all()
    _store_matches(session, operator_id=operator_id, rows=rows)
    return len(rows)


def match_all_pending(database: Database, operator_id: uuid.UUID) -> int:
    """Match every pending parcel of the operator, one chunk per transaction; returns how many."""
    total = 0
    while True:
        with database.session_scope() as session:
            done = match_pending(session, operator_id=operator_id)
        total += done
        if not done:
            return total


def pending_count(session: Session, *, operator_id: uuid.UUID) -> int:
    return session.execute(
        select(func.count()).select_from(Parcel).where(*_pending(operator_id))
    ).scalar_one()


def as_json(address: str, match: Match) -> dict[str, Any]:
    return {
        "address": address,
        "status": match.status.value,
        "village_code": match.village_code,
        "township_code": match.township_code,
        "county_code": match.county_code,
        "confidence": match.confidence,
        "evidence": list(match.evidence),
        "reason": match.reason,
        **({"candidates": list(match.candidates)} if match.candidates else {}),
    }


def match_lines(matcher: Matcher, lines: Iterable[str], *, county: str | None) -> Iterator[str]:
    """One JSON object per input line (the line's trailing newline removed; blank lines kept as unmatched)."""
    for line in lines:
        address = line.rstrip("\r\n")
        yield json.dumps(as_json(address, matcher.match(address, county_hint=county)), ensure_ascii=False)
