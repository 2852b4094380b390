"""Manifests: a published route as its driver works it, versioned per vehicle and service day."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.db import Base, JSONType, new_id, utcnow


class Manifest(Base):
    """One version of a vehicle's route for a service day's wave. Publishing that wave again supersedes
    the current version (``superseded_at``) with version + 1; ``content`` is what the driver's phone shows."""

    __tablename__ = "manifest"
    __table_args__ = (
        Index("ix_manifest_driver_current", "driver_id", "superseded_at"),
        Index(
            "ix_manifest_vehicle_day_wave", "vehicle_id", "service_date", "wave_key", "version", unique=True
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    operator_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("operator.id", ondelete="CASCADE"), index=True)
    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("plan.id", ondelete="CASCADE"), index=True)
    vehicle_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("vehicle.id", ondelete="CASCADE"))
    driver_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("driver.id", ondelete="SET NULL"))
    service_date: Mapped[date]
    wave_key: Mapped[int]
    """The plan's wave, 0 for a plan of everything waiting: versions count per vehicle, day and wave."""
    version: Mapped[int]
    content: Mapped[dict[str, Any]] = mapped_column(JSONType)
    etag: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    superseded_at: Mapped[datetime | None]
    route_facts: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    """What settling the route needs: ``distance_m``, ``stops``, and how its cost divides among its carriers
    (``split_rule``, ``split_weights``: carrier account id → weight as ``"p/q"``), fixed at publish."""
    started_at: Mapped[datetime | None]
    """When the driver started the route (their route_start event's time)."""
    ended_at: Mapped[datetime | None]
    """When the driver ended it (route_end)."""


class ManifestParcel(Base):
    """A parcel on a manifest version; a parcel on a current (not superseded) manifest is on a published
    route and no later plan takes it."""

    __tablename__ = "manifest_parcel"

    manifest_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("manifest.id", ondelete="CASCADE"), primary_key=True
    )
    parcel_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("parcel.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    stop_seq: Mapped[int]
