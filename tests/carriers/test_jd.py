"""JD specifics: state before category, agent deliveries, redelivery reasons and the accepted envelopes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import quote_plus

import pytest

from carriers.base import CarrierPayloadError
from carriers.jd.adapter import ADAPTER
from carriers.unified import FailureReason, ParcelStatus, TrackingEvent

TRACE = {
    "waybillCode": "JDAB12345678901",
    "operationTime": "2026-11-30 08:00:00",
    "operationRemark": "您的包裹已到达【宽甸县共配中心】",
    "category": "430",
    "state": "200075",
}


def _events(*traces: dict[str, object]) -> list[TrackingEvent]:
    result = ADAPTER.parse_events(json.dumps(list(traces), ensure_ascii=False).encode(), "application/json")
    assert not result.issues, result.issues
    return list(result.events)


@pytest.mark.parametrize(
    "body",
    [
        json.dumps(TRACE).encode(),
        json.dumps([TRACE]).encode(),
        json.dumps({"traceDetails": [TRACE]}).encode(),
        json.dumps({"code": 0, "data": {"traceDetails": [TRACE]}}).encode(),
    ],
    ids=["object", "array", "traceDetails", "query-reply"],
)
def test_push_and_query_shapes_are_read(body: bytes) -> None:
    """A single trace, an array, and the query reply's traceDetails all give the same event."""
    [event] = ADAPTER.parse_events(body, "application/json").events
    assert (event.status, event.raw_code, event.raw_namespace) == (
        ParcelStatus.HUB_RECEIVED,
        "200075",
        "state",
    )


def test_a_form_carries_the_json_in_param_json() -> None:
    """A form-encoded push is read from its param_json field; a form without JSON is refused."""
    body = f"param_json={quote_plus(json.dumps(TRACE))}".encode()
    assert len(ADAPTER.parse_events(body, "application/x-www-form-urlencoded").events) == 1
    with pytest.raises(CarrierPayloadError):
        ADAPTER.parse_events(b"a=b", "application/x-www-form-urlencoded")


def test_an_unknown_state_falls_back_to_the_category() -> None:
    """A node code we do not know is read by its first-level category, which is kept as the raw code."""
    [event] = _events({**TRACE, "state": "200099", "category": "440"})
    assert (event.status, event.raw_code, event.raw_namespace) == (
        ParcelStatus.OUT_FOR_DELIVERY,
        "440",
        "category",
    )


def test_agent_signatures_are_delivered_agent() -> None:
    """妥投 whose remark says 代收/代签 is an agent delivery; one signed in person is the recipient's."""
    agent, person = _events(
        {**TRACE, "state": "10034", "category": "510", "operationRemark": "已由【青山村服务站】代收"},
        {**TRACE, "state": "10034", "category": "510", "operationRemark": "已签收，签收人：本人"},
    )
    assert (agent.status, person.status) == (ParcelStatus.DELIVERED_AGENT, ParcelStatus.DELIVERED_RECIPIENT)
    assert person.signer == "本人"


def test_redelivery_reasons() -> None:
    """再投 takes its reason from the remark, RESCHEDULED when it names none; a refusal there is REFUSED."""
    bare, refused = _events(
        {**TRACE, "state": "200031", "operationRemark": "待再投"},
        {**TRACE, "state": "200003", "operationRemark": "客户拒收"},
    )
    assert (bare.status, bare.failure_reason) == (ParcelStatus.FAILED_ATTEMPT, FailureReason.RESCHEDULED)
    assert (refused.status, refused.failure_reason) == (ParcelStatus.REFUSED, FailureReason.REFUSED)


@pytest.mark.parametrize(
    "status",
    [
        ParcelStatus.ANNOUNCED,
        ParcelStatus.SORTED,
        ParcelStatus.LOADED,
        ParcelStatus.REFUSED,
        ParcelStatus.EXCEPTION,
        ParcelStatus.CANCELLED,
    ],
    ids=lambda s: s.value,
)
def test_more_statuses_round_trip(status: ParcelStatus) -> None:
    """Statuses beyond the contract's eight survive render -> parse (EXCEPTION via category 403)."""
    event = TrackingEvent(
        waybill_no="JDAB12345678901",
        status=status,
        occurred_at=datetime(2026, 11, 30, 6, 30, tzinfo=UTC),
        failure_note="客户取消寄件" if status is ParcelStatus.CANCELLED else None,
        signer=None,
    )
    [back] = _events(ADAPTER.render_event(event))
    assert back.status is status
    if status is ParcelStatus.CANCELLED:
        assert back.failure_note == "客户取消寄件"


def test_the_push_is_unsigned() -> None:
    """No JD push signature is known, so there is nothing to verify."""
    assert ADAPTER.verify_signature(json.dumps(TRACE).encode(), "application/json", {}, "test-secret") is None


def test_several_cargo_groups_are_summed() -> None:
    """Weights, pieces and volumes of several cargo groups add up; kg become grams exactly."""
    order = {
        "waybillCode": "JDAB12345678901",
        "receiverContact": {
            "name": "张三",
            "mobile": "13800000001",
            "fullAddress": "辽宁省丹东市宽甸县青山沟镇",
        },
        "cargoes": [
            {"quantity": 1, "weight": "0.333", "volume": 10},
            {"quantity": 2, "weight": 1.2, "volume": 5.5},
        ],
    }
    [parcel] = ADAPTER.parse_parcels(json.dumps(order).encode(), "application/json").parcels
    assert (parcel.weight_g, parcel.pieces, parcel.volume_cm3) == (1533, 3, 16)
