"""Division statements: a snapshot for the importer's diff, batched upserts, lookups by code and county."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from dispatch.db import dialect_insert
from dispatch.models import Division, DivisionLevel

# The columns an import writes; ``successor_code`` is left to people, never to an import.
IMPORTED_COLUMNS = (
    "level",
    "name",
    "county_code",
    "township_code",
    "city_name",
    "kind",
    "retired",
    "latitude_e6",
    "longitude_e6",
)


def snapshot(session: Session, *, provinces: Iterable[str]) -> dict[str, dict[str, Any]]:
    """code -> imported columns of every stored division whose code starts with one of ``provinces``."""
    prefixes = sorted(set(provinces))
    if not prefixes:
        return {}
    columns = [Division.code, *(getattr(Division, name) for name in IMPORTED_COLUMNS)]
    stmt = select(*columns).where(or_(*(Division.code.startswith(p) for p in prefixes)))
    return {
        row.code: {name: getattr(row, name) for name in IMPORTED_COLUMNS} for row in session.execute(stmt)
    }


def upsert(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert the rows, or overwrite the stored ones of the same code (``INSERT … ON CONFLICT DO UPDATE``).

    Executed as an executemany of one fixed statement, which SQLAlchemy batches into multi-row inserts
    (insertmanyvalues); a ``.values(rows)`` statement would be compiled anew per batch, ten times slower.
    """
    if not rows:
        return
    stmt = dialect_insert(session)(Division)
    written = [name for name in rows[0] if name != "code"]
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=[Division.code], set_={name: stmt.excluded[name] for name in written}
        ),
        rows,
    )


def retire(session: Session, *, codes: Collection[str], now: datetime) -> None:
    if codes:
        session.execute(
            update(Division).where(Division.code.in_(sorted(codes))).values(retired=True, imported_at=now)
        )


def get_many(session: Session, *, codes: Collection[str]) -> dict[str, Division]:
    if not codes:
        return {}
    stmt = select(Division).where(Division.code.in_(sorted(codes)))
    return {d.code: d for d in session.execute(stmt).scalars()}


def county_divisions(
    session: Session,
    *,
    county_code: str,
    level: DivisionLevel,
    kind: str | None,
    include_retired: bool,
) -> list[Division]:
    stmt = select(Division).where(Division.county_code == county_code, Division.level == level)
    if kind is not None:
        stmt = stmt.where(Division.kind == kind)
    if not include_retired:
        stmt = stmt.where(Division.retired.is_(False))
    return list(session.execute(stmt.order_by(Division.code)).scalars())
