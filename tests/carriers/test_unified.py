"""The unified parcel record: what it accepts, how it normalises, what it refuses."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from carriers.unified import MAX_WEIGHT_G, Parcel, normalise_phone


def _record(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "waybill_no": "YT1234567890123",
        "recipient": {"name": "张三", "phone": "13812345678"},
        "address": "辽宁省丹东市宽甸满族自治县青山沟镇青山村",
        "weight_g": 1200,
    }
    base.update(overrides)
    return base


def _fields(exc: ValidationError) -> set[str]:
    return {".".join(str(p) for p in e["loc"]) for e in exc.errors()}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13812345678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("0086-13812345678", "13812345678"),
        ("１３８１２３４５６７８", "13812345678"),  # full-width digits
        ("17012345678转1234", "17012345678-1234"),  # virtual number with extension
        ("0415-5123456", "0415-5123456"),  # landline with area code
        ("(0415)5123456", "04155123456"),
        ("138-0000-0013", "13800000013"),  # a mobile written in its groups
        ("138 0000 0013", "13800000013"),
        ("+86 138-0000-0013", "13800000013"),
        ("17012345678-1234", "17012345678-1234"),  # the hyphen before an extension stays
        ("170-1234-5678-1234", "17012345678-1234"),
        ("170 1234 5678转1234", "17012345678-1234"),
    ],
)
def test_phone_forms_normalise(raw: str, expected: str) -> None:
    """Mobiles, virtual numbers and landlines in their common written forms come out in one form."""
    assert normalise_phone(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "12345",
        "23812345678",
        "1381234567",
        "phone",
        "138123456789",
        "+1 415 555 0100",
        "1380-000-0013",  # not the 3-4-4 groups
        "138--0000-0013",
        "17012345678-1234567",  # extension too long
    ],
)
def test_wrong_phone_shapes_are_refused(raw: str) -> None:
    """Numbers of the wrong shape raise ValueError naming the accepted shapes."""
    with pytest.raises(ValueError, match="mainland mobile"):
        normalise_phone(raw)


def test_waybill_is_normalised_to_upper_case() -> None:
    """Full-width and lower-case waybills are stored in one canonical form."""
    assert Parcel.model_validate(_record(waybill_no=" ｙｔ1234567890123 ")).waybill_no == "YT1234567890123"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"weight_g": 0}, "weight_g"),
        ({"weight_g": MAX_WEIGHT_G + 1}, "weight_g"),
        ({"weight_g": "1200"}, "weight_g"),
        ({"weight_g": True}, "weight_g"),
        ({"weight_g": 12.5}, "weight_g"),
        ({"pieces": 0}, "pieces"),
        ({"cod_fen": -1}, "cod_fen"),
        ({"temperature": "hot"}, "temperature"),
        ({"direction": "sideways"}, "direction"),
        ({"address": "青山村\n3组"}, "address"),
        ({"address": "\u200b"}, "address"),
        ({"recipient": {"name": "张\x00三", "phone": "13812345678"}}, "recipient.name"),
        ({"waybill_no": "YT 123"}, "waybill_no"),
        ({"brand": "zto"}, "brand"),
        ({"status": "delivered_recipient"}, "status"),
        ({"promised_date": "tomorrow"}, "promised_date"),
    ],
)
def test_bad_fields_are_named(overrides: dict[str, object], field: str) -> None:
    """Each bad value is reported under its own field name."""
    with pytest.raises(ValidationError) as info:
        Parcel.model_validate(_record(**overrides))
    assert field in _fields(info.value)


def test_integral_float_is_an_integer() -> None:
    """JSON 1200.0 is the integer 1200 (JSON has one number type)."""
    assert Parcel.model_validate(_record(weight_g=1200.0)).weight_g == 1200


@given(st.text(max_size=80))
def test_address_validation_never_raises_anything_but_validation_error(text: str) -> None:
    """Any string as an address either validates (no control characters, trimmed) or is a ValidationError."""
    try:
        parcel = Parcel.model_validate(_record(address=text))
    except ValidationError:
        return
    assert parcel.address == parcel.address.strip()
    assert not any(ord(c) < 0x20 for c in parcel.address)


@given(st.text(max_size=24))
def test_phones_and_waybills_come_out_within_their_documented_lengths(text: str) -> None:
    """What the phone and waybill normalisers return is within the lengths the JSON schema documents."""
    schema = Parcel.model_json_schema()
    waybill = schema["properties"]["waybill_no"]
    phone = schema["$defs"]["Recipient"]["properties"]["phone"]
    assert (waybill["minLength"], waybill["maxLength"]) == (4, 40)
    assert (phone["minLength"], phone["maxLength"]) == (5, 32)
    try:
        parcel = Parcel.model_validate(_record(waybill_no=text, recipient={"name": "张三", "phone": text}))
    except ValidationError:
        return
    assert 4 <= len(parcel.waybill_no) <= 40
    assert 5 <= len(parcel.recipient.phone) <= 32


@pytest.mark.parametrize(
    "raw", ["13812345678\n", " 13812345678", "13812345678\x1f", "１３８１２３４５６７８"]
)
def test_mobiles_in_their_one_form_pass_unchanged_and_others_are_normalised(raw: str) -> None:
    """A mobile already in its one form comes back as it is; anything around it still goes through NFKC."""
    assert normalise_phone("13812345678") == "13812345678"
    assert normalise_phone(raw) == "13812345678"
