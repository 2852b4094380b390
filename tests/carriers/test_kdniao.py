"""kdniao: tracking only, the RequestData/DataSign envelope and the StateEx codes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest

from carriers import registry
from carriers.base import CarrierPayloadError, md5_hex_base64
from carriers.unified import FailureReason, ParcelStatus, TrackingEvent

GOLDEN = Path(__file__).parent / "golden" / "kdniao"
FORM = "application/x-www-form-urlencoded"
ADAPTER = registry.get("kdniao")
HEX_FORM = "YTJlNDljMzBlMDhlZWZmNzA2OTA5YjI4MDUwNDQ5NGE="  # Base64 of a2e49c30e08eeff706909b280504494a
RAW_FORM = "ouScMOCO7/cGkJsoBQRJSg=="  # Base64 of the same 16 digest bytes


def test_parcels_are_refused() -> None:
    """kdniao carries tracking only, manifests included."""
    with pytest.raises(CarrierPayloadError, match="kdniao carries tracking only"):
        ADAPTER.parse_parcels("运单号,收件人\n1,2\n".encode(), "text/csv")


def test_data_sign_known_vector() -> None:
    """DataSign of '{"a":1}' with AppKey 'test-secret' (md5sum | base64 by hand) is Base64 of the hex."""
    assert md5_hex_base64('{"a":1}', "test-secret") == HEX_FORM


@pytest.mark.parametrize(
    "body",
    [
        urlencode({"RequestData": '{"a":1}', "DataSign": HEX_FORM, "RequestType": "101"}),
        urlencode({"RequestData": '{"a":1}', "DataSign": quote(HEX_FORM, safe=""), "RequestType": "101"}),
        urlencode({"RequestData": '{"a":1}', "DataSign": RAW_FORM}),
        "RequestData=%7B%22a%22%3A1%7D&DataSign=" + RAW_FORM,  # sign sent without URL encoding
    ],
    ids=["hex", "encoded-twice", "raw-digest", "not-encoded"],
)
def test_signature_forms_accepted(body: str) -> None:
    """The documented byte form and the tolerated variants verify; another key does not."""
    assert ADAPTER.verify_signature(body.encode(), FORM, {}, "test-secret") is True
    assert ADAPTER.verify_signature(body.encode(), FORM, {}, "other") is False


@pytest.mark.parametrize("name", ["push.form", "push_plain.form"])
def test_golden_pushes_are_signed_with_the_test_secret(name: str) -> None:
    """The golden pushes carry a valid DataSign."""
    assert ADAPTER.verify_signature((GOLDEN / name).read_bytes(), FORM, {}, "test-secret") is True


def test_other_request_types_are_not_pushes() -> None:
    """RequestType 1002 is a query, not a tracking push."""
    body = urlencode({"RequestData": '{"Data": []}', "DataSign": "x", "RequestType": "1002"}).encode()
    with pytest.raises(CarrierPayloadError, match="RequestType"):
        ADAPTER.parse_events(body, FORM)


@pytest.mark.parametrize(
    ("status", "reason", "action"),
    [
        (ParcelStatus.EXCEPTION, FailureReason.DAMAGED, "414"),
        (ParcelStatus.EXCEPTION, FailureReason.WRONG_SORT, "422"),
        (ParcelStatus.FAILED_ATTEMPT, FailureReason.UNREACHABLE, "416"),
        (ParcelStatus.FAILED_ATTEMPT, FailureReason.ADDRESS_NOT_FOUND, "420"),
    ],
)
def test_reasons_pick_the_4xx_code(status: ParcelStatus, reason: FailureReason, action: str) -> None:
    """Failures render with kdniao's own reason code and read back with the same status and reason."""
    event = TrackingEvent(
        waybill_no="73123456789012",
        status=status,
        occurred_at=datetime(2026, 11, 30, 7, 0, tzinfo=UTC),
        failure_reason=reason,
    )
    trace = ADAPTER.render_event(event)
    assert trace["Action"] == action
    back = ADAPTER.parse_events(json.dumps(trace).encode(), "application/json").events[0]
    assert (back.status, back.failure_reason) == (status, reason)
