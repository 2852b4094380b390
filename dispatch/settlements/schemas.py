"""Contract terms per party kind (integer fen throughout) and the settlement API's bodies."""

from __future__ import annotations

import re
import uuid
from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from dispatch.models import PartyKind

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _day_only(value: object) -> object:
    """Only ``YYYY-MM-DD`` is a day (never a number, which the lax parser reads as a Unix time)."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _DAY.match(value):
        raise ValueError("must be a day as YYYY-MM-DD")
    return value


IsoDate = Annotated[date, BeforeValidator(_day_only)]

Fen = Annotated[int, Field(ge=0, le=10**9, description="Integer fen (1/100 yuan), not negative.")]

ANY_ZONE = "*"


class WeightTier(BaseModel):
    model_config = ConfigDict(extra="forbid")

    up_to_g: int | None = Field(
        ..., ge=1, description="Heaviest piece in this tier, grams inclusive; null = every heavier piece."
    )
    fee_fen: Fen


class ZoneFees(BaseModel):
    model_config = ConfigDict(extra="forbid")

    zone: str = Field(ANY_ZONE, min_length=1, max_length=32, description="Zone name; `*` = any other zone.")
    tiers: list[WeightTier] = Field(..., min_length=1, max_length=50)

    @model_validator(mode="after")
    def _ascending(self) -> ZoneFees:
        bounds = [t.up_to_g for t in self.tiers]
        if bounds[-1] is not None:
            raise ValueError("the last tier must have up_to_g null (every heavier piece)")
        fixed = [b for b in bounds[:-1] if b is not None]
        if len(fixed) != len(bounds) - 1 or fixed != sorted(set(fixed)):
            raise ValueError("tiers must go up by up_to_g, strictly, with only the last one open")
        return self


class ZoneRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    zone: str = Field(..., min_length=1, max_length=32)
    townships: list[str] = Field(
        default_factory=list, max_length=500, description="Township codes (9 digits)."
    )
    up_to_m: int | None = Field(
        None, ge=1, description="Distance band: stations up to this road distance from the hub (metres)."
    )


class CarrierTerms(BaseModel):
    """What a carrier pays the operator. A piece's delivery fee comes from its zone's weight tiers (a
    parcel of n pieces pays n times the tier of its weight / n)."""

    model_config = ConfigDict(extra="forbid")

    zone_by: Literal["township", "distance"] = Field(
        "township",
        description="Zones by the parcel's township, or by the station's distance band from the hub.",
    )
    zones: list[ZoneRule] = Field(default_factory=list, max_length=100)
    delivery_fees: list[ZoneFees] = Field(..., min_length=1, max_length=100)
    pickup_fee_fen: Fen = Field(0, description="Per piece of outbound produce picked up.")
    cod_rate_bp: int = Field(
        0, ge=0, le=10_000, description="COD handling, basis points (1/100 %) of the amount collected."
    )
    cold_surcharge_fen: Fen = Field(0, description="Per piece carried chilled or frozen.")
    monthly_minimum_fen: Fen = Field(
        0,
        description="Fees of a calendar month below this are topped up to it (prorated by contract days).",
    )
    share_route_cost: bool = Field(
        False,
        description="Whether the carrier also pays its share of each route it rides (drivers' pay, split by "
        "the operator's rule).",
    )

    @model_validator(mode="after")
    def _zones(self) -> CarrierTerms:
        names = [z.zone for z in self.delivery_fees]
        if len(set(names)) != len(names):
            raise ValueError("delivery_fees names a zone twice")
        if ANY_ZONE not in names:
            raise ValueError("delivery_fees needs a `*` zone for parcels in no other zone")
        for rule in self.zones:
            if rule.zone not in names:
                raise ValueError(f"zone {rule.zone!r} has no delivery_fees entry")
            if self.zone_by == "distance" and rule.up_to_m is None:
                raise ValueError(f"zone {rule.zone!r}: zone_by distance needs up_to_m")
            if self.zone_by == "township" and not rule.townships:
                raise ValueError(f"zone {rule.zone!r}: zone_by township needs townships")
        return self


class StationTerms(BaseModel):
    """What the operator pays a station keeper."""

    model_config = ConfigDict(extra="forbid")

    delivered_fen: Fen = Field(0, description="Per piece handed over to the station for its villagers.")
    picked_up_fen: Fen = Field(0, description="Per piece of produce sent out from the station.")


class DriverTerms(BaseModel):
    """What the operator pays a driver per route driven."""

    model_config = ConfigDict(extra="forbid")

    route_fixed_fen: Fen = 0
    per_km_fen: Fen = 0
    per_stop_fen: Fen = 0


TERMS: dict[PartyKind, type[BaseModel]] = {
    PartyKind.CARRIER: CarrierTerms,
    PartyKind.STATION: StationTerms,
    PartyKind.DRIVER: DriverTerms,
}


class ContractIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    party_kind: PartyKind
    party_id: uuid.UUID | None = Field(
        None,
        description="The carrier account, station or driver; null = every one of that kind without its own.",
    )
    valid_from: IsoDate
    valid_to: IsoDate | None = Field(
        None, description="Last day (inclusive); null = until a newer version starts."
    )
    terms: dict[str, object] = Field(
        ..., description="CarrierTerms, StationTerms or DriverTerms by party_kind."
    )


class ContractEndIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    valid_to: IsoDate | None = Field(
        ..., description="The version's last day; null = until the next version."
    )


class SettleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    period_from: IsoDate = Field(..., alias="from")
    period_to: IsoDate = Field(..., alias="to")
    by: Literal["period", "day", "week", "month"] = Field(
        "period", description="One statement per party for the whole range, or one per day, week or month."
    )
    close: bool = Field(False, description="Close the statements (immutable from then on).")


class AdjustmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount_fen: int = Field(..., ge=-(10**10), le=10**10, description="Signed: negative credits the party.")
    reason: str = Field(..., min_length=1, max_length=500)
    parcel_id: uuid.UUID | None = None
    manifest_id: uuid.UUID | None = None
