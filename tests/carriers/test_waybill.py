"""Waybill-number checks: the brand-pattern warning reads as English."""

from __future__ import annotations

import pytest

from carriers import registry


@pytest.mark.parametrize(
    ("code", "label"),
    [
        ("ems", "an EMS"),
        ("sf", "an SF"),
        ("sto", "an STO"),
        ("zto", "a ZTO"),
        ("yunda", "a Yunda"),
        ("jt", "a J&T"),
    ],
)
def test_pattern_warning_has_the_right_article(code: str, label: str) -> None:
    """The article follows how the brand is said: 'an EMS', 'an SF', but 'a ZTO'."""
    [(_severity, reason)] = registry.get(code).check_waybill("ABCD")
    assert reason == f"does not look like {label} waybill number"
