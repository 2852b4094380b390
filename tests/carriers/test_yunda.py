"""Yunda specifics: the body signature, agent signatures, failure reasons and odd numbers in parcels."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carriers.base import CarrierPayloadError, ParseResult, kg_to_grams
from carriers.unified import FailureReason, ParcelStatus, SiteType, TrackingEvent
from carriers.yunda import codes, schema
from carriers.yunda.adapter import ADAPTER
from tests.carriers.golden import GOLDEN

WAYBILL = "312345678901234"


def _event(status: ParcelStatus, **extra: object) -> TrackingEvent:
    return TrackingEvent(
        waybill_no=WAYBILL,
        status=status,
        occurred_at=datetime(2026, 11, 30, 6, 30, tzinfo=UTC),
        **extra,  # type: ignore[arg-type]
    )


def _parse(body: object) -> ParseResult:
    return ADAPTER.parse_events(json.dumps(body, ensure_ascii=False).encode(), "application/json")


def test_signature_known_vector() -> None:
    """sign = MD5hex(body + "_" + secret) over the exact bytes: a pinned vector and the golden push."""
    body = b'{"mailno":"312345678901234"}'
    vector = "cc8ab9a8213ae0bdfa438d9ee68c40c6"  # printf '%s' '<body>_test-secret' | md5sum
    assert ADAPTER.verify_signature(body, "application/json", {"sign": vector}, "test-secret") is True
    golden = (GOLDEN / "yunda" / "push.json").read_bytes()
    sign = "2789f795eb041531075d3ccb5b8a03f8"
    assert ADAPTER.verify_signature(golden, "application/json", {"sign": sign}, "test-secret") is True
    assert ADAPTER.verify_signature(golden, "application/json", {"sign": sign.upper()}, "test-secret") is True


def test_signature_rejects_wrong_secret_tampering_and_absence() -> None:
    """A wrong secret, a changed body or a missing header all fail."""
    golden = (GOLDEN / "yunda" / "push.json").read_bytes()
    sign = "2789f795eb041531075d3ccb5b8a03f8"
    assert ADAPTER.verify_signature(golden, "application/json", {"sign": sign}, "other") is False
    assert ADAPTER.verify_signature(golden + b" ", "application/json", {"sign": sign}, "test-secret") is False
    assert ADAPTER.verify_signature(golden, "application/json", {}, "test-secret") is False


@pytest.mark.parametrize("status", list(codes.OUTBOUND), ids=lambda s: s.value)
def test_every_rendered_status_parses_back(status: ParcelStatus) -> None:
    """Each status Yunda has an action for comes back as itself, with its raw action kept."""
    back = _parse(ADAPTER.render_event(_event(status)))
    assert not back.issues
    expected = ParcelStatus.HUB_RECEIVED if status is ParcelStatus.SORTED else status
    assert back.events[0].status is expected
    assert back.events[0].raw_code == codes.OUTBOUND[status]


@pytest.mark.parametrize("reason", list(FailureReason), ids=lambda r: r.value)
@pytest.mark.parametrize("status", [ParcelStatus.FAILED_ATTEMPT, ParcelStatus.EXCEPTION], ids=str)
def test_failure_reasons_survive_the_round_trip(status: ParcelStatus, reason: FailureReason) -> None:
    """The reason text we write in ``reason`` reads back as the same reason, with the note after it."""
    event = _event(status, failure_reason=reason, failure_note="约明天")
    back = _parse(ADAPTER.render_event(event)).events[0]
    assert (back.status, back.failure_reason) == (status, reason)
    assert back.failure_note is not None
    assert back.failure_note.endswith("约明天")


def test_agent_signature_and_station_fields() -> None:
    """delivered_agent is SIGNED with signer_type agent; station fields and pickup code survive."""
    event = _event(
        ParcelStatus.DELIVERED_AGENT,
        site_no="KD-0042",
        site_name="青山村服务站",
        site_type=SiteType.STATION,
        signer="服务站代收",
        event_id="YD-9",
    )
    rendered = ADAPTER.render_event(event)
    assert rendered["action"] == "SIGNED"
    assert rendered["signer_type"] == "agent"
    back = _parse(rendered).events[0]
    assert back.status is ParcelStatus.DELIVERED_AGENT
    assert (back.site_no, back.site_name, back.site_type) == ("KD-0042", "青山村服务站", SiteType.STATION)
    assert (back.signer, back.event_id) == ("服务站代收", "YD-9")


def test_signer_type_recipient_wins_over_agent_words() -> None:
    """An explicit signer_type decides; without it, agent words in signer mark an agent signature."""
    step = {"mailno": WAYBILL, "action": "SIGNED", "time": "2026-11-30 18:00:00", "signer": "驿站代收"}
    assert _parse(step).events[0].status is ParcelStatus.DELIVERED_AGENT
    step["signer_type"] = "recipient"
    assert _parse(step).events[0].status is ParcelStatus.DELIVERED_RECIPIENT


def test_statuses_without_a_yunda_action_are_refused() -> None:
    """announced and cancelled have no Yunda action: rendering them is a payload error, not a guess."""
    for status in (ParcelStatus.ANNOUNCED, ParcelStatus.CANCELLED):
        with pytest.raises(CarrierPayloadError):
            ADAPTER.render_event(_event(status))


def test_weights_round_half_up_and_absurd_numbers_are_issues() -> None:
    """kg -> g rounds half up; huge or tiny exponents become per-record issues, never exceptions."""
    assert kg_to_grams("1.2345") == 1235
    assert kg_to_grams(0.5) == 500
    orders = [
        {
            "mailno": "31234567890124" + str(i),
            "weight": w,
            "collection_value": c,
            "receiver": {"name": "测试", "mobile": "13800000000", "address": "宽甸满族自治县青山沟镇"},
        }
        for i, (w, c) in enumerate(
            [
                ("1e999999999", "1"),
                ("1e-999999999", "1"),
                (1, "1e999999999"),
                (1, "-5"),
                (1, "NaN"),
                (True, None),
            ]
        )
    ]
    result = ADAPTER.parse_parcels(json.dumps({"orders": orders}).encode(), "application/json")
    assert result.parcels == ()
    assert sorted({i.index for i in result.issues}) == list(range(6))


VALUE = st.none() | st.integers() | st.floats() | st.text(max_size=12)
STEP = st.fixed_dictionaries(
    {},
    optional={name: VALUE | st.sampled_from(list(codes.INBOUND)) for name in (*schema.STEP_FIELDS, "steps")},
)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    steps=st.lists(STEP | st.integers(), max_size=4),
    mailno=st.none() | st.text(max_size=16),
    wrap=st.sampled_from(["orders", "data", "bare"]),
)
def test_fuzz_structured_pushes(steps: list[object], mailno: str | None, wrap: str) -> None:
    """Pushes shaped like Yunda's, with arbitrary field values: a ParseResult, nothing raised."""
    order = {"mailno": mailno, "steps": steps}
    body: object = {"orders": [order]} if wrap == "orders" else {"data": order} if wrap == "data" else steps
    result = _parse(body)
    assert result.records == len(result.events) + len({i.index for i in result.issues})
