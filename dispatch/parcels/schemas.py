"""API shapes of the parcel endpoints (the record a carrier posts is ``carriers.unified.Parcel``)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from carriers.unified import Brand, Direction, Parcel, ParcelStatus, Temperature
from dispatch.models import EventKind


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ParcelBatchIn(BaseModel):
    """What ``POST /v1/parcels`` takes: 1 to 1,000 unified parcel records."""

    model_config = ConfigDict(extra="forbid")

    parcels: list[Parcel] = Field(min_length=1, max_length=1000)


class FieldError(_Out):
    field: str
    reason: str


class AcceptedRecord(_Out):
    index: int
    waybill_no: str
    parcel_id: uuid.UUID
    result: Literal["created", "updated", "unchanged"]
    warnings: list[FieldError] = Field(
        default_factory=list, description="Accepted, but worth a look (e.g. a waybill unlike the brand's)."
    )


class RejectedRecord(_Out):
    index: int
    waybill_no: str | None
    field: str
    reason: str
    errors: list[FieldError]


class IngestSummary(_Out):
    received: int
    created: int
    updated: int
    unchanged: int
    rejected: int


class IngestResponse(_Out):
    accepted: list[AcceptedRecord]
    rejected: list[RejectedRecord]
    summary: IngestSummary


class MaskedRecipient(_Out):
    name: str = Field(description="Masked: every character after the first is hidden.")
    phone: str = Field(description="Masked: all digits but the last four, at least six, are hidden.")


class Resolution(_Out):
    county_code: str | None
    township_code: str | None
    village_code: str | None
    station_id: uuid.UUID | None


class ParcelOut(_Out):
    parcel_id: uuid.UUID
    waybill_no: str
    brand: Brand
    direction: Direction
    status: ParcelStatus
    recipient: MaskedRecipient
    address: str
    resolution: Resolution
    weight_g: int
    volume_cm3: int | None
    pieces: int
    temperature: Temperature
    cod_fen: int
    declared_value_fen: int | None
    promised_date: date | None
    sort_hint: str | None
    delivery_preference: str | None
    created_at: datetime
    updated_at: datetime


class ParcelPage(_Out):
    items: list[ParcelOut]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null on the last page.")


class EventOut(_Out):
    kind: EventKind
    status: ParcelStatus
    raw_code: str | None
    occurred_at: datetime
    recorded_at: datetime
    place: str | None
    actor: str
    changed_fields: list[str] | None


class EventList(_Out):
    waybill_no: str
    events: list[EventOut]
