"""The adapter contract: a carrier's wire formats in, unified parcels and events out, and back again.

Mapping is pure and separate from transport. A bad record is data (a ``CarrierIssue``), never an
exception; only a payload that cannot be read at all raises ``CarrierPayloadError``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, Protocol
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

from pydantic import TypeAdapter, ValidationError

from carriers.unified import Parcel, TrackingEvent

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

_PARCEL = TypeAdapter(Parcel)


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
            parcel = _PARCEL.validate_python(record)
        except ValidationError as exc:
            for err in exc.errors(include_url=False):
                path = ".".join(str(p) for p in err.get("loc", ())) or "record"
                reason = str(err.get("msg", "invalid")).removeprefix("Value error, ")
                self.issue(index, self.native(path), reason)
            return None
        if self.check_waybill is not None:
            failed = False
            for severity, reason in self.check_waybill(parcel.waybill_no):
                self.issue(index, self.native("waybill_no"), reason, severity)
                failed = failed or severity is Severity.ERROR
            if failed:
                return None
        first = self._seen.get(parcel.waybill_no)
        if first is not None:
            self.issue(index, self.native("waybill_no"), f"duplicate of record {first} in this payload")
            return None
        self._seen[parcel.waybill_no] = index
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


def text(value: Any) -> str | None:
    """A field as stripped text; numbers become their digits; empty becomes None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
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
    if isinstance(value, int | float) and not isinstance(value, bool):
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


def md5_hex(payload: str) -> str:
    return hashlib.md5(payload.encode("utf-8")).hexdigest()


def digest_matches(expected: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(expected.encode(), given.strip().encode())


def first(items: Iterable[Any]) -> Any:
    return next(iter(items), None)
