"""STO specifics: the data_digest over content, push shapes, scan types shared between statuses."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import pytest

from carriers.base import CarrierPayloadError, md5_base64
from carriers.sto.adapter import ADAPTER
from carriers.unified import FailureReason, ParcelStatus, SiteType, TrackingEvent

GOLDEN = Path(__file__).parent / "golden" / "sto"
FORM = "application/x-www-form-urlencoded"
CONTENT = (
    '{"waybillNo":"773000000000102","linkCode":"GP20261130102","trace":{"opTime":"2026-11-30 09:30:00",'
    '"scanType":"派件","memo":"【宽甸县共配中心】的派件员【派件员乙】正在派件","opOrgName":"宽甸县共配中心",'
    '"opOrgCode":"118001","opOrgType":"1","opOrgCityName":"丹东市","bizEmpName":"派件员乙",'
    '"bizEmpPhone":"13800000098","outBizCode":"STO-EVT-0010"}}'
)
# Base64(MD5(CONTENT + "test-secret")), computed independently with `openssl md5 -binary | base64`.
CONTENT_DIGEST = "1FEt0fnHOpDmrQmvzjQifg=="


def _event(status: ParcelStatus, **extra: object) -> TrackingEvent:
    return TrackingEvent(
        waybill_no="773000000000101",
        status=status,
        occurred_at=datetime(2026, 11, 30, 6, 30, tzinfo=UTC),
        **extra,  # type: ignore[arg-type]
    )


def _round_trip(event: TrackingEvent) -> TrackingEvent:
    result = ADAPTER.parse_events(json.dumps(ADAPTER.render_event(event)).encode(), "application/json")
    assert not result.issues, result.issues
    return result.events[0]


def test_signature_matches_the_known_vector() -> None:
    """The golden form's data_digest is Base64(MD5(content + secretKey)) with the known vector."""
    raw = (GOLDEN / "push_form.form").read_bytes()
    assert md5_base64(CONTENT, "test-secret") == CONTENT_DIGEST
    assert urlencode({"content": CONTENT, "data_digest": CONTENT_DIGEST}) in raw.decode()
    assert ADAPTER.verify_signature(raw, FORM, {}, "test-secret") is True
    assert ADAPTER.verify_signature(raw, FORM, {}, "other-secret") is False


def test_tampered_unsigned_and_bare_pushes() -> None:
    """Changed content or no digest fails; the form fields as JSON verify; a bare trace has no signature."""
    tampered = urlencode({"content": CONTENT.replace("派件", "签收"), "data_digest": CONTENT_DIGEST})
    assert ADAPTER.verify_signature(tampered.encode(), FORM, {}, "test-secret") is False
    assert (
        ADAPTER.verify_signature(urlencode({"content": CONTENT}).encode(), FORM, {}, "test-secret") is False
    )
    as_json = json.dumps({"content": CONTENT, "data_digest": CONTENT_DIGEST}).encode()
    assert ADAPTER.verify_signature(as_json, "application/json", {}, "test-secret") is True
    assert ADAPTER.verify_signature(CONTENT.encode(), "application/json", {}, "test-secret") is None


def test_form_fields_posted_as_json_are_read() -> None:
    """A JSON object holding the form's fields gives the same event as the form."""
    form = ADAPTER.parse_events((GOLDEN / "push_form.form").read_bytes(), FORM)
    as_json = ADAPTER.parse_events(json.dumps({"content": CONTENT}).encode(), "application/json")
    assert as_json.events == form.events
    assert form.events[0].event_id == "STO-EVT-0010"


def test_agent_signature_round_trips_through_the_memo() -> None:
    """A delivered_agent event renders as 签收 with 代签收 in the memo and reads back as an agent."""
    event = _event(ParcelStatus.DELIVERED_AGENT, site_name="青山村服务站", site_type=SiteType.STATION)
    trace = ADAPTER.render_event(event)["trace"]
    assert isinstance(trace, dict)
    assert (trace["scanType"], trace["memo"], trace["opOrgType"]) == ("签收", "已由青山村服务站代签收", "3")
    assert _round_trip(event).status is ParcelStatus.DELIVERED_AGENT


def test_locker_and_pickup_code_pick_their_scan_types() -> None:
    """A locker arrival is 柜机代收; a collection with a pickup code is 快件取出; both read back the same."""
    locker = _event(ParcelStatus.AT_STATION, site_type=SiteType.LOCKER, pickup_code="880231")
    collected = _event(ParcelStatus.DELIVERED_RECIPIENT, site_type=SiteType.STATION, pickup_code="880231")
    assert ADAPTER.render_event(locker)["trace"]["scanType"] == "柜机代收"  # type: ignore[index]
    assert ADAPTER.render_event(collected)["trace"]["scanType"] == "快件取出"  # type: ignore[index]
    back = _round_trip(locker)
    assert (back.status, back.site_type, back.pickup_code) == (
        ParcelStatus.AT_STATION,
        SiteType.LOCKER,
        "880231",
    )
    assert _round_trip(collected).status is ParcelStatus.DELIVERED_RECIPIENT


def test_issue_name_round_trips_and_held_reasons_are_exceptions() -> None:
    """问题件 carries the reason phrase and note; wrong sort reads back as an exception."""
    failed = _event(ParcelStatus.REFUSED, failure_note="包装破损拒收")
    back = _round_trip(failed)
    assert (back.status, back.failure_reason, back.failure_note) == (
        ParcelStatus.FAILED_ATTEMPT,
        FailureReason.REFUSED,
        "包装破损拒收",
    )
    held = _round_trip(_event(ParcelStatus.EXCEPTION, failure_reason=FailureReason.WRONG_SORT))
    assert (held.status, held.failure_reason) == (ParcelStatus.EXCEPTION, FailureReason.WRONG_SORT)


def test_event_id_is_out_biz_code() -> None:
    """Our event id goes out as outBizCode, STO's idempotency key, and comes back."""
    assert _round_trip(_event(ParcelStatus.HUB_RECEIVED, event_id="gp-evt-7")).event_id == "gp-evt-7"


@pytest.mark.parametrize("status", [ParcelStatus.ANNOUNCED, ParcelStatus.CANCELLED])
def test_statuses_without_a_scan_type_cannot_be_rendered(status: ParcelStatus) -> None:
    """STO has no scan type for an announced or a cancelled parcel."""
    with pytest.raises(CarrierPayloadError):
        ADAPTER.render_event(_event(status))
