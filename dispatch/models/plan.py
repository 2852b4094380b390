"""Plans: a wave's parcels routed onto the fleet, from a queued solve to a published set of routes."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.db import Base, JSONType, enum_type, new_id, utcnow


class PlanStatus(StrEnum):
    QUEUED = "queued"
    SOLVING = "solving"
    DRAFT = "draft"
    FAILED = "failed"
    PUBLISHED = "published"


class Plan(Base):
    """One solve of a service day's wave (or of everything waiting, ``wave`` NULL).

    ``progress`` and ``result`` are JSON written by the solve job: progress while it runs (elapsed and best
    objective), then the routes, the stops left out with their reasons, cost and the per-carrier preview.
    """

    __tablename__ = "plan"
    __table_args__ = (Index("ix_plan_operator_day", "operator_id", "service_date"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    operator_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("operator.id", ondelete="CASCADE"))
    service_date: Mapped[date]
    wave: Mapped[int | None]
    status: Mapped[PlanStatus] = mapped_column(enum_type(PlanStatus), default=PlanStatus.QUEUED)
    time_limit_s: Mapped[int]
    vehicle_ids: Mapped[list[str] | None] = mapped_column(JSONType)
    pins: Mapped[dict[str, str] | None] = mapped_column(JSONType)
    """Station id (or stop id) → vehicle id: the desk pinned or moved these stops."""
    based_on: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("plan.id", ondelete="SET NULL"))
    """The plan this one re-solves with the desk's pins."""
    progress: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    error: Mapped[str | None] = mapped_column(String(500))
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("dispatcher_user.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
