"""The Liaoning NBS tables for tests, read once, and small variations of them."""

from __future__ import annotations

import dataclasses
from functools import lru_cache
from pathlib import Path

import pytest

from dispatch.config import Settings
from dispatch.matching.gazetteer import Division, Gazetteer, Level, load_dir

GAZETTEER_DIR = Path(Settings().gazetteer_dir)  # type: ignore[call-arg]
KUANDIAN = "210624"  # 宽甸满族自治县: 179 village committees
HEPING = "210102"  # 和平区, 沈阳: another county of the province


@lru_cache(maxsize=1)
def liaoning() -> Gazetteer:
    if not (GAZETTEER_DIR / "villages.csv").is_file():
        pytest.fail(f"gazetteer not found at {GAZETTEER_DIR} (set GONGPEI_GAZETTEER_DIR)", pytrace=False)
    return load_dir(GAZETTEER_DIR)


def counties(*county_codes: str) -> Gazetteer:
    """A copy of the Liaoning tables holding only these counties (and their townships and villages)."""
    full = liaoning()
    subset = Gazetteer(source=f"{full.source} ({', '.join(county_codes)})")
    for division in full.divisions.values():
        if division.county_code in county_codes:
            subset.add(division)
    return subset


def changed(gazetteer: Gazetteer, code: str, **fields: object) -> Gazetteer:
    """A copy of ``gazetteer`` with one division's fields replaced."""
    copy = Gazetteer(divisions=dict(gazetteer.divisions), source=gazetteer.source)
    copy.divisions[code] = dataclasses.replace(copy.divisions[code], **fields)  # type: ignore[arg-type]
    return copy


def without(gazetteer: Gazetteer, *codes: str) -> Gazetteer:
    copy = Gazetteer(divisions=dict(gazetteer.divisions), source=gazetteer.source)
    for code in codes:
        del copy.divisions[code]
    return copy


def with_village(gazetteer: Gazetteer, *, code: str, name: str, kind: str = "village_committee") -> Gazetteer:
    """A copy with a new village under the township its code names."""
    township = gazetteer.divisions[code[:9]]
    copy = Gazetteer(divisions=dict(gazetteer.divisions), source=gazetteer.source)
    copy.add(
        Division(
            code=code,
            level=Level.VILLAGE,
            name=name,
            county_code=township.county_code,
            township_code=township.code,
            city_name=township.city_name,
            kind=kind,
        )
    )
    return copy


def village_committees(gazetteer: Gazetteer, county_code: str) -> list[Division]:
    return sorted(
        (
            d
            for d in gazetteer.villages()
            if d.county_code == county_code and d.kind == "village_committee" and not d.retired
        ),
        key=lambda d: d.code,
    )
