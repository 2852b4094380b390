"""SF specifics: the legacy XML push in its shapes, refusal handling, reason codes and the unsigned push."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import quote_plus

import pytest

from carriers.base import CarrierPayloadError
from carriers.sf.adapter import ADAPTER
from carriers.unified import FailureReason, ParcelStatus, SiteType, TrackingEvent

ROUTE = (
    '<WaybillRoute id="9" mailno="SF1234567890123" orderid="O1" acceptTime="2026-11-30 08:00:00" '
    'acceptAddress="丹东市" remark="快件到达 【宽甸县共配中心】" opCode="31"/>'
)
ROUTE_JSON = {
    "id": "9",
    "mailno": "SF1234567890123",
    "acceptTime": "2026-11-30 08:00:00",
    "acceptAddress": "丹东市",
    "opCode": "31",
}
FORM = "application/x-www-form-urlencoded"
XML = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    f'<Request service="RoutePushService"><Body>{ROUTE}</Body></Request>'
)


def _event(status: ParcelStatus, **extra: object) -> TrackingEvent:
    return TrackingEvent(
        waybill_no="SF1234567890123",
        status=status,
        occurred_at=datetime(2026, 11, 30, 6, 30, tzinfo=UTC),
        **extra,  # type: ignore[arg-type]
    )


def _round_trip(event: TrackingEvent) -> TrackingEvent:
    body = json.dumps(ADAPTER.render_event(event), ensure_ascii=False).encode()
    result = ADAPTER.parse_events(body, "application/json")
    assert not result.issues, result.issues
    return result.events[0]


@pytest.mark.parametrize(
    ("raw", "content_type"),
    [
        (XML.encode(), "application/xml"),
        (XML.encode(), "text/plain"),  # told apart by its first byte
        (XML.encode("gbk").replace(b"UTF-8", b"GBK"), "text/xml"),
        (quote_plus(XML).encode(), "application/x-www-form-urlencoded"),  # the XML as the whole form body
        (f"content={quote_plus(XML)}".encode(), "application/x-www-form-urlencoded"),
        (f"content={quote_plus(json.dumps({'Body': {'WaybillRoute': [ROUTE_JSON]}}))}".encode(), FORM),
    ],
    ids=["xml", "sniffed", "gbk", "form-body", "form-field", "form-json"],
)
def test_legacy_and_form_pushes_are_read(raw: bytes, content_type: str) -> None:
    """The legacy RoutePushService XML is read raw, in GBK, or URL-encoded in a form; JSON in a form too."""
    result = ADAPTER.parse_events(raw, content_type)
    assert not result.issues
    [event] = result.events
    assert (event.status, event.event_id, event.city) == (ParcelStatus.HUB_RECEIVED, "9", "丹东市")


@pytest.mark.parametrize(
    "raw",
    [
        b"<Request><Body><WaybillRoute",  # cut off
        b'<?xml version="1.0" encoding="no-such-codec"?><Request/>',
        b'<!DOCTYPE r [<!ENTITY a "aaaa">]><Request><Body>&a;</Body></Request>',
        b'<Request service="OrderService"><Body/></Request>',
        b"<Response/>",
    ],
)
def test_unreadable_or_foreign_xml_is_a_payload_error(raw: bytes) -> None:
    """Broken XML, unknown encodings, DTDs/entities and other services raise CarrierPayloadError only."""
    with pytest.raises(CarrierPayloadError):
        ADAPTER.parse_events(raw, "application/xml")


def test_a_json_push_needs_the_body_envelope_or_trace_fields() -> None:
    """An object that is neither the v2 envelope nor a trace is refused as a whole."""
    with pytest.raises(CarrierPayloadError):
        ADAPTER.parse_events(b'{"Head": "OK"}', "application/json")


def test_a_refusal_under_either_failure_code_is_refused() -> None:
    """opCode 33 or 70 whose remark is a refusal becomes REFUSED; 33 otherwise is EXCEPTION."""
    traces = [
        {"mailno": "SF1234567890123", "acceptTime": "2026-11-30 08:00:00", "opCode": code, "remark": remark}
        for code, remark in (("70", "客户拒收"), ("33", "收方客户拒收快件"), ("33", "快件外包装破损"))
    ]
    result = ADAPTER.parse_events(json.dumps(traces).encode(), "application/json")
    assert [e.status for e in result.events] == [
        ParcelStatus.REFUSED,
        ParcelStatus.REFUSED,
        ParcelStatus.EXCEPTION,
    ]
    assert result.events[2].failure_reason is FailureReason.DAMAGED


@pytest.mark.parametrize(
    ("remark", "reason"),
    [
        ("收方客户不在，电话未接通", FailureReason.NOBODY_HOME),
        ("电话无人接听", FailureReason.UNREACHABLE),
        ("收方地址超出派送范围", FailureReason.OUT_OF_AREA),
        ("客户要求改期派送", FailureReason.RESCHEDULED),
        ("天气原因", FailureReason.OTHER),
    ],
)
def test_failure_reasons_come_from_the_remark(remark: str, reason: FailureReason) -> None:
    """A 70 without our failReason field takes its reason from SF's remark text."""
    trace = {
        "mailno": "SF1234567890123",
        "acceptTime": "2026-11-30 08:00:00",
        "opCode": "70",
        "remark": remark,
    }
    [event] = ADAPTER.parse_events(json.dumps(trace).encode(), "application/json").events
    assert event.failure_reason is reason


@pytest.mark.parametrize(
    "event",
    [
        _event(ParcelStatus.REFUSED),
        _event(ParcelStatus.EXCEPTION, failure_reason=FailureReason.WRONG_SORT, failure_note="应发大连"),
        _event(ParcelStatus.SORTED),
        _event(ParcelStatus.LOADED),
        _event(ParcelStatus.DELIVERED_RECIPIENT, signer="本人", event_id="77", city="丹东市"),
        _event(ParcelStatus.AT_STATION, site_type=SiteType.LOCKER, pickup_code="120934"),
    ],
    ids=lambda e: e.status.value,
)
def test_more_statuses_round_trip(event: TrackingEvent) -> None:
    """Statuses beyond the contract's eight, with signer, event id, city and reasons, survive a round trip."""
    back = _round_trip(event)
    assert back.status is event.status
    assert (back.signer, back.event_id, back.city, back.pickup_code) == (
        event.signer,
        event.event_id,
        event.city,
        event.pickup_code,
    )
    if event.site_type:
        assert back.site_type is event.site_type
    if event.status is ParcelStatus.REFUSED:
        assert back.failure_reason is FailureReason.REFUSED
    if event.failure_reason:
        assert back.failure_reason is event.failure_reason


def test_statuses_sf_has_no_code_for_are_refused() -> None:
    """ANNOUNCED and CANCELLED have no SF route opCode: rendering them is a payload error."""
    for status in (ParcelStatus.ANNOUNCED, ParcelStatus.CANCELLED):
        with pytest.raises(CarrierPayloadError):
            ADAPTER.render_event(_event(status))


def test_the_route_push_is_unsigned() -> None:
    """SF's route push carries no digest, so there is nothing to verify."""
    assert ADAPTER.verify_signature(XML.encode(), "application/xml", {}, "test-secret") is None


@pytest.mark.parametrize(
    ("weight", "reason"),
    [
        (True, "must be a weight in kg"),
        ("1e999", "1E+999 kg is over the 500 kg limit for a parcel"),
        ("NaN", "must be a weight in kg"),
        (600.5, "600.5 kg is over the 500 kg limit for a parcel"),
    ],
)
def test_odd_weights_are_record_issues(weight: object, reason: str) -> None:
    """Booleans, NaN and astronomic exponents are issues on totalWeight, never exceptions."""
    order = {
        "waybillNo": "SF1234567890123",
        "contactInfoList": [
            {"contactType": 2, "contact": "张三", "mobile": "13800000001", "address": "宽甸县"}
        ],
        "totalWeight": weight,
    }
    result = ADAPTER.parse_parcels(json.dumps(order).encode(), "application/json")
    assert [(i.field, i.reason) for i in result.issues] == [("totalWeight", reason)]
