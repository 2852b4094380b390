"""Parcels in the unified form and their append-only event log."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from carriers.unified import Brand, Direction, FailureReason, ParcelStatus, SiteType, Temperature
from dispatch.db import Base, BigIntPK, JSONType, enum_type, new_id, utcnow


class Parcel(Base):
    __tablename__ = "parcel"
    __table_args__ = (
        UniqueConstraint("carrier_id", "waybill_no"),
        Index("ix_parcel_carrier_updated", "carrier_id", "updated_at", "id"),
        Index("ix_parcel_operator_status", "operator_id", "status"),
        Index("ix_parcel_operator_review", "operator_id", "station_id", "match_status"),
        Index("ix_parcel_operator_done", "operator_id", "done_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    operator_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("operator.id", ondelete="CASCADE"))
    carrier_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("carrier_account.id", ondelete="CASCADE"))
    brand: Mapped[Brand] = mapped_column(enum_type(Brand))
    waybill_no: Mapped[str] = mapped_column(String(40))
    direction: Mapped[Direction] = mapped_column(enum_type(Direction))
    recipient_name: Mapped[str] = mapped_column(String(64))
    recipient_phone: Mapped[str] = mapped_column(String(32))
    address_text: Mapped[str] = mapped_column(String(500))
    county_code: Mapped[str | None] = mapped_column(String(12))
    township_code: Mapped[str | None] = mapped_column(String(12))
    village_code: Mapped[str | None] = mapped_column(String(12))
    station_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("station.id", ondelete="SET NULL"), index=True
    )
    weight_g: Mapped[int]
    volume_cm3: Mapped[int | None]
    pieces: Mapped[int] = mapped_column(default=1)
    temperature: Mapped[Temperature] = mapped_column(enum_type(Temperature))
    cod_fen: Mapped[int] = mapped_column(default=0)
    declared_value_fen: Mapped[int | None]
    promised_date: Mapped[date | None]
    sort_hint: Mapped[str | None] = mapped_column(String(64))
    # door | station | locker, where the carrier or recipient gave one; station or locker = consent on file.
    delivery_preference: Mapped[str | None] = mapped_column(String(8))
    # What the address matcher found (village | township | county | ambiguous | unmatched), how sure it
    # was (0-1) and why it stopped; null until matched. A dispatcher's assignment sets 'village', 1.0.
    match_status: Mapped[str | None] = mapped_column(String(16))
    match_confidence: Mapped[float | None]
    match_reason: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[ParcelStatus] = mapped_column(enum_type(ParcelStatus))
    # When the current status happened (event time), so a late-arriving older scan cannot roll it back.
    status_at: Mapped[datetime | None]
    # When the parcel first reached a status that settles it (handed to a station or locker, delivered,
    # picked up): the day it is billed and the keeper earns commission, however its status moves later.
    done_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class EventKind(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    SCAN = "scan"


class ParcelEvent(Base):
    """Append-only: rows are inserted, never updated or deleted by the service.

    ``event_key`` makes a repeated push a no-op: the carrier's own event id where it sends one, else a
    digest of (raw code, time, site).
    """

    __tablename__ = "parcel_event"
    __table_args__ = (
        Index("ix_parcel_event_parcel_seq", "parcel_id", "id"),
        UniqueConstraint("parcel_id", "event_key"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    parcel_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("parcel.id", ondelete="CASCADE"))
    carrier_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("carrier_account.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[EventKind] = mapped_column(enum_type(EventKind))
    status: Mapped[ParcelStatus] = mapped_column(enum_type(ParcelStatus))
    raw_code: Mapped[str | None] = mapped_column(String(64))
    occurred_at: Mapped[datetime]
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    raw_namespace: Mapped[str | None] = mapped_column(String(32))
    event_key: Mapped[str | None] = mapped_column(String(64))
    place: Mapped[str | None] = mapped_column(String(200))
    site_no: Mapped[str | None] = mapped_column(String(64))
    site_type: Mapped[SiteType | None] = mapped_column(enum_type(SiteType))
    description: Mapped[str | None] = mapped_column(String(500))
    failure_reason: Mapped[FailureReason | None] = mapped_column(enum_type(FailureReason))
    pickup_code: Mapped[str | None] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(100))
    # Names of the fields an update changed; never their values (no recipient data in the log).
    changed_fields: Mapped[list[str] | None] = mapped_column(JSONType)
