"""API shapes of the desk's station endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator
from pydantic.json_schema import SkipJsonSchema

from dispatch.models import StationKind

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

Clock = Annotated[
    str,
    StringConstraints(pattern=r"^(?:(?:[01]\d|2[0-3]):[0-5]\d|24:00)$"),
    Field(description="Local time HH:MM, 00:00 to 24:00."),
]
Interval = Annotated[tuple[Clock, Clock], Field(description="[open, close], open before close.")]
DayHours = Annotated[list[Interval], Field(max_length=6)]
VillageCode = Annotated[
    str, StringConstraints(pattern=r"^\d{12}$"), Field(description="12-digit NBS village code.")
]
NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"  # single-line text: no control characters (NUL included)
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=NO_CONTROL)
]
KeeperName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=NO_CONTROL)
]
Phone = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9][0-9 -]{4,30}$"),
    Field(description="The keeper's business contact: digits, spaces, '-', an optional leading '+'."),
]
Address = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500, pattern=NO_CONTROL)
]
Capacity = Annotated[int, Field(ge=0, le=1_000_000, description="Parcels the station can hold at once.")]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OpeningHours(_In):
    """A week of opening intervals in the operator's time zone; a day left out or empty is closed.

    Intervals of a day must not overlap; they come back sorted. Overnight intervals are split by the
    client into the two days they touch.
    """

    mon: DayHours | None = None
    tue: DayHours | None = None
    wed: DayHours | None = None
    thu: DayHours | None = None
    fri: DayHours | None = None
    sat: DayHours | None = None
    sun: DayHours | None = None

    @model_validator(mode="after")
    def _ordered(self) -> OpeningHours:
        for day in DAYS:
            intervals = getattr(self, day)
            if intervals is None:
                continue
            ordered = sorted(intervals)
            for start, end in ordered:
                if start >= end:
                    raise ValueError(f"{day}: {start}-{end} closes before it opens")
            for (_s1, end1), (start2, _e2) in zip(ordered, ordered[1:], strict=False):
                if start2 < end1:
                    raise ValueError(f"{day}: intervals overlap at {start2}")
            setattr(self, day, ordered)
        return self

    def stored(self) -> dict[str, list[list[str]]]:
        """The JSON kept in the database: open days only, intervals as two-item lists."""
        return {
            day: [[start, end] for start, end in getattr(self, day)] for day in DAYS if getattr(self, day)
        }


class Location(_In):
    """A WGS84 point in degrees × 10⁶."""

    latitude_e6: int = Field(ge=-90_000_000, le=90_000_000)
    longitude_e6: int = Field(ge=-180_000_000, le=180_000_000)


class StationCreate(_In):
    name: Name
    kind: StationKind = StationKind.VILLAGE_STATION
    village_code: VillageCode | None = Field(
        None, description="The village the station stands in; must be in the operator's county."
    )
    address: Address | None = None
    location: Location | None = None
    opening_hours: OpeningHours | None = None
    capacity_parcels: Capacity | None = None
    keeper_name: KeeperName | None = None
    keeper_phone: Phone | None = None
    active: bool = True


class StationPatch(_In):
    """Only the fields sent change; ``null`` clears a nullable field. name, kind and active can't be null."""

    name: Name | SkipJsonSchema[None] = None
    kind: StationKind | SkipJsonSchema[None] = None
    village_code: VillageCode | None = None
    address: Address | None = None
    location: Location | None = None
    opening_hours: OpeningHours | None = None
    capacity_parcels: Capacity | None = None
    keeper_name: KeeperName | None = None
    keeper_phone: Phone | None = None
    active: bool | SkipJsonSchema[None] = None

    @field_validator("name", "kind", "active")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("may not be null")
        return value


class StationOut(_Out):
    station_id: uuid.UUID
    name: str
    kind: StationKind
    village_code: str | None
    address: str | None
    location: Location | None
    opening_hours: dict[str, list[tuple[str, str]]] | None
    capacity_parcels: int | None
    keeper_name: str | None
    keeper_phone: str | None = Field(description="The keeper's business contact, shown in full to the desk.")
    active: bool
    village_codes: list[str] = Field(description="The villages this station covers, in code order.")
    created_at: datetime
    updated_at: datetime


class StationPage(_Out):
    items: list[StationOut]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null on the last page.")


class CoverageIn(_In):
    village_codes: list[VillageCode] = Field(
        max_length=1000, description="The complete set of villages the station covers; [] covers none."
    )


class CoveredVillage(_Out):
    village_code: str
    name: str
    township_code: str | None
    retired: bool = Field(description="The code is gone from the current NBS tables.")


class CoverageOut(_Out):
    station_id: uuid.UUID
    villages: list[CoveredVillage]


class SeedResult(_Out):
    created: int
    existing: int
