"""ZTO specifics: numbers in order records."""

from __future__ import annotations

import json

import pytest

from carriers.zto.adapter import ADAPTER


def _order(**fields: object) -> dict[str, object]:
    return {
        "billCode": "73123456789012",
        "receiveInfo": {
            "receiverName": "张三",
            "receiverMobile": "13800000000",
            "receiverAddress": "宽甸县青山村",
        },
        "weight": 1,
        **fields,
    }


@pytest.mark.parametrize(
    ("fields", "issue"),
    [
        ({"weight": "1e30"}, ("weight", "1E+30 kg is over the 500 kg limit for a parcel")),
        ({"weight": "1e999"}, ("weight", "1E+999 kg is over the 500 kg limit for a parcel")),
        ({"weight": "1e999999999"}, ("weight", "1E+999999999 kg is over the 500 kg limit for a parcel")),
        ({"weight": "-1e30"}, ("weight", "must be more than 0")),
        ({"weight": "NaN"}, ("weight", "must be a weight in kg")),
        ({"weight": "600"}, ("weight", "600 kg is over the 500 kg limit for a parcel")),
        ({"codAmount": "1e999999999"}, ("codAmount", "amount is out of range")),
    ],
)
def test_absurd_numbers_are_issues_not_decimal_errors(
    fields: dict[str, object], issue: tuple[str, str]
) -> None:
    """Regression: '1e30' weights let decimal.InvalidOperation (and '1e999999999' Overflow) escape."""
    body = json.dumps({"waybills": [_order(**fields)]}).encode()
    result = ADAPTER.parse_parcels(body, "application/json")
    assert result.parcels == ()
    assert [(i.field, i.reason) for i in result.issues] == [issue]
