"""Helpers every adapter shares: numbers in kg and yuan, free-text reasons, pickup codes and signers."""

from __future__ import annotations

import contextlib
import gc
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carriers import registry
from carriers.base import (
    CarrierPayloadError,
    FailureTexts,
    RecordBuilder,
    collection_paused,
    decimal_of,
    kg_to_grams,
    mentions,
    pickup_code_in,
    signer_in,
    with_region,
    yuan_to_fen,
)
from carriers.unified import FailureReason

ABSURD = ["1e30", "1e999", "1e999999999", "-1e999999999", "NaN", "-inf", "Infinity", "sNaN", "1e", "", True]


@pytest.mark.parametrize(
    ("value", "grams"),
    [
        ("1.2345", 1235),  # half up, not half even
        ("1.2335", 1234),
        (0.5, 500),
        (2, 2000),
        ("1,200.5", 1_200_500),  # thousands grouped by commas
        ("0.0004", 0),
        ("1e-999999999", 0),
        (Decimal("0.50049999999999999999999999999"), 500),  # one rounding, from the exact value
    ],
)
def test_kg_to_grams_is_exact_and_rounds_half_up(value: object, grams: int) -> None:
    """Kilograms become whole grams, rounded once and half up, whatever the number of digits."""
    assert kg_to_grams(value) == grams


def test_grams_can_be_read_as_given() -> None:
    """With unit="g" the value is already in grams and only rounded."""
    assert kg_to_grams("1500.5", unit="g") == 1501
    assert kg_to_grams("600000", unit="g") == 600_000


@pytest.mark.parametrize("value", ABSURD)
def test_absurd_numbers_are_value_errors_never_decimal_errors(value: object) -> None:
    """Huge exponents, NaN, infinity and non-numbers raise ValueError (InvalidOperation is not one)."""
    for convert in (kg_to_grams, yuan_to_fen, lambda v: decimal_of(v, unit="cm³")):
        with pytest.raises(ValueError):  # noqa: PT011 - any reason, as long as it is a ValueError
            convert(value)


def test_huge_weights_are_named_over_the_limit() -> None:
    """A weight too large to compute with is reported as over the limit, in the kilograms given."""
    with pytest.raises(ValueError, match=r"^1E\+30 kg is over the 500 kg limit for a parcel$"):
        kg_to_grams("1e30")
    with pytest.raises(ValueError, match="must be more than 0"):
        kg_to_grams("-1e30")
    assert kg_to_grams("600") == 600_000  # within reach: validation names the limit, not the converter


@pytest.mark.parametrize(
    ("value", "fen"), [("12.34", 1234), (5, 500), ("0.1", 10), ("1,234.50", 123_450), ("-3", -300)]
)
def test_yuan_to_fen_is_exact(value: object, fen: int) -> None:
    """Yuan become exact fen."""
    assert yuan_to_fen(value) == fen


@pytest.mark.parametrize("value", ["12.345", "0.001", "1e-999999999", "1,5"])
def test_sub_fen_amounts_and_ambiguous_commas_are_refused(value: str) -> None:
    """More than two decimals (however small) and a comma that is not a thousands separator are errors."""
    with pytest.raises(ValueError, match="must be an amount in yuan"):
        yuan_to_fen(value)


@given(st.text(max_size=30) | st.floats() | st.integers())
def test_conversions_only_raise_value_error(value: object) -> None:
    """Any text or number: an integer or a ValueError, nothing else."""
    for convert in (kg_to_grams, yuan_to_fen):
        with contextlib.suppress(ValueError):
            assert isinstance(convert(value), int)


def test_over_weight_records_name_the_limit_in_kg() -> None:
    """A unified record over 500 kg is reported in kg under the carrier's weight field."""
    builder = RecordBuilder(field_names={"weight_g": "weight"})
    record = {
        "waybill_no": "73123456789012",
        "recipient": {"name": "张三", "phone": "13800000000"},
        "address": "宽甸县青山沟镇",
        "weight_g": 600_500,
    }
    assert builder.add(0, record) is None
    assert [(i.field, i.reason) for i in builder.issues] == [
        ("weight", "600.5 kg is over the 500 kg limit for a parcel")
    ]


TEXTS = FailureTexts(
    {FailureReason.NOBODY_HOME: "收件人不在", FailureReason.OTHER: "其他原因"},
    (("拒", FailureReason.REFUSED), ("电话", FailureReason.UNREACHABLE)),
)


def test_failure_phrases_win_over_keywords() -> None:
    """A text starting with a phrase is that phrase's reason; otherwise the first keyword found decides."""
    assert TEXTS.reason("收件人不在，电话关机") is FailureReason.NOBODY_HOME
    assert TEXTS.reason("客户电话关机") is FailureReason.UNREACHABLE
    assert TEXTS.reason("天气原因") is None
    assert TEXTS.reason(None, "客户拒收") is FailureReason.REFUSED
    assert TEXTS.reason("客户拒收", "收件人不在") is FailureReason.NOBODY_HOME  # phrases in any text first


def test_failure_texts_write_and_read_back() -> None:
    """What ``write`` puts out, ``read`` takes apart again; other text is read by keywords and kept whole."""
    written = TEXTS.write(FailureReason.NOBODY_HOME, "约明天")
    assert written == "收件人不在：约明天"
    assert TEXTS.read(written) == (FailureReason.NOBODY_HOME, "约明天")
    assert TEXTS.read("收件人不在") == (FailureReason.NOBODY_HOME, None)
    assert TEXTS.read("客户拒收快件") == (FailureReason.REFUSED, "客户拒收快件")
    assert TEXTS.read("天气原因") == (FailureReason.OTHER, "天气原因")
    assert TEXTS.read(None) == (FailureReason.OTHER, None)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("已到青山村服务站，取件码：3-2-117，请及时取件", "3-2-117"),
        ("取货码 880231", "880231"),
        ("快件已放入丰巢柜，提货码:A12B", "A12B"),
        ("取件号为 77-1", "77-1"),
        ("取件码是8827。", "8827"),
        ("已签收", None),
        (None, None),
    ],
)
def test_pickup_codes_in_free_text(text: str | None, code: str | None) -> None:
    """Every brand's wording of a pickup code is found; text without one gives None."""
    assert pickup_code_in(text) == code


def test_signers_and_agent_words_in_free_text() -> None:
    """签收人 names the signer up to the next punctuation; agent words are found in any of the texts."""
    assert signer_in("已签收，签收人：本人，感谢使用") == "本人"
    assert signer_in("签收人是 门卫") == "门卫"
    assert signer_in("已签收") is None
    assert mentions(("代收", "代签"), None, "已由驿站代收")
    assert not mentions(("代收",), "本人签收", None)


def test_region_parts_go_in_front_unless_named() -> None:
    """Province, city and district are put before the address, except those it already contains."""
    assert with_region("青山沟镇青山村", "辽宁省", "丹东市", None) == "辽宁省丹东市青山沟镇青山村"
    assert with_region("丹东市宽甸县青山村", "辽宁省", "丹东市") == "辽宁省丹东市宽甸县青山村"
    assert with_region(None, "辽宁省") == "辽宁省"


def test_the_collector_is_held_off_only_while_a_payload_is_read() -> None:
    """Reading pauses the cyclic collector and turns it on again afterwards, also for a refused payload."""
    adapter = registry.get("zto")
    seen: list[bool] = []
    with collection_paused():
        seen.append(gc.isenabled())
    assert seen == [False]
    assert gc.isenabled()
    adapter.parse_parcels(b'{"waybills": [{"billCode": "73000000000001"}]}', "application/json")
    adapter.parse_parcels("运单号,收件人,收件人电话,收件地址,重量\n7300,张三,1,地址,1\n".encode(), "text/csv")
    assert gc.isenabled()
    for refused in (b"{", b"\xff", b"[" * 100_000):
        with pytest.raises(CarrierPayloadError):
            adapter.parse_parcels(refused, "application/json")
        assert gc.isenabled()
    with pytest.raises(CarrierPayloadError):
        adapter.parse_parcels("运单号\n1\n".encode(), "text/csv")
    assert gc.isenabled()


def test_a_collector_turned_off_by_the_application_stays_off() -> None:
    """A payload read while the application has the collector off leaves it off."""
    gc.disable()
    try:
        registry.get("zto").parse_parcels(b'{"waybills": []}', "application/json")
        with collection_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
