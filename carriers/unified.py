"""The unified parcel and event vocabulary every carrier format is translated into.

A unified parcel record is what ``POST /v1/parcels`` takes and what every adapter produces. Validation
here is per record: callers validate each record on its own so one bad record never sinks a batch.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, Strict

MAX_WEIGHT_G = 500_000
"""Heaviest parcel a county centre accepts (500 kg); anything above is a data error, not freight."""
MAX_VOLUME_CM3 = 10_000_000
MAX_PIECES = 999
MAX_MONEY_FEN = 100_000_000  # ¥1,000,000
MAX_ADDRESS_CHARS = 500


class Brand(StrEnum):
    """Carrier brands a county centre serves. The brand of a record comes from the authenticated account."""

    CHINA_POST = "china_post"
    EMS = "ems"
    ZTO = "zto"
    YTO = "yto"
    STO = "sto"
    YUNDA = "yunda"
    JT = "jt"
    SF = "sf"
    JD = "jd"
    DEPPON = "deppon"
    OTHER = "other"


class Direction(StrEnum):
    DELIVERY = "delivery"
    PICKUP = "pickup"


class Temperature(StrEnum):
    AMBIENT = "ambient"
    CHILLED = "chilled"
    FROZEN = "frozen"


class ParcelStatus(StrEnum):
    """Canonical parcel statuses; every carrier's own codes map onto these (raw codes are kept too)."""

    ANNOUNCED = "announced"
    HUB_RECEIVED = "hub_received"
    SORTED = "sorted"
    LOADED = "loaded"
    OUT_FOR_DELIVERY = "out_for_delivery"
    AT_STATION = "at_station"
    DELIVERED_RECIPIENT = "delivered_recipient"
    DELIVERED_AGENT = "delivered_agent"
    FAILED_ATTEMPT = "failed_attempt"
    EXCEPTION = "exception"
    REFUSED = "refused"
    RETURNED = "returned"
    PICKED_UP = "picked_up"
    CANCELLED = "cancelled"


TERMINAL_STATUSES = frozenset(
    {
        ParcelStatus.DELIVERED_RECIPIENT,
        ParcelStatus.DELIVERED_AGENT,
        ParcelStatus.RETURNED,
        ParcelStatus.CANCELLED,
    }
)
"""Statuses after which a parcel's data no longer changes."""

FAILURE_STATUSES = frozenset({ParcelStatus.FAILED_ATTEMPT, ParcelStatus.EXCEPTION, ParcelStatus.REFUSED})
"""Statuses whose events carry a failure reason."""


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
WAYBILL_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9-]{3,39}$")
"""A waybill number after normalisation (upper case, ASCII): 4 to 40 letters, digits or hyphens."""
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_VIRTUAL = re.compile(r"^1\d{10}-\d{1,6}$")
# A mobile written in its 3-4-4 groups with hyphens (spaces are gone by then), with an extension or not.
_GROUPED_MOBILE = re.compile(r"^(1[3-9]\d)-?(\d{4})-?(\d{4})(-\d{1,6})?$")
_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}(-\d{1,6})?$")


def _json_integer(value: object) -> object:
    # JSON has one number type: 1200.0 is the integer 1200. Strings and booleans stay invalid.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _bounded(low: int, high: int) -> tuple[object, ...]:
    return (Strict(), Field(ge=low, le=high), BeforeValidator(_json_integer))


WeightG = Annotated[int, *_bounded(1, MAX_WEIGHT_G)]
VolumeCm3 = Annotated[int, *_bounded(1, MAX_VOLUME_CM3)]
Pieces = Annotated[int, *_bounded(1, MAX_PIECES)]
Fen = Annotated[int, *_bounded(0, MAX_MONEY_FEN)]


def _has_control(value: str) -> bool:
    # Printable text has none of them (isprintable is one pass in C); the search runs for the rest only.
    return not value.isprintable() and _CONTROL.search(value) is not None


def _line(value: str) -> str:
    # One validator per field, not one per check: each Python call out of pydantic-core costs as much as
    # the check itself. Control characters are refused first, then blank text.
    if _has_control(value):
        raise ValueError("contains control characters")
    stripped = value.strip()
    if not stripped:
        raise ValueError("must not be blank")
    return stripped


def _waybill(value: str) -> str:
    if _has_control(value):
        raise ValueError("contains control characters")
    # NFKC leaves ASCII text as it is; most waybills are ASCII, so the normalisation is skipped for them.
    normalised = (value if value.isascii() else unicodedata.normalize("NFKC", value)).strip().upper()
    if not WAYBILL_PATTERN.fullmatch(normalised):
        raise ValueError("must be 4 to 40 letters, digits or hyphens")
    return normalised


_PHONE_NOISE = re.compile(r"[\s()]")


def normalise_phone(value: str) -> str:
    """Bring a recipient phone to one form: ASCII digits, no spaces, no +86, '-' before an extension.

    Accepts mainland mobiles (11 digits, also written in groups: ``138-0000-0013``, ``138 0000 0013``),
    virtual numbers with an extension (``17012345678-1234`` or ``…转1234``) and landlines with an area
    code. Raises ``ValueError`` naming the expected shapes.
    """
    if value.isascii() and _MOBILE.fullmatch(value):  # already in its one form: nothing below changes it
        return value
    phone = unicodedata.normalize("NFKC", value)
    phone = _PHONE_NOISE.sub("", phone).replace("转", "-").replace(",", "-")
    if phone.startswith("+86"):
        phone = phone[3:]
    elif phone.startswith("0086"):
        phone = phone[4:]
    phone = phone.lstrip("-")
    if _MOBILE.fullmatch(phone) or _VIRTUAL.fullmatch(phone) or _LANDLINE.fullmatch(phone):
        return phone
    if grouped := _GROUPED_MOBILE.fullmatch(phone):
        return "".join(grouped.groups(default=""))
    raise ValueError("must be a mainland mobile (11 digits), a virtual number with extension, or a landline")


def _phone(value: str) -> str:
    if _has_control(value):
        raise ValueError("contains control characters")
    return normalise_phone(value)


# What the JSON schema documents (the validators above enforce it): no control characters, no leading or
# trailing space. Inputs are normalised before the checks, so the validators accept a little more.
_CTRL = r"\x00-\x1f\x7f-\x9f\u2028\u2029"
_ONE_OR_MORE = rf"^[^\s{_CTRL}]([^{_CTRL}]*[^\s{_CTRL}])?$"
_TWO_OR_MORE = rf"^[^\s{_CTRL}][^{_CTRL}]*[^\s{_CTRL}]$"
# Length is checked first (after whitespace is stripped), then control characters and blankness.
Name = Annotated[
    str,
    Field(min_length=1, max_length=64, json_schema_extra={"pattern": _ONE_OR_MORE}),
    AfterValidator(_line),
]
AddressText = Annotated[
    str,
    Field(min_length=2, max_length=MAX_ADDRESS_CHARS, json_schema_extra={"pattern": _TWO_OR_MORE}),
    AfterValidator(_line),
]
SortHint = Annotated[
    str,
    Field(min_length=1, max_length=64, json_schema_extra={"pattern": _ONE_OR_MORE}),
    AfterValidator(_line),
]
# A waybill or phone is checked for its length after normalisation, where a length constraint would run as
# one more Python validator; every value the normaliser returns is within the lengths, so they are only
# documented here (minLength/maxLength in the JSON schema), not checked a second time.
WaybillNo = Annotated[
    str,
    Field(json_schema_extra={"pattern": "^[A-Za-z0-9][A-Za-z0-9-]{3,39}$", "minLength": 4, "maxLength": 40}),
    AfterValidator(_waybill),
]
Phone = Annotated[
    str,
    Field(
        json_schema_extra={
            "pattern": r"^((\+86|0086)?1[3-9][0-9]{9}|1[0-9]{10}-[0-9]{1,6}"
            r"|0[0-9]{2,3}-?[0-9]{7,8}(-[0-9]{1,6})?)$",
            "minLength": 5,
            "maxLength": 32,
        }
    ),
    AfterValidator(_phone),
]


class Recipient(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    name: Name
    phone: Phone


class DeliveryPreference(StrEnum):
    """How the recipient (or the carrier on their behalf) asked to receive the parcel. A station or locker
    chosen here is the recipient's consent to leave it there (快递市场管理办法, 2024)."""

    DOOR = "door"
    STATION = "station"
    LOCKER = "locker"


class Parcel(BaseModel):
    """One parcel in the unified form. Weights in grams, volumes in cm³, money in fen."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    waybill_no: WaybillNo
    recipient: Recipient
    address: AddressText
    weight_g: WeightG
    direction: Direction = Direction.DELIVERY
    volume_cm3: VolumeCm3 | None = None
    pieces: Pieces = 1
    temperature: Temperature = Temperature.AMBIENT
    cod_fen: Fen = 0
    declared_value_fen: Fen | None = None
    promised_date: date | None = None
    sort_hint: SortHint | None = None
    delivery_preference: DeliveryPreference | None = None


class SiteType(StrEnum):
    """Where a scan happened, as the last-mile trace template distinguishes it."""

    COUNTY_CENTER = "county_center"  # the shared-delivery centre (our depot)
    HUB = "hub"  # a carrier's sorting centre or branch
    STATION = "station"  # village service station, shop (驿站/代收点)
    LOCKER = "locker"  # smart parcel locker (柜机)
    VEHICLE = "vehicle"  # on a delivery route
    OTHER = "other"


class FailureReason(StrEnum):
    """Why a delivery attempt failed or a parcel is held (raw carrier reasons are kept beside it)."""

    REFUSED = "refused"
    ADDRESS_NOT_FOUND = "address_not_found"
    NOBODY_HOME = "nobody_home"
    UNREACHABLE = "unreachable"  # phone does not answer / wrong number
    DAMAGED = "damaged"
    WRONG_SORT = "wrong_sort"
    OUT_OF_AREA = "out_of_area"
    OVERDUE_AT_STATION = "overdue_at_station"
    RESCHEDULED = "rescheduled"  # recipient asked for another day
    OTHER = "other"


ATTEMPT_REASONS = frozenset(
    {
        FailureReason.NOBODY_HOME,
        FailureReason.UNREACHABLE,
        FailureReason.ADDRESS_NOT_FOUND,
        FailureReason.RESCHEDULED,
    }
)
"""Reasons that fail one delivery attempt (another follows), where a carrier's code does not say which."""

HOLDING_REASONS = frozenset(
    {
        FailureReason.WRONG_SORT,
        FailureReason.OUT_OF_AREA,
        FailureReason.DAMAGED,
        FailureReason.OVERDUE_AT_STATION,
    }
)
"""Reasons that hold a parcel (an exception) rather than fail one delivery attempt."""


@dataclass(frozen=True, slots=True)
class TrackingEvent:
    """One scan or status change in our vocabulary; ``raw_code`` keeps the carrier's own code.

    ``occurred_at`` is time-zone aware. ``signer`` is who signed (recipient or agent), as the carrier sent it.
    """

    waybill_no: str
    status: ParcelStatus
    occurred_at: datetime
    raw_code: str | None = None
    raw_namespace: str | None = None  # which vocabulary raw_code is from: "action", "opCode", "scanType" …
    description: str | None = None
    site_no: str | None = None
    site_name: str | None = None
    site_type: SiteType | None = None
    city: str | None = None
    failure_reason: FailureReason | None = None
    failure_note: str | None = None
    pickup_code: str | None = None
    signer: str | None = None
    event_id: str | None = None  # the carrier's id for the event, used to drop repeated pushes
