"""Vehicles and drivers of an operator's fleet."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.db import Base, new_id, utcnow


class Vehicle(Base):
    __tablename__ = "vehicle"
    __table_args__ = (UniqueConstraint("operator_id", "plate_no"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    operator_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("operator.id", ondelete="CASCADE"), index=True)
    plate_no: Mapped[str] = mapped_column(String(16))
    capacity_weight_g: Mapped[int]
    capacity_volume_cm3: Mapped[int | None]
    refrigerated: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Driver(Base):
    __tablename__ = "driver"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    operator_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("operator.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(32))
    vehicle_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("vehicle.id", ondelete="SET NULL"))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DriverToken(Base):
    """A driver's token for one shift, kept only as its SHA-256 digest; ``prefix`` is the visible start
    (``gpt_…``). It expires with the shift, is bound to the first device that uses it (``device_id``),
    and can be revoked."""

    __tablename__ = "driver_token"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    driver_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("driver.id", ondelete="CASCADE"), index=True)
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    key_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    device_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
