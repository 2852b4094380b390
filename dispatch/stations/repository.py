"""Station and coverage statements, always scoped to one operator."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, tuple_
from sqlalchemy.orm import Session

from dispatch.db import dialect_insert
from dispatch.models import Station, StationCoverage, StationKind


def get(
    session: Session, *, operator_id: uuid.UUID, station_id: uuid.UUID, lock: bool = False
) -> Station | None:
    stmt = select(Station).where(Station.id == station_id, Station.operator_id == operator_id)
    if lock:
        stmt = stmt.with_for_update()
    return session.execute(stmt).scalar_one_or_none()


def add(session: Session, stations: list[Station]) -> None:
    session.add_all(stations)
    session.flush()


def list_page(
    session: Session,
    *,
    operator_id: uuid.UUID,
    kind: StationKind | None,
    active: bool | None,
    covers: str | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Station]:
    stmt = select(Station).where(Station.operator_id == operator_id)
    if kind is not None:
        stmt = stmt.where(Station.kind == kind)
    if active is not None:
        stmt = stmt.where(Station.active.is_(active))
    if covers is not None:
        stmt = stmt.where(
            Station.id.in_(
                select(StationCoverage.station_id).where(
                    StationCoverage.operator_id == operator_id, StationCoverage.village_code == covers
                )
            )
        )
    if after is not None:
        stmt = stmt.where(tuple_(Station.created_at, Station.id) > after)
    stmt = stmt.order_by(Station.created_at, Station.id).limit(limit)
    return list(session.execute(stmt).scalars())


def coverage_codes(session: Session, *, station_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    """station id -> covered village codes in code order (every given id present, maybe empty)."""
    found: dict[uuid.UUID, list[str]] = {station_id: [] for station_id in station_ids}
    if not station_ids:
        return found
    stmt = (
        select(StationCoverage.station_id, StationCoverage.village_code)
        .where(StationCoverage.station_id.in_(sorted(station_ids)))
        .order_by(StationCoverage.station_id, StationCoverage.village_code)
    )
    for station_id, code in session.execute(stmt):
        found[station_id].append(code)
    return found


def covering_stations(
    session: Session, *, operator_id: uuid.UUID, village_codes: Collection[str] | None
) -> dict[str, uuid.UUID]:
    """village code -> the operator's station covering it, for ``village_codes`` (None: every village)."""
    stmt = select(StationCoverage.village_code, StationCoverage.station_id).where(
        StationCoverage.operator_id == operator_id
    )
    if village_codes is not None:
        if not village_codes:
            return {}
        stmt = stmt.where(StationCoverage.village_code.in_(sorted(village_codes)))
    return {row.village_code: row.station_id for row in session.execute(stmt)}


def remove_coverage(session: Session, *, station_id: uuid.UUID, keep: Collection[str]) -> None:
    stmt = delete(StationCoverage).where(StationCoverage.station_id == station_id)
    if keep:
        stmt = stmt.where(StationCoverage.village_code.not_in(sorted(keep)))
    session.execute(stmt)


def insert_coverage(session: Session, rows: list[dict[str, Any]]) -> set[str]:
    """Insert coverage rows; a village already covered for the operator is skipped, not an error.

    Returns the village codes actually inserted, so the caller can tell who won a race.
    """
    if not rows:
        return set()
    rows = sorted(rows, key=lambda r: r["village_code"])  # one lock order for every writer
    stmt = (
        dialect_insert(session)(StationCoverage)
        .values(rows)
        .on_conflict_do_nothing()
        .returning(StationCoverage.village_code)
    )
    return set(session.execute(stmt).scalars())
