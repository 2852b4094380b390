"""kuaidi100: tracking only, the param/sign envelope, and which entry lastResult.state belongs to."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import pytest

from carriers import registry
from carriers.base import CarrierPayloadError, Severity
from carriers.unified import ParcelStatus, SiteType, TrackingEvent

GOLDEN = Path(__file__).parent / "golden" / "kuaidi100"
FORM = "application/x-www-form-urlencoded"
ADAPTER = registry.get("kuaidi100")


@pytest.mark.parametrize(
    ("raw", "content_type"),
    [(b'{"waybills": []}', "application/json"), ("运单号,收件人\n1,2\n".encode(), "text/csv")],
)
def test_parcels_are_refused(raw: bytes, content_type: str) -> None:
    """Neither order JSON nor a manifest file is kuaidi100's to carry."""
    with pytest.raises(CarrierPayloadError, match="kuaidi100 carries tracking only"):
        ADAPTER.parse_parcels(raw, content_type)


def test_known_sign_vector_any_case() -> None:
    """sign = MD5('{"a":1}' + 'test-secret') = a2e49c30… (md5sum by hand), upper or lower case."""
    for sign in ("A2E49C30E08EEFF706909B280504494A", "a2e49c30e08eeff706909b280504494a"):
        body = urlencode({"param": '{"a":1}', "sign": sign}).encode()
        assert ADAPTER.verify_signature(body, FORM, {}, "test-secret") is True
        assert ADAPTER.verify_signature(body, FORM, {}, "other") is False
    assert ADAPTER.verify_signature(urlencode({"param": "{}"}).encode(), FORM, {}, "test-secret") is False
    assert ADAPTER.verify_signature(b"{}", "application/json", {}, "test-secret") is None


@pytest.mark.parametrize("name", ["push.form", "push_nostatus.form"])
def test_golden_pushes_are_signed_with_the_test_secret(name: str) -> None:
    """The golden pushes carry a valid sign (upper- and lower-case hex)."""
    assert ADAPTER.verify_signature((GOLDEN / name).read_bytes(), FORM, {}, "test-secret") is True


def test_state_belongs_to_the_newest_entry_in_either_order() -> None:
    """With data[] oldest first, the state still goes to the latest ftime; the others are warnings."""
    data = [
        {"time": "2026-11-30 07:00:00", "ftime": "2026-11-30 07:00:00", "context": "到达"},
        {"time": "2026-11-30 12:00:00", "ftime": "2026-11-30 12:00:00", "context": "已签收"},
    ]
    param = {
        "status": "polling",
        "lastResult": {"state": "3", "com": "ems", "nu": "1100123456789", "data": data},
    }
    body = urlencode({"param": json.dumps(param, ensure_ascii=False), "sign": "x"}).encode()
    result = ADAPTER.parse_events(body, FORM)
    assert result.event_index == (1,)
    assert result.events[0].status is ParcelStatus.DELIVERED_RECIPIENT
    assert result.events[0].raw_namespace == "kuaidi100:ems"
    assert [(i.index, i.severity) for i in result.issues] == [(0, Severity.WARNING)]


def test_abort_push_without_data_has_no_records() -> None:
    """An abort push (nothing found) carries no trace and is not an error."""
    param = {"status": "abort", "message": "3天查询无记录", "lastResult": {"nu": "1100123456789"}}
    body = urlencode({"param": json.dumps(param, ensure_ascii=False), "sign": "x"}).encode()
    assert ADAPTER.parse_events(body, FORM).records == 0


def test_agent_delivery_at_a_station_renders_the_station_name() -> None:
    """A delivery signed at a station is 投柜或站签收, which reads back as delivered to an agent."""
    event = TrackingEvent(
        waybill_no="1100123456789",
        status=ParcelStatus.DELIVERED_AGENT,
        occurred_at=datetime(2026, 11, 30, 10, 0, tzinfo=UTC),
        site_type=SiteType.STATION,
    )
    entry = ADAPTER.render_event(event)
    assert (entry["status"], entry["state"], entry["ftime"]) == ("投柜或站签收", "3", "2026-11-30 18:00:00")
    back = ADAPTER.parse_events(json.dumps(entry).encode(), "application/json").events[0]
    assert (back.status, back.site_type) == (ParcelStatus.DELIVERED_AGENT, SiteType.STATION)


def test_form_without_param_is_unreadable() -> None:
    """A form push without its param field is refused as a whole."""
    with pytest.raises(CarrierPayloadError, match="param"):
        ADAPTER.parse_events(b"sign=abc", FORM)
