"""API shapes for tracking events received from carriers and aggregators."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from carriers.unified import ParcelStatus
from dispatch.parcels.schemas import FieldError


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AcceptedEvent(_Out):
    index: int
    waybill_no: str
    status: ParcelStatus
    occurred_at: datetime
    result: Literal["recorded", "duplicate"]


class RejectedEvent(_Out):
    index: int
    waybill_no: str | None
    field: str
    reason: str
    errors: list[FieldError]


class EventSummary(_Out):
    received: int
    recorded: int
    duplicate: int
    rejected: int


class EventIngestResponse(_Out):
    accepted: list[AcceptedEvent]
    rejected: list[RejectedEvent]
    summary: EventSummary
