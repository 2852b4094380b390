"""YTO specifics: the data_digest over the XML, XML hardening, and the codes YTO shares between statuses."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import pytest

from carriers.base import CarrierPayloadError, md5_base64
from carriers.unified import FailureReason, ParcelStatus, SiteType, TrackingEvent
from carriers.yto.adapter import ADAPTER

GOLDEN = Path(__file__).parent / "golden" / "yto"
FORM = "application/x-www-form-urlencoded"
XML = (
    "<UpdateInfo><logisticProviderID>YTO</logisticProviderID><clientID>GONGPEI-TEST</clientID>"
    "<txLogisticID>GP20261130002</txLogisticID><mailNo>YT8800000000102</mailNo><infoType>STATUS</infoType>"
    "<infoContent>SIGNED</infoContent><remark>已签收，签收人：本人</remark>"
    "<acceptTime>2026-11-30 17:45:00</acceptTime><name>本人</name></UpdateInfo>"
)
# Base64(MD5(XML + "test-secret")), computed independently with `openssl md5 -binary | base64`.
XML_DIGEST = "bdY9UhoaIu2WKZxgyCXn3w=="


def _event(status: ParcelStatus, **extra: object) -> TrackingEvent:
    return TrackingEvent(
        waybill_no="YT8800000000101",
        status=status,
        occurred_at=datetime(2026, 11, 30, 6, 30, tzinfo=UTC),
        **extra,  # type: ignore[arg-type]
    )


def _round_trip(event: TrackingEvent) -> TrackingEvent:
    result = ADAPTER.parse_events(json.dumps(ADAPTER.render_event(event)).encode(), "application/json")
    assert not result.issues, result.issues
    return result.events[0]


def test_signature_matches_the_known_vector() -> None:
    """The golden form's data_digest is Base64(MD5(xml + partnerKey)) with the known vector."""
    raw = (GOLDEN / "push_form.form").read_bytes()
    assert md5_base64(XML, "test-secret") == XML_DIGEST
    assert urlencode({"logistics_interface": XML, "data_digest": XML_DIGEST}) in raw.decode()
    assert ADAPTER.verify_signature(raw, FORM, {}, "test-secret") is True
    assert ADAPTER.verify_signature(raw, FORM, {}, "other-secret") is False


def test_signature_over_a_twice_encoded_interface() -> None:
    """A sender that URL-encodes the XML and digest itself still verifies."""
    raw = (GOLDEN / "push_form_double_encoded.form").read_bytes()
    assert ADAPTER.verify_signature(raw, FORM, {}, "test-secret") is True


def test_tampered_or_unsigned_forms_fail() -> None:
    """Changing the XML or dropping the digest fails the check; a plain XML body carries no signature."""
    tampered = urlencode({"logistics_interface": XML.replace("本人", "他人"), "data_digest": XML_DIGEST})
    assert ADAPTER.verify_signature(tampered.encode(), FORM, {}, "test-secret") is False
    unsigned = urlencode({"logistics_interface": XML})
    assert ADAPTER.verify_signature(unsigned.encode(), FORM, {}, "test-secret") is False
    assert ADAPTER.verify_signature(XML.encode(), "application/xml", {}, "test-secret") is None


def test_unencoded_digest_with_plus_still_verifies() -> None:
    """A digest sent without URL-encoding, whose '+' the form decoder turned into a space, still verifies."""
    xml, digest = next(
        (signed, digest)
        for i in range(1000)
        if "+" in (digest := md5_base64(signed := XML.replace("本人", f"本人{i}"), "test-secret"))
    )
    raw = f"{urlencode({'logistics_interface': xml})}&data_digest={digest}".encode()
    assert ADAPTER.verify_signature(raw, FORM, {}, "test-secret") is True


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'<!DOCTYPE r [<!ENTITY a "aa">]><UpdateInfo><mailNo>&a;</mailNo></UpdateInfo>', "DOCTYPE"),
        (b"<UpdateInfo><mailNo>YT1</mailNo>", "cannot be read"),
        (b"<Other><mailNo>YT1</mailNo></Other>", "UpdateInfo"),
    ],
)
def test_bad_xml_is_a_payload_error(body: bytes, reason: str) -> None:
    """DTDs, broken XML and XML without <UpdateInfo> are refused as unreadable payloads."""
    with pytest.raises(CarrierPayloadError, match=reason):
        ADAPTER.parse_events(body, "application/xml")


def test_agent_signature_round_trips_through_the_remark() -> None:
    """A delivered_agent event renders as SIGNED with 代签收 in the remark and reads back as an agent."""
    event = _event(ParcelStatus.DELIVERED_AGENT, site_name="青山村服务站", site_type=SiteType.STATION)
    rendered = ADAPTER.render_event(event)
    assert rendered["infoContent"] == "SIGNED"
    assert rendered["remark"] == "已由青山村服务站代签收"
    assert _round_trip(event).status is ParcelStatus.DELIVERED_AGENT


def test_failure_reason_and_note_round_trip() -> None:
    """FAILED carries the reason phrase and the note; held reasons read back as an exception."""
    failed = _event(
        ParcelStatus.FAILED_ATTEMPT, failure_reason=FailureReason.ADDRESS_NOT_FOUND, failure_note="门牌号缺失"
    )
    back = _round_trip(failed)
    assert (back.status, back.failure_reason, back.failure_note) == (
        ParcelStatus.FAILED_ATTEMPT,
        FailureReason.ADDRESS_NOT_FOUND,
        "门牌号缺失",
    )
    held = _round_trip(_event(ParcelStatus.EXCEPTION, failure_reason=FailureReason.DAMAGED))
    assert (held.status, held.failure_reason) == (ParcelStatus.EXCEPTION, FailureReason.DAMAGED)


def test_announced_cannot_be_rendered() -> None:
    """YTO has no track code for an announced parcel."""
    with pytest.raises(CarrierPayloadError):
        ADAPTER.render_event(_event(ParcelStatus.ANNOUNCED))
