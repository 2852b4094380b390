"""Carrier callbacks: each of our scans on a carrier's parcel, delivered to its callback URL."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.db import Base, BigIntPK, enum_type, utcnow


class CallbackStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"


class CallbackDelivery(Base):
    """One event to push to one carrier. Written in the transaction that records the event; delivered in
    event order per parcel (``id`` order), retried with backoff, dead-lettered after the last attempt."""

    __tablename__ = "callback_delivery"
    __table_args__ = (
        Index("ix_callback_due", "status", "next_attempt_at"),
        Index("ix_callback_parcel_order", "parcel_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    operator_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("operator.id", ondelete="CASCADE"), index=True)
    carrier_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("carrier_account.id", ondelete="CASCADE"))
    parcel_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("parcel.id", ondelete="CASCADE"))
    parcel_event_id: Mapped[int] = mapped_column(
        BigIntPK, ForeignKey("parcel_event.id", ondelete="CASCADE"), unique=True
    )
    status: Mapped[CallbackStatus] = mapped_column(enum_type(CallbackStatus), default=CallbackStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]
