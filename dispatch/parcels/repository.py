"""Parcel and event statements; bulk paths use Core inserts for speed."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import String, any_, bindparam, insert, select, tuple_, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from carriers.unified import ParcelStatus
from dispatch.db import dialect_insert, is_postgres, pg_bulk_insert
from dispatch.models import Parcel, ParcelEvent


def find_by_waybills(
    session: Session, *, carrier_id: uuid.UUID, waybills: Sequence[str], lock: bool
) -> dict[str, Parcel]:
    if not waybills:
        return {}
    if is_postgres(session):
        # One array parameter instead of a thousand: a fixed statement the server plans cheaply.
        matches = Parcel.waybill_no == any_(bindparam("waybills", sorted(waybills), type_=ARRAY(String)))
    else:
        matches = Parcel.waybill_no.in_(sorted(waybills))
    stmt = select(Parcel).where(Parcel.carrier_id == carrier_id, matches).order_by(Parcel.waybill_no)
    if lock and is_postgres(session):
        stmt = stmt.with_for_update()
    return {p.waybill_no: p for p in session.execute(stmt).scalars()}


def insert_new(session: Session, rows: list[dict[str, Any]]) -> dict[str, uuid.UUID]:
    """Insert rows whose (carrier, waybill) is free; returns waybill -> id of those actually inserted."""
    if not rows:
        return {}
    rows = sorted(rows, key=lambda r: r["waybill_no"])  # one lock order for every writer
    if is_postgres(session):
        inserted = pg_bulk_insert(
            session,
            Parcel.__table__,
            rows,
            conflict_columns=("carrier_id", "waybill_no"),
            returning=("waybill_no", "id"),
        )
        return {row.waybill_no: row.id for row in inserted}
    stmt = (
        dialect_insert(session)(Parcel)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["carrier_id", "waybill_no"])
        .returning(Parcel.waybill_no, Parcel.id)
    )
    return {row.waybill_no: row.id for row in session.execute(stmt)}


def update_fields(session: Session, *, parcel_id: uuid.UUID, values: dict[str, Any]) -> None:
    session.execute(update(Parcel).where(Parcel.id == parcel_id).values(**values))


def insert_events(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows and is_postgres(session):
        pg_bulk_insert(session, ParcelEvent.__table__, rows)
    elif rows:
        session.execute(insert(ParcelEvent), rows)


def get_by_waybill(session: Session, *, carrier_id: uuid.UUID, waybill_no: str) -> Parcel | None:
    return session.execute(
        select(Parcel).where(Parcel.carrier_id == carrier_id, Parcel.waybill_no == waybill_no)
    ).scalar_one_or_none()


def list_page(
    session: Session,
    *,
    carrier_id: uuid.UUID,
    status: ParcelStatus | None,
    after: tuple[datetime, uuid.UUID] | None,
    updated_since: datetime | None,
    limit: int,
) -> list[Parcel]:
    stmt = select(Parcel).where(Parcel.carrier_id == carrier_id)
    if status is not None:
        stmt = stmt.where(Parcel.status == status)
    if after is not None:
        stmt = stmt.where(tuple_(Parcel.updated_at, Parcel.id) > after)
    elif updated_since is not None:
        stmt = stmt.where(Parcel.updated_at >= updated_since)
    stmt = stmt.order_by(Parcel.updated_at, Parcel.id).limit(limit)
    return list(session.execute(stmt).scalars())


def list_events(session: Session, *, parcel_id: uuid.UUID) -> list[ParcelEvent]:
    return list(
        session.execute(
            select(ParcelEvent).where(ParcelEvent.parcel_id == parcel_id).order_by(ParcelEvent.id)
        ).scalars()
    )
