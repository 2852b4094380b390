"""The Adapter base class: how field problems of native records become issues."""

from __future__ import annotations

import json
from typing import Any

import pytest

from carriers.base import Severity, kg_to_grams, parse_time
from carriers.common import Adapter, FieldProblem, event_waybill, field_value
from carriers.unified import ParcelStatus, TrackingEvent


class _Pushes(Adapter):
    code = "test"
    label = "Test"

    def trace_records(self, raw: bytes, content_type: str) -> list[Any]:
        records: list[Any] = json.loads(raw)
        return records

    def to_event(self, trace: dict[str, Any]) -> TrackingEvent:
        if trace.get("skip"):
            raise FieldProblem("status", "older entry", severity=Severity.WARNING)
        return TrackingEvent(
            waybill_no=event_waybill(trace.get("no"), "no"),
            status=ParcelStatus.HUB_RECEIVED,
            occurred_at=field_value("time", parse_time, trace.get("time")),
        )


def test_field_problems_keep_their_severity() -> None:
    """A FieldProblem is an error unless raised as a warning; either way the record gives no event."""
    traces = [{"skip": True}, {"no": "x1", "time": "2026-11-30 08:00:00"}, {"no": "AB1234", "time": "soon"}]
    result = _Pushes().parse_events(json.dumps(traces).encode(), "application/json")
    assert result.events == ()
    assert [(i.index, i.field, i.severity) for i in result.issues] == [
        (0, "status", Severity.WARNING),
        (1, "no", Severity.ERROR),
        (2, "time", Severity.ERROR),
    ]


def test_field_value_names_the_field_and_passes_problems_on() -> None:
    """A ValueError of the conversion is a FieldProblem on the field; a FieldProblem keeps its own field."""
    with pytest.raises(FieldProblem) as caught:
        field_value("weight", kg_to_grams, "1e999999999")
    assert (caught.value.field, caught.value.reason) == (
        "weight",
        "1E+999999999 kg is over the 500 kg limit for a parcel",
    )

    def inner(_value: object) -> int:
        raise FieldProblem("cargoes[1].weight", "required (kg)")

    with pytest.raises(FieldProblem) as caught:
        field_value("cargoes.weight", inner, None)
    assert caught.value.field == "cargoes[1].weight"
