"""Privacy-waybill masks: at least six phone digits and one name character are always hidden."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from dispatch.privacy import mask_name, mask_phone


def test_examples() -> None:
    """Known inputs give the expected masks."""
    assert mask_phone("13812345678") == "*******5678"
    assert mask_phone("17012345678-1234") == "***********1234"
    assert mask_phone("0415-5123456") == "*******3456"
    assert mask_phone("12345") == "******"
    assert mask_name("王秀英") == "王**"
    assert mask_name("王") == "*"


@given(st.text(alphabet="0123456789-+ ", min_size=0, max_size=24))
def test_phone_mask_hides_at_least_six_digits(phone: str) -> None:
    """Whatever the number, ≥ 6 digits are hidden and at most the last four shown."""
    masked = mask_phone(phone)
    digits = [c for c in phone if c.isdigit()]
    shown = [c for c in masked if c.isdigit()]
    assert masked.count("*") >= 6
    assert len(shown) <= 4
    assert len(shown) <= max(0, len(digits) - 6)
    assert shown == digits[len(digits) - len(shown) :]


@given(st.text(min_size=1, max_size=20))
def test_name_mask_hides_at_least_one_character(name: str) -> None:
    """A masked name keeps its length and hides every character after the first (all of a 1-char name)."""
    masked = mask_name(name)
    assert len(masked) == len(name)
    assert masked.count("*") >= 1
    assert masked[1:] == "*" * (len(name) - 1)
