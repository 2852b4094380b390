"""A base class for adapters: the parts every brand shares (files, issues, checks), brands fill in the rest.

A brand adapter subclasses ``Adapter`` and provides:
- ``code``, ``label``, ``waybill_pattern`` and ``manifest_columns``, ``field_names``;
- ``parcel_records(payload)``: the native parcel records of a decoded JSON payload;
- ``to_unified(record)``: one native parcel record as a unified record (a dict ``Parcel`` validates);
- ``trace_records(raw, content_type)``: the native trace records of a push payload;
- ``to_event(trace)``: one native trace as a ``TrackingEvent`` (raise ``FieldProblem`` for a bad field);
- ``render_event(event)``: the reverse of ``to_event``;
- ``verify_signature(...)`` where the push format is signed;
- ``tracking_only = True`` for an aggregator, which carries pushes and never parcels.

The functions below are the pieces brands share when they fill those in: native fields read into unified
values with a ``FieldProblem`` naming the field, parcel envelopes, aggregators' problem entries and form
signatures. Carrier-neutral helpers (numbers, times, free text) are in ``carriers.base``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, ClassVar, TypeVar

from carriers.base import (
    CarrierIssue,
    CarrierPayloadError,
    FailureTexts,
    ParseResult,
    RecordBuilder,
    Severity,
    as_list,
    collection_paused,
    decimal_of,
    is_form,
    load_form,
    load_json,
    text,
)
from carriers.manifest import ManifestReader
from carriers.tabular import is_xlsx
from carriers.unified import ATTEMPT_REASONS, WAYBILL_PATTERN, FailureReason, ParcelStatus, TrackingEvent
from carriers.waybill import check_pattern, check_s10

_TABULAR_TYPES = ("text/csv", "application/csv", "text/plain", "spreadsheetml", "application/vnd.ms-excel")
T = TypeVar("T")


class FieldProblem(ValueError):
    """One field of a native record is wrong; becomes a ``CarrierIssue`` naming it, with ``severity``.

    The record gives no parcel or event either way. ``Severity.WARNING`` is for a record the carrier sent
    as it should (an older kuaidi100 entry without a status), so the payload as a whole is not at fault.
    """

    def __init__(self, field: str, reason: str, *, severity: Severity = Severity.ERROR) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
        self.severity = severity


def field_value(field: str, convert: Callable[[Any], T], value: Any) -> T:
    """``convert(value)``, a ``ValueError`` it raises becoming a ``FieldProblem`` on ``field``.

    A ``FieldProblem`` raised by ``convert`` itself is passed on as it is.
    """
    try:
        return convert(value)
    except FieldProblem:
        raise
    except ValueError as exc:
        raise FieldProblem(field, str(exc)) from exc


def decimal_field(value: Any, field: str, *, unit: str) -> Decimal:
    """``decimal_of(value, unit=unit)``, its ``ValueError`` reported as a ``FieldProblem`` on ``field``."""
    try:
        return decimal_of(value, unit=unit)
    except ValueError as exc:
        raise FieldProblem(field, str(exc)) from exc


def event_waybill(value: Any, field: str) -> str:
    """A trace's waybill number in upper case; ``FieldProblem`` when missing or not a waybill number."""
    waybill = text(value)
    if not waybill:
        raise FieldProblem(field, "required")
    waybill = waybill.upper()
    if not WAYBILL_PATTERN.fullmatch(waybill):
        raise FieldProblem(field, "must be 4 to 40 letters, digits or hyphens")
    return waybill


def parcel_list(payload: Any, envelope: str, *, single: tuple[str, ...] = (), expected: str) -> list[Any]:
    """The records of a parcel payload: ``{envelope: [...]}``, a bare array, or one record (an object with
    any of the ``single`` keys). Anything else is a ``CarrierPayloadError`` saying what was ``expected``."""
    if isinstance(payload, dict):
        if envelope in payload:
            payload = payload[envelope]
        elif any(key in payload for key in single):
            return [payload]
        else:
            raise CarrierPayloadError(f"expected {expected}", field=envelope)
    return as_list(payload, where=envelope)


def record_object(record: Any, name: str) -> dict[str, Any]:
    """A native record that must be a JSON object; ``FieldProblem`` on ``name`` otherwise."""
    if not isinstance(record, dict):
        raise FieldProblem(name, "must be an object")
    return record


def object_field(record: dict[str, Any], key: str) -> dict[str, Any]:
    """``record[key]``, which must be a JSON object; ``FieldProblem`` on ``key`` otherwise."""
    value = record.get(key)
    if not isinstance(value, dict):
        raise FieldProblem(key, "required object")
    return value


def read_problem(
    status: ParcelStatus,
    texts: FailureTexts,
    *,
    stated: str | None,
    implied: FailureReason | None,
    implied_name: str | None,
    context: str | None,
) -> tuple[ParcelStatus, FailureReason, str | None]:
    """Status, reason and note of an aggregator's problem entry (kuaidi100 疑难, kdniao 问题件 …).

    The reason is the one our ``stated`` failReason names, else the one the status code ``implied``,
    else refused for a refusal, else the one the carrier's ``context`` text names, else ``OTHER``. A bare
    problem (nothing stated or implied) takes its status from that reason: refused, a failed attempt for
    ``ATTEMPT_REASONS``, an exception otherwise.
    """
    failure = (
        texts.reason(stated)
        or implied
        or (FailureReason.REFUSED if status is ParcelStatus.REFUSED else None)
        or texts.reason(context)
        or FailureReason.OTHER
    )
    note = stated or (implied_name if implied else None)
    if status is ParcelStatus.EXCEPTION and implied is None and stated is None:
        if failure is FailureReason.REFUSED:
            status = ParcelStatus.REFUSED
        elif failure in ATTEMPT_REASONS:
            status = ParcelStatus.FAILED_ATTEMPT
    return status, failure, note


def verify_form(
    raw: bytes, content_type: str, digest_field: str, matches: Callable[[dict[str, str], str], bool]
) -> bool | None:
    """For a form push: whether ``matches(form, digest)`` holds for its ``digest_field`` (False without
    one). None for a body that is not a form, where these formats carry no signature."""
    if not is_form(content_type):
        return None
    form = load_form(raw)
    given = form.get(digest_field)
    return False if given is None else matches(form, given)


def is_tabular(raw: bytes, content_type: str) -> bool:
    kind = content_type.lower()
    if any(t in kind for t in _TABULAR_TYPES) or is_xlsx(raw, kind):
        return True
    head = raw.lstrip()[:1]
    return not kind.startswith("application/json") and head not in (b"{", b"[", b"")


class Adapter:
    code: ClassVar[str]
    label: ClassVar[str]
    waybill_pattern: ClassVar[re.Pattern[str] | None] = None
    field_names: ClassVar[Mapping[str, str]] = {}
    manifest_columns: ClassVar[Mapping[str, tuple[str, ...]]] = {}
    tracking_only: ClassVar[bool] = False  # an aggregator: pushes only, never parcels or manifests

    # ---- waybills --------------------------------------------------------------------------------------
    def check_waybill(self, waybill_no: str) -> list[tuple[Severity, str]]:
        issues = check_s10(waybill_no)
        if issues or self.waybill_pattern is None or self.waybill_pattern.fullmatch(waybill_no):
            return issues  # a matching number needs no call for the warning check_pattern would not give
        return check_pattern(waybill_no, self.waybill_pattern, label=self.label)

    def _builder(self) -> RecordBuilder:
        return RecordBuilder(field_names=dict(self.field_names), check_waybill=self.check_waybill)

    # ---- parcels ---------------------------------------------------------------------------------------
    def parse_parcels(self, raw: bytes, content_type: str) -> ParseResult:
        if self.tracking_only:
            raise CarrierPayloadError(f"{self.label} carries tracking only", field="kind")
        if is_tabular(raw, content_type):
            return ManifestReader(self.manifest_columns, self._builder).parse(raw, content_type)
        with collection_paused():
            builder, count = self._read_parcels(raw)
        return builder.result(count)

    def _read_parcels(self, raw: bytes) -> tuple[RecordBuilder, int]:
        records = self.parcel_records(load_json(raw))
        builder = self._builder()
        to_unified, add = self.to_unified, builder.add
        for index, native in enumerate(records):
            # Each native record is let go of once read (the payload was decoded here, nothing else holds
            # it): a large payload then never sits in memory beside all of its parcels, and its memory is
            # reused for them instead of fresh pages.
            records[index] = None
            try:
                unified = to_unified(native)
            except FieldProblem as problem:
                builder.issue(index, problem.field, problem.reason, problem.severity)
                continue
            add(index, unified)
        return builder, len(records)

    def parcel_records(self, payload: Any) -> list[Any]:
        raise CarrierPayloadError(f"{self.label} parcels are not taken as JSON; send a manifest file")

    def to_unified(self, record: Any) -> dict[str, Any]:
        raise NotImplementedError

    # ---- events ----------------------------------------------------------------------------------------
    def parse_events(self, raw: bytes, content_type: str) -> ParseResult:
        traces = self.trace_records(raw, content_type)
        events: list[TrackingEvent] = []
        indices: list[int] = []
        issues: list[CarrierIssue] = []
        for index, trace in enumerate(traces):
            if not isinstance(trace, dict):
                issues.append(CarrierIssue(index, "trace", "must be an object"))
                continue
            try:
                events.append(self.to_event(trace))
                indices.append(index)
            except FieldProblem as problem:
                issues.append(CarrierIssue(index, problem.field, problem.reason, problem.severity))
        return ParseResult(
            events=tuple(events), event_index=tuple(indices), issues=tuple(issues), records=len(traces)
        )

    def trace_records(self, raw: bytes, content_type: str) -> list[Any]:
        raise NotImplementedError

    def to_event(self, trace: dict[str, Any]) -> TrackingEvent:
        raise NotImplementedError

    def render_event(self, event: TrackingEvent) -> dict[str, object]:
        raise NotImplementedError

    def outbound(self, table: Mapping[ParcelStatus, T], event: TrackingEvent, what: str) -> T:
        """The carrier's ``what`` for the event's status from ``table``; ``CarrierPayloadError`` when the
        carrier has none (``announced`` for most brands)."""
        found = table.get(event.status)
        if found is None:
            raise CarrierPayloadError(f"{self.label} has no {what} for {event.status.value}", field="status")
        return found

    def verify_signature(
        self, raw: bytes, content_type: str, headers: Mapping[str, str], secret: str
    ) -> bool | None:
        return None

    # ---- helpers ---------------------------------------------------------------------------------------
    @staticmethod
    def decode_body(raw: bytes, content_type: str) -> Any:
        """A push body that is JSON, or a form whose fields hold JSON (returned as the form dict)."""
        if is_form(content_type):
            return load_form(raw)
        return load_json(raw)
