"""J&T specifics: the bizContent digest, scan names vs numbers, problem codes and the push envelopes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carriers.base import CarrierPayloadError, ParseResult
from carriers.jt import codes, schema
from carriers.jt.adapter import ADAPTER
from carriers.unified import FailureReason, ParcelStatus, SiteType, TrackingEvent
from tests.carriers.golden import GOLDEN

WAYBILL = "JT1234567890123"
FORM = "application/x-www-form-urlencoded"
GOLDEN_DIGEST = "MgvhZODQKGbOiRmE8smQqQ=="  # openssl md5 -binary <bizContent + "test-secret"> | base64


def _event(status: ParcelStatus, **extra: object) -> TrackingEvent:
    return TrackingEvent(
        waybill_no=WAYBILL,
        status=status,
        occurred_at=datetime(2026, 11, 30, 6, 30, tzinfo=UTC),
        **extra,  # type: ignore[arg-type]
    )


def _parse(body: object) -> ParseResult:
    return ADAPTER.parse_events(json.dumps(body, ensure_ascii=False).encode(), "application/json")


def _detail(**fields: object) -> dict[str, object]:
    return {"billCode": WAYBILL, "details": [{"scanTime": "2026-11-30 10:00:00", **fields}]}


def test_digest_of_the_golden_form() -> None:
    """digest = Base64(MD5(bizContent + privateKey)) over the decoded form field, from the header."""
    raw = (GOLDEN / "jt" / "push_form.form").read_bytes()
    assert ADAPTER.verify_signature(raw, FORM, {"digest": GOLDEN_DIGEST}, "test-secret") is True
    assert ADAPTER.verify_signature(raw, FORM, {"digest": GOLDEN_DIGEST}, "other") is False
    assert ADAPTER.verify_signature(raw, FORM, {}, "test-secret") is False
    tampered = raw.replace(b"A9", b"A2")
    assert ADAPTER.verify_signature(tampered, FORM, {"digest": GOLDEN_DIGEST}, "test-secret") is False


def test_digest_of_a_json_body_is_over_the_whole_body() -> None:
    """Without the form, the body itself is the bizContent that is signed."""
    raw = (GOLDEN / "jt" / "push_form.form").read_bytes()
    form = ADAPTER.decode_body(raw, FORM)
    body = form["bizContent"].encode("utf-8")
    assert (
        ADAPTER.verify_signature(body, "application/json", {"digest": GOLDEN_DIGEST}, "test-secret") is True
    )
    assert ADAPTER.verify_signature(b"\xff", "application/json", {"digest": GOLDEN_DIGEST}, "x") is False


@pytest.mark.parametrize("status", list(codes.OUTBOUND), ids=lambda s: s.value)
def test_every_rendered_status_parses_back(status: ParcelStatus) -> None:
    """Each status J&T has a scan for comes back as itself; the body is one bill with one detail."""
    rendered = ADAPTER.render_event(_event(status))
    assert rendered["billCode"] == WAYBILL
    assert len(rendered["details"]) == 1  # type: ignore[arg-type]
    back = _parse(rendered)
    assert not back.issues
    expected = ParcelStatus.HUB_RECEIVED if status is ParcelStatus.SORTED else status
    assert back.events[0].status is expected


@pytest.mark.parametrize("reason", list(FailureReason), ids=lambda r: r.value)
@pytest.mark.parametrize(
    "status", [ParcelStatus.FAILED_ATTEMPT, ParcelStatus.EXCEPTION, ParcelStatus.REFUSED], ids=str
)
def test_problem_codes_and_reasons_survive_the_round_trip(
    status: ParcelStatus, reason: FailureReason
) -> None:
    """Node 11 with the problemType we pick and the failReason text reads back as status and reason."""
    rendered = ADAPTER.render_event(_event(status, failure_reason=reason))
    back = _parse(rendered).events[0]
    assert (back.status, back.failure_reason) == (status, reason)
    assert back.raw_namespace == "problemType"


def test_problem_codes_we_write_map_back_to_their_status() -> None:
    """Every problemType we render for a status is one J&T's table files under that same status."""
    for status, by_reason in codes.PROBLEM_CODES.items():
        for code in (*by_reason.values(), codes.DEFAULT_PROBLEM[status]):
            assert codes.PROBLEMS[code][0] is status, code


def test_the_chinese_name_wins_over_a_number() -> None:
    """A known scanType name decides even when scanTypeCode holds an operations-system number."""
    event = _parse(_detail(scanType="快件揽收", scanTypeCode="10")).events[0]
    assert (event.status, event.raw_code, event.raw_namespace) == (
        ParcelStatus.PICKED_UP,
        "快件揽收",
        "scanType",
    )
    event = _parse(_detail(scanType="其它", traceNode=10)).events[0]
    assert (event.status, event.raw_code, event.raw_namespace) == (
        ParcelStatus.DELIVERED_RECIPIENT,
        "10",
        "traceNode",
    )


def test_nobody_home_is_told_from_unreachable_by_the_text() -> None:
    """A10 alone reads as unreachable (联系不上); with 收件人不在家 in failReason it is nobody home."""
    plain = _parse(_detail(scanType="问题件扫描", problemType="A10")).events[0]
    assert (plain.status, plain.failure_reason) == (ParcelStatus.FAILED_ATTEMPT, FailureReason.UNREACHABLE)
    text = _parse(_detail(scanType="问题件扫描", problemType="A10", failReason="收件人不在家")).events[0]
    assert text.failure_reason is FailureReason.NOBODY_HOME


def test_pickup_code_signature_is_node_9_and_station_fields_survive() -> None:
    """delivered_recipient with a pickup code is 出库扫描; site number, name and type come back."""
    event = _event(
        ParcelStatus.DELIVERED_RECIPIENT,
        pickup_code="3-2-117",
        site_no="KD-0042",
        site_name="青山村服务站",
        site_type=SiteType.STATION,
        signer="本人",
    )
    rendered = ADAPTER.render_event(event)
    detail = rendered["details"][0]  # type: ignore[index]
    assert (detail["scanType"], detail["scanTypeCode"]) == ("出库扫描", "9")
    back = _parse(rendered).events[0]
    assert back.status is ParcelStatus.DELIVERED_RECIPIENT
    assert (back.site_no, back.site_name, back.site_type) == ("KD-0042", "青山村服务站", SiteType.STATION)
    assert (back.pickup_code, back.signer) == ("3-2-117", "本人")


def test_envelopes_form_json_and_wrapped_json_read_the_same() -> None:
    """The form, the bare JSON and a JSON object holding bizContent as text give the same events."""
    bills = [_detail(scanType="到件扫描"), _detail(scanType="出仓扫描")]
    biz = json.dumps(bills, ensure_ascii=False)
    as_form = ADAPTER.parse_events(urlencode({"bizContent": biz}).encode(), FORM)
    as_json = ADAPTER.parse_events(biz.encode(), "application/json")
    wrapped = _parse({"bizContent": biz})
    assert as_form.events == as_json.events == wrapped.events
    assert [e.status for e in as_form.events] == [ParcelStatus.HUB_RECEIVED, ParcelStatus.OUT_FOR_DELIVERY]


def test_a_form_without_biz_content_is_a_payload_error() -> None:
    """A form push must carry bizContent; anything else cannot be read."""
    with pytest.raises(CarrierPayloadError):
        ADAPTER.parse_events(b"data=%7B%7D", FORM)


def test_statuses_without_a_scan_are_refused() -> None:
    """announced and cancelled have no J&T scan: rendering them is a payload error."""
    for status in (ParcelStatus.ANNOUNCED, ParcelStatus.CANCELLED):
        with pytest.raises(CarrierPayloadError):
            ADAPTER.render_event(_event(status))


VALUE = st.none() | st.integers() | st.floats() | st.text(max_size=12)
DETAIL = st.fixed_dictionaries(
    {},
    optional={
        name: VALUE | st.sampled_from([*codes.NAMES, *codes.NODES, *codes.PROBLEMS])
        for name in (*schema.DETAIL_FIELDS, "billCode", "details")
    },
)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(details=st.lists(DETAIL | VALUE, max_size=4), bill=VALUE, form=st.booleans())
def test_fuzz_structured_pushes(details: list[object], bill: object, form: bool) -> None:
    """Pushes shaped like J&T's, with arbitrary field values: a ParseResult, nothing raised."""
    biz = json.dumps([{"billCode": bill, "details": details}], ensure_ascii=False)
    raw = urlencode({"bizContent": biz}).encode() if form else biz.encode()
    result = ADAPTER.parse_events(raw, FORM if form else "application/json")
    assert result.records == len(result.events) + len({i.index for i in result.issues})
