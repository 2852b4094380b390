"""API shapes of the desk's address review queue."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MatchOut(_Out):
    status: str | None = Field(description="village | township | county | ambiguous | unmatched")
    county_code: str | None
    township_code: str | None
    village_code: str | None
    confidence: float | None
    reason: str | None
    evidence: list[str]
    candidates: list[str] = Field(description="Village codes that fit equally (ambiguous answers).")


class ReviewItem(_Out):
    parcel_id: uuid.UUID
    waybill_no: str
    brand: str
    address: str
    sort_hint: str | None
    match: MatchOut
    suggested_station_id: uuid.UUID | None = Field(description="The station covering the matched village.")
    created_at: datetime


class ReviewPage(_Out):
    items: list[ReviewItem]
    next_cursor: str | None


class AssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    station_id: uuid.UUID = Field(description="The station the parcel goes to.")
    village_code: str | None = Field(
        None, pattern=r"^\d{12}$", description="The village, when the station covers more than one."
    )
    remember: bool = Field(True, description="Remember this address form for the next parcels (an alias).")


class AssignOut(_Out):
    parcel_id: uuid.UUID
    station_id: uuid.UUID
    village_code: str
    alias_key: str | None = Field(description="The address form remembered, if any.")
    also_assigned: int = Field(description="Other waiting parcels of this operator the alias resolved now.")
