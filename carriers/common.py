"""A base class for adapters: the parts every brand shares (files, issues, checks), brands fill in the rest.

A brand adapter subclasses ``Adapter`` and provides:
- ``code``, ``label``, ``waybill_pattern`` and ``manifest_columns``, ``field_names``;
- ``parcel_records(payload)``: the native parcel records of a decoded JSON payload;
- ``to_unified(record)``: one native parcel record as a unified record (a dict ``Parcel`` validates);
- ``trace_records(raw, content_type)``: the native trace records of a push payload;
- ``to_event(trace)``: one native trace as a ``TrackingEvent`` (raise ``FieldProblem`` for a bad field);
- ``render_event(event)``: the reverse of ``to_event``;
- ``verify_signature(...)`` where the push format is signed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

from carriers.base import (
    CarrierIssue,
    CarrierPayloadError,
    ParseResult,
    RecordBuilder,
    Severity,
    is_form,
    load_form,
    load_json,
)
from carriers.manifest import ManifestReader
from carriers.tabular import is_xlsx
from carriers.unified import TrackingEvent
from carriers.waybill import check_pattern, check_s10

_TABULAR_TYPES = ("text/csv", "application/csv", "text/plain", "spreadsheetml", "application/vnd.ms-excel")


class FieldProblem(ValueError):
    """One field of a native record is wrong; becomes a ``CarrierIssue`` naming it."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


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

    # ---- waybills --------------------------------------------------------------------------------------
    def check_waybill(self, waybill_no: str) -> list[tuple[Severity, str]]:
        issues = check_s10(waybill_no)
        if issues or self.waybill_pattern is None:
            return issues
        return check_pattern(waybill_no, self.waybill_pattern, label=self.label)

    def _builder(self) -> RecordBuilder:
        return RecordBuilder(field_names=dict(self.field_names), check_waybill=self.check_waybill)

    # ---- parcels ---------------------------------------------------------------------------------------
    def parse_parcels(self, raw: bytes, content_type: str) -> ParseResult:
        if is_tabular(raw, content_type):
            return ManifestReader(self.manifest_columns, self._builder).parse(raw, content_type)
        payload = load_json(raw)
        records = self.parcel_records(payload)
        builder = self._builder()
        for index, native in enumerate(records):
            try:
                unified = self.to_unified(native)
            except FieldProblem as problem:
                builder.issue(index, problem.field, problem.reason)
                continue
            builder.add(index, unified)
        return builder.result(len(records))

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
                issues.append(CarrierIssue(index, problem.field, problem.reason))
        return ParseResult(
            events=tuple(events), event_index=tuple(indices), issues=tuple(issues), records=len(traces)
        )

    def trace_records(self, raw: bytes, content_type: str) -> list[Any]:
        raise NotImplementedError

    def to_event(self, trace: dict[str, Any]) -> TrackingEvent:
        raise NotImplementedError

    def render_event(self, event: TrackingEvent) -> dict[str, object]:
        raise NotImplementedError

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
