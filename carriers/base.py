"""The adapter contract: a carrier's wire formats in, unified parcels and events out, and back again.

Mapping is pure and separate from transport. A bad record is data (a ``CarrierIssue``), never an
exception; only a payload that cannot be read at all raises ``CarrierPayloadError``.
"""

from __future__ import annotations

import base64
import gc
import hashlib
import hmac
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, ClassVar, Literal, Protocol
from urllib.parse import parse_qsl, unquote
from zoneinfo import ZoneInfo

from pydantic import TypeAdapter, ValidationError

from carriers.unified import MAX_WEIGHT_G, FailureReason, Parcel, ParcelStatus, SiteType, TrackingEvent

BEIJING = ZoneInfo("Asia/Shanghai")
"""Carrier systems write local Beijing time without an offset."""


class CarrierPayloadError(Exception):
    """The payload as a whole cannot be read (not JSON, wrong encoding, no header row, bad signature …)."""

    def __init__(self, reason: str, *, field: str = "body") -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field


class Severity(StrEnum):
    ERROR = "error"  # the record is rejected
    WARNING = "warning"  # the record is accepted; the carrier should look at it


@dataclass(frozen=True, slots=True)
class CarrierIssue:
    """What is wrong with one record: its 0-based index, the field in the carrier's own naming, the reason.

    ``line`` is the 1-based line or spreadsheet row of a file record, where there is one.
    """

    index: int
    field: str
    reason: str
    severity: Severity = Severity.ERROR
    line: int | None = None


@dataclass(frozen=True, slots=True)
class ParseResult:
    """Parcels and events read from one payload; ``parcel_index[i]`` is the record index of ``parcels[i]``."""

    parcels: tuple[Parcel, ...] = ()
    parcel_index: tuple[int, ...] = ()
    events: tuple[TrackingEvent, ...] = ()
    event_index: tuple[int, ...] = ()
    issues: tuple[CarrierIssue, ...] = ()
    records: int = 0  # how many records the payload held

    def errors_for(self, index: int) -> list[CarrierIssue]:
        return [i for i in self.issues if i.index == index and i.severity is Severity.ERROR]


class CarrierAdapter(Protocol):
    """One carrier format. ``code`` is the brand code (``zto``) or aggregator name (``kuaidi100``)."""

    code: ClassVar[str]

    def parse_parcels(self, raw: bytes, content_type: str) -> ParseResult:
        """Parcels from the carrier's native order/manifest payload (JSON, or CSV/XLSX for files)."""
        ...

    def parse_events(self, raw: bytes, content_type: str) -> ParseResult:
        """Tracking events from the carrier's native push payload."""
        ...

    def render_event(self, event: TrackingEvent) -> dict[str, object]:
        """Our event in the carrier's vocabulary: one trace record of its push format."""
        ...

    def check_waybill(self, waybill_no: str) -> list[tuple[Severity, str]]:
        """Warnings (pattern mismatch) and errors (a failed check digit) for a waybill number."""
        ...

    def verify_signature(
        self, raw: bytes, content_type: str, headers: Mapping[str, str], secret: str
    ) -> bool | None:
        """Whether a push carries a valid signature made with ``secret``; None when the format has none.

        ``headers`` have lower-case names.
        """
        ...


# ---- helpers shared by adapters ------------------------------------------------------------------------

# The core validator's own method: TypeAdapter.validate_python is a Python wrapper around it, and that
# wrapper's keyword handling is a measurable part of validating one record.
_validate_parcel = TypeAdapter(Parcel).validator.validate_python


@dataclass
class RecordBuilder:
    """Collects unified records with their indices and validates each into a ``Parcel`` on its own.

    ``field_names`` maps unified field paths (``recipient.phone``) to the carrier's own field names, so
    issues speak the carrier's vocabulary.
    """

    field_names: Mapping[str, str] = field(default_factory=dict)
    check_waybill: Callable[[str], list[tuple[Severity, str]]] | None = None
    parcels: list[Parcel] = field(default_factory=list)
    parcel_index: list[int] = field(default_factory=list)
    issues: list[CarrierIssue] = field(default_factory=list)
    lines: dict[int, int] = field(default_factory=dict)
    _seen: dict[str, int] = field(default_factory=dict)

    def native(self, unified_field: str) -> str:
        return self.field_names.get(unified_field, unified_field)

    def issue(self, index: int, field_name: str, reason: str, severity: Severity = Severity.ERROR) -> None:
        self.issues.append(CarrierIssue(index, field_name, reason, severity, self.lines.get(index)))

    def add(self, index: int, record: Mapping[str, Any], *, line: int | None = None) -> Parcel | None:
        if line is not None:
            self.lines[index] = line
        try:
            parcel: Parcel = _validate_parcel(record)
        except ValidationError as exc:
            for err in exc.errors(include_url=False):
                path = ".".join(str(p) for p in err.get("loc", ())) or "record"
                reason = str(err.get("msg", "invalid")).removeprefix("Value error, ")
                if path == "weight_g" and err.get("type") == "less_than_equal":
                    reason = weight_limit_reason(Decimal(int(err["input"])) / 1000)
                self.issue(index, self.native(path), reason)
            return None
        waybill = parcel.waybill_no
        if self.check_waybill is not None and (checks := self.check_waybill(waybill)):
            failed = False
            for severity, reason in checks:
                self.issue(index, self.native("waybill_no"), reason, severity)
                failed = failed or severity is Severity.ERROR
            if failed:
                return None
        first = self._seen.get(waybill)
        if first is not None:
            self.issue(index, self.native("waybill_no"), f"duplicate of record {first} in this payload")
            return None
        self._seen[waybill] = index
        self.parcels.append(parcel)
        self.parcel_index.append(index)
        return parcel

    def result(self, records: int) -> ParseResult:
        return ParseResult(
            parcels=tuple(self.parcels),
            parcel_index=tuple(self.parcel_index),
            issues=tuple(sorted(self.issues, key=lambda i: i.index)),
            records=records,
        )


@contextmanager
def collection_paused() -> Iterator[None]:
    """Holds off the interpreter's cyclic garbage collector while one payload is read, if it is running.

    Reading makes tens of thousands of objects that stay alive to its end (the decoded JSON, then the
    parcels). The collections their allocations trigger walk them again and again, the full ones the whole
    heap: measured, as costly as the reading itself, and they find nothing, as reading makes no reference
    cycles. When the collector runs again after the block, it walks the parcels once. The pause is
    process-wide: other threads go without the collector for as long (about 0.4 s for 20,000 records).
    """
    if not gc.isenabled():  # already held off, by an outer block or by the application
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def load_json(raw: bytes) -> Any:
    """JSON from bytes (UTF-8, with or without BOM); ``CarrierPayloadError`` when it is not JSON."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CarrierPayloadError("body is not UTF-8") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CarrierPayloadError(f"body is not JSON: line {exc.lineno} column {exc.colno}") from exc
    except RecursionError as exc:
        raise CarrierPayloadError("body is nested too deeply") from exc


def load_form(raw: bytes) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body as a dict (last value wins)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CarrierPayloadError("form body is not UTF-8") from exc
    try:
        return dict(parse_qsl(text, keep_blank_values=True, strict_parsing=False, max_num_fields=1000))
    except ValueError as exc:
        raise CarrierPayloadError(f"form body cannot be read: {exc}") from exc


def form_field(form: Mapping[str, str], name: str) -> str:
    """The form field ``name`` of a push; ``CarrierPayloadError`` when the form has none."""
    if name not in form:
        raise CarrierPayloadError(f"form has no {name!r} field", field=name)
    return form[name]


def is_form(content_type: str) -> bool:
    return content_type.split(";")[0].strip().lower() == "application/x-www-form-urlencoded"


def require(mapping: Any, key: str, *, where: str = "body") -> Any:
    """``mapping[key]`` of a JSON object, or ``CarrierPayloadError`` naming what is missing."""
    if not isinstance(mapping, dict):
        raise CarrierPayloadError(f"{where} must be a JSON object", field=where)
    if key not in mapping:
        raise CarrierPayloadError(f"{where} has no {key!r}", field=key)
    return mapping[key]


def as_list(value: Any, *, where: str) -> list[Any]:
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        return [value]
    raise CarrierPayloadError(f"{where} must be an object or an array of objects", field=where)


# isinstance against a union spelled inline builds the union on every call; these are built once.
_NUMBER = int | float
_NUMERIC = int | float | str | Decimal


def text(value: Any) -> str | None:
    """A field as stripped text; numbers become their digits; empty becomes None."""
    if type(value) is str:  # by far the most common case, so it is tried first
        return value.strip() or None
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, _NUMBER):
        value = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value or None


_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S")


def parse_time(value: Any) -> datetime:
    """A carrier timestamp: ``yyyy-MM-dd HH:mm:ss`` in Beijing time, ISO 8601 with offset, or epoch ms.

    Raises ``ValueError`` with the reason.
    """
    if isinstance(value, _NUMBER) and not isinstance(value, bool):
        seconds = value / 1000 if value > 10**11 else value
        try:
            return datetime.fromtimestamp(seconds, tz=BEIJING)
        except (OverflowError, OSError, ValueError) as exc:
            raise ValueError("timestamp out of range") from exc
    raw = text(value)
    if raw is None:
        raise ValueError("time is missing")
    if raw.isdigit() and len(raw) in (10, 13):
        return parse_time(int(raw))
    try:
        parsed = datetime.fromisoformat(raw)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=BEIJING)
    except ValueError:
        pass
    for fmt in _TIME_FORMATS:
        try:
            return datetime.strptime(raw, fmt).replace(tzinfo=BEIJING)
        except ValueError:
            continue
    raise ValueError(f"unrecognised time {raw[:40]!r}; expected yyyy-MM-dd HH:mm:ss")


def beijing(moment: datetime) -> str:
    """A time as carriers write it: ``yyyy-MM-dd HH:mm:ss`` in Beijing time."""
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def md5_base64(payload: str, secret: str) -> str:
    """``Base64(MD5(payload + secret))``, the digest most Chinese carrier gateways sign with."""
    return base64.b64encode(hashlib.md5((payload + secret).encode("utf-8")).digest()).decode("ascii")


def md5_hex_base64(payload: str, secret: str) -> str:
    """``Base64(lower-case hex MD5(payload + secret))``, the form kdniao and older EMS pushes sign with."""
    digest = hashlib.md5((payload + secret).encode("utf-8")).hexdigest()
    return base64.b64encode(digest.encode("ascii")).decode("ascii")


def md5_hex(payload: str) -> str:
    return hashlib.md5(payload.encode("utf-8")).hexdigest()


def received_digests(given: str) -> set[str]:
    """A Base64 digest from a form as it may have been meant: as received, with spaces back as the '+'
    a sender forgot to URL-encode, and URL-decoded once more for a sender that encoded it twice."""
    plus = given.replace(" ", "+")
    return {given, plus, unquote(given), unquote(plus)}


def digest_matches(expected: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(expected.encode(), given.strip().encode())


def present(**fields: object) -> dict[str, object]:
    """The fields that have a value (not None, not empty), for the optional parts of a rendered trace."""
    return {name: value for name, value in fields.items() if value}


# ---- numbers -------------------------------------------------------------------------------------------

_LARGEST_EXPONENT = 12
"""Numbers of 10^13 or more (of any unit) are refused before any arithmetic: far beyond any parcel, and
small enough that Decimal arithmetic on them stays exact (no rounding, no InvalidOperation, no Overflow)."""
_GROUPED = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?")
_EXACT_INT = 10**18  # ints smaller than this skip the text route; larger ones keep it, and its errors
_GRAM = Decimal("0.001")
_FEN = Decimal("0.01")


def _finite(value: Any) -> Decimal | None:
    # A JSON number, a Decimal or numeric text (thousands grouped by commas allowed); None for anything else.
    # The common exact types are tried first: a float's text is never grouped or padded, and ints and
    # Decimals skip the round trip through text, which would give the same number.
    if type(value) is str:
        raw = value.strip()
    elif type(value) is float:
        raw = repr(value)
    elif type(value) is int and -_EXACT_INT < value < _EXACT_INT:
        return Decimal(value)
    elif type(value) is Decimal:
        return value if value.is_finite() else None
    elif isinstance(value, bool) or not isinstance(value, _NUMERIC):
        return None
    else:
        raw = str(value).strip()
    if "," in raw and _GROUPED.fullmatch(raw):
        raw = raw.replace(",", "")
    try:
        number = Decimal(raw)
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def decimal_of(value: Any, *, unit: str) -> Decimal:
    """The exact decimal of a JSON number or numeric text (``1,200.5`` with grouped thousands too).

    Raises ``ValueError`` for anything else (booleans, NaN, infinity, other text), and for a magnitude of
    10^13 or more, so that sums and products of the result stay exact.
    """
    number = _finite(value)
    if number is None:
        raise ValueError(f"must be a number in {unit}")
    if number and number.adjusted() > _LARGEST_EXPONENT:
        raise ValueError(f"{unit} value is out of range")
    return number


def whole(number: Decimal) -> int:
    """A decimal from ``decimal_of`` rounded half up to an integer."""
    return int(number.to_integral_value(ROUND_HALF_UP))


def weight_limit_reason(kilograms: Decimal) -> str:
    """The reason given for a parcel heavier than ``MAX_WEIGHT_G``, naming its weight in kg."""
    return f"{kilograms} kg is over the {MAX_WEIGHT_G // 1000} kg limit for a parcel"


def kg_to_grams(value: Any, *, unit: Literal["kg", "g"] = "kg") -> int:
    """A weight in kilograms (or in grams with ``unit="g"``), number or text, as whole grams rounded half up.

    The result is exact and not checked against the parcel limits (validation reports those). Raises
    ``ValueError`` for a value that is not a number, and for a magnitude of 10^13 kg or more (named as over
    the limit, or as not more than 0 when negative).
    """
    weight = _finite(value)
    if weight is None:
        raise ValueError(f"must be a weight in {unit}")
    if unit == "g":  # shifted through the digits, not by arithmetic: exact at any size
        sign, digits, exponent = weight.as_tuple()
        weight = Decimal((sign, digits, int(exponent) - 3))
    if weight and weight.adjusted() > _LARGEST_EXPONENT:
        raise ValueError("must be more than 0" if weight < 0 else weight_limit_reason(weight))
    return int(weight.quantize(_GRAM, ROUND_HALF_UP).scaleb(3))  # rounding passed by position: cheaper


def yuan_to_fen(value: Any) -> int:
    """An amount in yuan (number or text) as exact fen.

    Raises ``ValueError`` for a value that is not a number, for more than two decimals, and for an amount
    of 10^13 yuan or more (validation reports smaller amounts over the limit).
    """
    yuan = _finite(value)
    if yuan is None:
        raise ValueError("must be an amount in yuan")
    if yuan and yuan.adjusted() > _LARGEST_EXPONENT:
        raise ValueError("amount is out of range")
    fen = yuan.quantize(_FEN, ROUND_HALF_UP)
    if fen != yuan:
        raise ValueError("must be an amount in yuan with at most two decimals")
    return int(fen.scaleb(2))


# ---- free text -----------------------------------------------------------------------------------------

_PICKUP_CODE = re.compile(r"(?:取件码|取货码|提货码|取件号)[为是]?[：:\s]*([0-9A-Za-z][0-9A-Za-z-]{0,31})")
_SIGNER = re.compile(r"签收人[为是]?[：:\s]*([^\s，,。；;]{1,20})")


def pickup_code_in(value: str | None) -> str | None:
    """A pickup code (取件码/取货码/提货码/取件号, up to 32 characters) written into free text, if any."""
    match = _PICKUP_CODE.search(value) if value else None
    return match.group(1) if match else None


def signer_in(value: str | None) -> str | None:
    """Who signed (签收人：…, up to 20 characters) as written into free text, if it says."""
    match = _SIGNER.search(value) if value else None
    return match.group(1) if match else None


def mentions(words: Iterable[str], *texts: str | None) -> bool:
    """True when any of ``words`` occurs in any of ``texts`` (None texts are skipped)."""
    return any(word in value for value in texts if value for word in words)


@dataclass(frozen=True, slots=True)
class FailureTexts:
    """How one carrier words failure reasons: the phrase written for each reason (``phrases``) and the
    keywords that name a reason in free text, tried in order (``keywords``)."""

    phrases: Mapping[FailureReason, str]
    keywords: tuple[tuple[str, FailureReason], ...] = ()

    def reason(self, *texts: str | None) -> FailureReason | None:
        """The reason the texts name: a text starting with a phrase first (texts in order), then a keyword
        in any text; None when none is named."""
        for value in texts:
            for reason, phrase in self.phrases.items():
                if value and value.startswith(phrase):
                    return reason
        return self._keyword(*texts)

    def read(self, value: str | None) -> tuple[FailureReason, str | None]:
        """Reason and note of a text written as ``phrase`` or ``phrase：note`` (see ``write``); any other
        text is read by keywords (``OTHER`` when none matches) and kept whole as the note."""
        if not value:
            return FailureReason.OTHER, None
        for reason, phrase in self.phrases.items():
            if value == phrase:
                return reason, None
            if value.startswith(phrase + "："):
                return reason, value[len(phrase) + 1 :].strip() or None
        return self._keyword(value) or FailureReason.OTHER, value

    def write(self, reason: FailureReason, note: str | None = None) -> str:
        """The reason's phrase, then ``：`` and the note when there is one."""
        return self.phrases[reason] + (f"：{note}" if note else "")

    def _keyword(self, *texts: str | None) -> FailureReason | None:
        for value in texts:
            for word, reason in self.keywords:
                if value and word in value:
                    return reason
        return None


def failure_of(event: TrackingEvent) -> FailureReason:
    """The event's failure reason; when it has none, ``REFUSED`` for a refusal and ``OTHER`` otherwise."""
    if event.failure_reason is not None:
        return event.failure_reason
    return FailureReason.REFUSED if event.status is ParcelStatus.REFUSED else FailureReason.OTHER


def declared_site_type(value: Any) -> SiteType | None:
    """A site type a trace states in our vocabulary (``station``, ``locker`` …, any case); None otherwise."""
    declared = text(value)
    if declared is None:
        return None
    try:
        return SiteType(declared.lower())
    except ValueError:
        return None


def with_region(address: str | None, *parts: str | None) -> str:
    """The address with its province/city/district parts in front, leaving out parts it already names."""
    full = address or ""
    return "".join([part for part in parts if part and part not in full]) + full


def receiver_address(receiver: Mapping[str, Any], address: str, region: Iterable[str]) -> str:
    """``receiver[address]`` with the ``region`` fields (province, city, district …) in front, as
    ``with_region`` puts them."""
    full = text(receiver.get(address)) or ""  # with_region, without building its arguments first
    return "".join([part for key in region if (part := text(receiver.get(key))) and part not in full]) + full


def json_field(value: Any, name: str) -> Any:
    """A form or envelope field that holds JSON: an object or array as is, JSON text parsed.

    Raises ``CarrierPayloadError`` naming the field for anything else.
    """
    if isinstance(value, dict | list):
        return value
    if not isinstance(value, str):
        raise CarrierPayloadError(f"{name} must be JSON text", field=name)
    try:
        return load_json(value.encode("utf-8"))
    except CarrierPayloadError as exc:
        raise CarrierPayloadError(f"{name}: {exc.reason}", field=name) from exc
