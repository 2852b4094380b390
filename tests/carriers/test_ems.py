"""EMS and China Post: the shared platform formats, the push envelopes and their digests."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import pytest

from carriers import registry
from carriers.base import CarrierPayloadError, Severity
from carriers.china_post import codes as china_post_codes
from carriers.ems import codes as ems_codes
from carriers.unified import FailureReason, ParcelStatus, SiteType, TrackingEvent

GOLDEN = Path(__file__).parent / "golden"
FORM = "application/x-www-form-urlencoded"
POSTAL = ["ems", "china_post"]


def _event(status: ParcelStatus, **fields: object) -> TrackingEvent:
    return TrackingEvent(
        waybill_no="9812345678901",
        status=status,
        occurred_at=datetime(2026, 11, 30, 6, 30, tzinfo=UTC),
        **fields,  # type: ignore[arg-type]
    )


def test_china_post_uses_the_ems_tables_not_a_copy() -> None:
    """China Post's vocabulary is the EMS module's own objects."""
    assert china_post_codes.INBOUND is ems_codes.INBOUND
    assert china_post_codes.OUTBOUND is ems_codes.OUTBOUND


@pytest.mark.parametrize("code", POSTAL)
@pytest.mark.parametrize(
    "waybill", ["EB000717595HK", "RR202611306CN", "9812345678901", "1100123456789", "PA12345678901"]
)
def test_postal_numbers_get_no_warning(code: str, waybill: str) -> None:
    """S10 items with a right check digit and domestic numbers raise neither error nor pattern warning."""
    assert registry.get(code).check_waybill(waybill) == []


@pytest.mark.parametrize("code", POSTAL)
def test_a_wrong_s10_digit_is_an_error_and_a_foreign_number_a_warning(code: str) -> None:
    """The S10 check digit is a hard rule; another brand's shape is only a warning."""
    adapter = registry.get(code)
    assert [s for s, _ in adapter.check_waybill("RR202611305CN")] == [Severity.ERROR]
    assert [s for s, _ in adapter.check_waybill("YT1234567890123")] == [Severity.WARNING]


@pytest.mark.parametrize("code", POSTAL)
def test_encrypted_interface_field_is_refused_naming_sm4(code: str) -> None:
    """An SM4-encrypted logitcsInterface cannot be read; the error says why."""
    body = json.dumps({"serialNo": "1", "logitcsInterface": "9f2c4e0aa1b3d5c7e9f1a2b3c4d5e6f7"}).encode()
    with pytest.raises(CarrierPayloadError, match="SM4") as caught:
        registry.get(code).parse_events(body, "application/json")
    assert caught.value.field == "logitcsInterface"


def test_plaintext_interface_may_be_an_object() -> None:
    """A deployment that sends the interface field as a JSON object (not text) is read too."""
    trace = {"waybillNo": "9812345678901", "opCode": "702", "opTime": "2026-11-30 09:00:00"}
    body = json.dumps({"serialNo": "1", "logitcsInterface": {"traces": [trace]}}).encode()
    result = registry.get("ems").parse_events(body, "application/json")
    assert [e.status for e in result.events] == [ParcelStatus.OUT_FOR_DELIVERY]


def test_known_digest_vector_in_both_base64_forms() -> None:
    """data_digest over '{"a":1}' + 'test-secret' (md5sum | base64 by hand) is accepted in both forms."""
    adapter = registry.get("ems")
    raw_form = "ouScMOCO7/cGkJsoBQRJSg=="  # Base64 of the 16 digest bytes
    hex_form = "YTJlNDljMzBlMDhlZWZmNzA2OTA5YjI4MDUwNDQ5NGE="  # Base64 of a2e49c30e08eeff706909b280504494a
    for digest in (raw_form, hex_form):
        body = urlencode({"logistics_interface": '{"a":1}', "data_digest": digest}).encode()
        assert adapter.verify_signature(body, FORM, {}, "test-secret") is True
        assert adapter.verify_signature(body, FORM, {}, "other-secret") is False
    unsigned = urlencode({"logistics_interface": '{"a":1}'}).encode()
    assert adapter.verify_signature(unsigned, FORM, {}, "test-secret") is False
    assert adapter.verify_signature(b'{"traces": []}', "application/json", {}, "test-secret") is None


@pytest.mark.parametrize(("code", "name"), [("ems", "push_older.form"), ("china_post", "push_form.form")])
def test_golden_forms_are_signed_with_the_test_secret(code: str, name: str) -> None:
    """The golden form pushes carry a valid digest (raw-digest and hex-digest forms)."""
    raw = (GOLDEN / code / name).read_bytes()
    assert registry.get(code).verify_signature(raw, FORM, {}, "test-secret") is True


def test_render_picks_the_sub_codes() -> None:
    """Locker delivery is 704/50, refusal 705/7, a pickup-code collection 748; all read back the same."""
    adapter = registry.get("china_post")
    cases = [
        (_event(ParcelStatus.DELIVERED_AGENT, site_type=SiteType.LOCKER), "704", "50"),
        (_event(ParcelStatus.REFUSED), "705", "7"),
        (_event(ParcelStatus.DELIVERED_RECIPIENT, pickup_code="8827"), "748", None),
    ]
    for event, op_code, sub_code in cases:
        trace = adapter.render_event(event)
        assert trace["opCode"] == op_code
        assert trace.get("deliverCode", trace.get("attemptDeliveryCode")) == sub_code
        back = adapter.parse_events(json.dumps(trace).encode(), "application/json")
        assert [e.status for e in back.events] == [event.status]


def test_exceptions_read_back_as_failed_attempts_with_their_reason() -> None:
    """EMS has no problem code but 705 未妥投: a held parcel reads back as a failed attempt, reason kept."""
    adapter = registry.get("ems")
    trace = adapter.render_event(_event(ParcelStatus.EXCEPTION, failure_reason=FailureReason.DAMAGED))
    back = adapter.parse_events(json.dumps(trace).encode(), "application/json").events[0]
    assert (back.status, back.failure_reason) == (ParcelStatus.FAILED_ATTEMPT, FailureReason.DAMAGED)


def test_absurd_numbers_are_issues_not_crashes() -> None:
    """Weights and amounts too large for a decimal context become record issues."""
    record = {
        "waybillNo": "9812345678901",
        "receiver": {"name": "王", "mobile": "13812345678", "address": "宽甸县"},
    }
    body = json.dumps(
        {"waybills": [{**record, "weight": "1e30"}, {**record, "weight": 1, "codAmount": "9e99"}]}
    )
    result = registry.get("ems").parse_parcels(body.encode(), "application/json")
    assert result.parcels == ()
    assert [i.field for i in result.issues] == ["weight", "codAmount"]
