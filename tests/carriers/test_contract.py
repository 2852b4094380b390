"""What every adapter promises: round trips of our events, and nothing but CarrierPayloadError escapes."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carriers import registry
from carriers.base import CarrierPayloadError, ParseResult
from carriers.unified import FailureReason, ParcelStatus, SiteType, TrackingEvent


def _available() -> list[str]:
    codes = []
    for code in registry.formats():
        try:
            registry.get(code)
        except ModuleNotFoundError:
            continue
        codes.append(code)
    return codes


ADAPTERS = _available()
BRANDS = [c for c in ADAPTERS if c in registry.BRAND_FORMATS]
ROUND_TRIP = [
    ParcelStatus.HUB_RECEIVED,  # arrived at the county centre
    ParcelStatus.OUT_FOR_DELIVERY,
    ParcelStatus.AT_STATION,  # with a pickup code
    ParcelStatus.DELIVERED_RECIPIENT,
    ParcelStatus.DELIVERED_AGENT,
    ParcelStatus.FAILED_ATTEMPT,  # with a reason
    ParcelStatus.RETURNED,
    ParcelStatus.PICKED_UP,
]
WAYBILLS = {
    "zto": "73123456789012",
    "yto": "YT1234567890123",
    "sto": "773123456789012",
    "yunda": "312345678901234",
    "jt": "JT1234567890123",
    "sf": "SF1234567890123",
    "jd": "JDAB12345678901",
    "china_post": "9812345678901",
    "ems": "1112345678901",
}


def _event(status: ParcelStatus, waybill: str) -> TrackingEvent:
    station = status in (ParcelStatus.AT_STATION, ParcelStatus.DELIVERED_AGENT)
    return TrackingEvent(
        waybill_no=waybill,
        status=status,
        occurred_at=datetime(2026, 11, 30, 6, 30, tzinfo=UTC),
        description="宽甸共配中心",
        site_no="KD-0042" if station else "KD-CENTER",
        site_name="青山村服务站" if station else "宽甸县共配中心",
        site_type=SiteType.STATION if station else SiteType.COUNTY_CENTER,
        failure_reason=FailureReason.NOBODY_HOME if status is ParcelStatus.FAILED_ATTEMPT else None,
        pickup_code="3-2-117" if status is ParcelStatus.AT_STATION else None,
    )


@pytest.mark.parametrize("code", BRANDS + [c for c in ADAPTERS if c not in BRANDS])
@pytest.mark.parametrize("status", ROUND_TRIP, ids=lambda s: s.value)
def test_render_then_parse_gives_the_same_status(code: str, status: ParcelStatus) -> None:
    """Each canonical event rendered in the carrier's vocabulary parses back to the same status."""
    adapter = registry.get(code)
    event = _event(status, WAYBILLS.get(code, "73123456789012"))
    rendered = adapter.render_event(event)
    assert isinstance(rendered, dict)
    json.dumps(rendered, ensure_ascii=False)  # the push body is JSON-serialisable
    back = adapter.parse_events(json.dumps(rendered, ensure_ascii=False).encode(), "application/json")
    assert not back.issues, back.issues
    assert [e.status for e in back.events] == [status]
    parsed = back.events[0]
    assert parsed.waybill_no == event.waybill_no
    assert parsed.occurred_at == event.occurred_at
    assert parsed.raw_code
    if status is ParcelStatus.FAILED_ATTEMPT:
        assert parsed.failure_reason is FailureReason.NOBODY_HOME
    if status is ParcelStatus.AT_STATION:
        assert parsed.pickup_code == "3-2-117"


@pytest.mark.parametrize("code", BRANDS)
def test_s10_numbers_with_a_wrong_check_digit_are_errors(code: str) -> None:
    """An S10 number with a wrong check digit is an error for every brand; a right one is not."""
    adapter = registry.get(code)
    good = adapter.check_waybill("EB000717595HK")
    bad = adapter.check_waybill("EB000717594HK")
    assert all(sev.value != "error" for sev, _ in good)
    assert any(sev.value == "error" for sev, _ in bad)


def _only_payload_errors(call, raw: bytes, content_type: str) -> None:
    try:
        result = call(raw, content_type)
    except CarrierPayloadError:
        return
    assert isinstance(result, ParseResult)


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=6)
    ),
    max_leaves=25,
)


@pytest.mark.parametrize("code", ADAPTERS)
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    raw=st.binary(max_size=400),
    content_type=st.sampled_from(
        ["application/json", "text/csv", "application/x-www-form-urlencoded", "application/xml", ""]
    ),
)
def test_fuzz_bytes(code: str, raw: bytes, content_type: str) -> None:
    """Arbitrary bytes in any content type: a ParseResult or CarrierPayloadError, nothing else."""
    adapter = registry.get(code)
    _only_payload_errors(adapter.parse_parcels, raw, content_type)
    _only_payload_errors(adapter.parse_events, raw, content_type)


@pytest.mark.parametrize("code", ADAPTERS)
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(payload=JSONISH)
def test_fuzz_json_shapes(code: str, payload: object) -> None:
    """Any JSON value, as parcels or as a push: a ParseResult or CarrierPayloadError, nothing else."""
    adapter = registry.get(code)
    raw = json.dumps(payload).encode()
    _only_payload_errors(adapter.parse_parcels, raw, "application/json")
    _only_payload_errors(adapter.parse_events, raw, "application/json")
