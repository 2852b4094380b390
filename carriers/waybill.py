"""Waybill-number checks: brand patterns (hints only) and the UPU S10 check digit (a hard rule).

Public pattern collections disagree for most brands and pure-digit numbers collide across brands, so a
pattern mismatch is only a warning; the brand always comes from the authenticated account.
"""

from __future__ import annotations

import re

from carriers.base import Severity

_S10 = re.compile(r"^([A-Z]{2})(\d{8})(\d)([A-Z]{2})$")
_S10_LENGTH = 13
_S10_WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)
_S10_RESERVED_FIRST = frozenset("JKSTW")
_VOWEL_SOUND_LETTERS = frozenset("AEFHILMNORSX")  # letters whose spoken name starts with a vowel: "an SF"


def s10_check_digit(serial: str) -> int:
    """The UPU S10 check digit of an 8-digit serial: 11 − (Σ wᵢdᵢ mod 11), 10 → 0, 11 → 5."""
    if len(serial) != 8 or not serial.isdigit():
        raise ValueError("an S10 serial is 8 digits")
    check = 11 - sum(w * int(d) for w, d in zip(_S10_WEIGHTS, serial, strict=True)) % 11
    return {10: 0, 11: 5}.get(check, check)


def is_s10(waybill_no: str) -> bool:
    return _S10.fullmatch(waybill_no) is not None


def check_s10(waybill_no: str) -> list[tuple[Severity, str]]:
    """Errors for an S10-shaped number whose check digit is wrong; [] for a good one or another shape."""
    if len(waybill_no) != _S10_LENGTH:  # most numbers are not S10 numbers; their length tells at once
        return []
    match = _S10.fullmatch(waybill_no)
    if match is None:
        return []
    indicator, serial, digit, _country = match.groups()
    issues: list[tuple[Severity, str]] = []
    expected = s10_check_digit(serial)
    if int(digit) != expected:
        issues.append((Severity.ERROR, f"S10 check digit is {digit}, expected {expected}"))
    if indicator[0] in _S10_RESERVED_FIRST:
        issues.append((Severity.WARNING, f"S10 service indicator {indicator} starts with a reserved letter"))
    return issues


def check_pattern(waybill_no: str, pattern: re.Pattern[str], *, label: str) -> list[tuple[Severity, str]]:
    """A warning when the number does not look like ``label``'s; numbers are hints, never proof."""
    if pattern.fullmatch(waybill_no):
        return []
    return [(Severity.WARNING, f"does not look like {_article(label)} {label} waybill number")]


def _article(label: str) -> str:
    """'an' before a label said with a vowel sound (an EMS, an SF, an STO), 'a' otherwise (a ZTO, a Yunda)."""
    first = label[:1]
    spelled = label.isupper()  # an abbreviation is read letter by letter
    vowel = first in _VOWEL_SOUND_LETTERS if spelled else first.upper() in "AEIO"
    return "an" if vowel else "a"
