"""Privacy-waybill masking (隐私面单) for every view meant for someone other than the data's owner.

The national e-waybill standard asks that at least one character of a name and at least six digits of
a phone number are hidden.
"""

from __future__ import annotations

MASK = "*"
MIN_HIDDEN_PHONE_DIGITS = 6
MAX_SHOWN_PHONE_DIGITS = 4


def mask_name(name: str) -> str:
    """Keep the first character (the family name, usually) and hide the rest; a 1-character name is hidden."""
    if len(name) <= 1:
        return MASK
    return name[0] + MASK * (len(name) - 1)


def mask_phone(phone: str) -> str:
    """Hide every digit but the last four, and always at least six digits; separators are dropped."""
    digits = [c for c in phone if c.isdigit()]
    shown = min(MAX_SHOWN_PHONE_DIGITS, max(0, len(digits) - MIN_HIDDEN_PHONE_DIGITS))
    hidden = max(len(digits) - shown, MIN_HIDDEN_PHONE_DIGITS)
    return MASK * hidden + "".join(digits[len(digits) - shown :] if shown else [])
