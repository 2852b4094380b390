"""Demo data for a first look: one county operator, two carriers, parcels addressed to real villages."""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from carriers.unified import Brand
from dispatch.accounts import service as accounts
from dispatch.models import CarrierAccount, Operator
from dispatch.parcels import service as parcels

DEMO_OPERATOR_NAME = "宽甸共配中心 (demo)"
DEMO_COUNTY = "210624"  # 宽甸满族自治县, Dandong
_FALLBACK_VILLAGES = [("青山沟镇", "青山村"), ("灌水镇", "灌水村"), ("步达远镇", "步达远村")]
_SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗"
_GIVEN = "秀英桂兰玉兰建华志强海燕春梅国庆明军丽娜"
_PREFIX = {Brand.ZTO: "7", Brand.YTO: "YT"}


@dataclass(frozen=True, slots=True)
class DemoCarrier:
    brand: str
    carrier_id: str
    api_key: str


def county_name(gazetteer_dir: Path, county_code: str) -> str | None:
    """The county's name from the NBS tables, or None when the code is unknown or the tables are absent."""
    path = gazetteer_dir / "counties.csv"
    if not path.is_file():
        return None
    with path.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["county_code"] == county_code:
                return row["name"]
    return None


def county_villages(gazetteer_dir: Path, county_code: str) -> list[tuple[str, str]]:
    path = gazetteer_dir / "villages.csv"
    if not path.is_file():
        return _FALLBACK_VILLAGES
    with path.open(encoding="utf-8") as handle:
        found = [
            (row["township_name"], row["name"])
            for row in csv.DictReader(handle)
            if row["county_code"] == county_code and row["kind"] == "village_committee"
        ]
    return found or _FALLBACK_VILLAGES


def _records(brand: Brand, villages: list[tuple[str, str]], count: int, rng: random.Random) -> list[Any]:
    records: list[Any] = []
    for _ in range(count):
        township, village = rng.choice(villages)
        serial = rng.randrange(10**12, 10**13)
        waybill = f"{_PREFIX[brand]}{serial}" if brand is Brand.YTO else f"7{rng.choice('3456')}{serial}"
        records.append(
            {
                "waybill_no": waybill,
                "recipient": {
                    "name": rng.choice(_SURNAMES) + "".join(rng.sample(_GIVEN, 2)),
                    "phone": f"1{rng.choice('3589')}{rng.randrange(10**8, 10**9)}",
                },
                "address": f"辽宁省丹东市宽甸满族自治县{township}{village}{rng.randrange(1, 12)}组",
                "weight_g": rng.randrange(200, 15000),
                "pieces": 1,
                "sort_hint": f"宽甸 {township}",
                "temperature": rng.choice(["ambient"] * 9 + ["chilled"]),
            }
        )
    return records


def seed(session: Session, *, gazetteer_dir: Path, parcels_per_carrier: int = 40) -> dict[str, Any]:
    """Create (or reuse) the demo operator and carriers, issue fresh keys, and post demo parcels."""
    operator = session.execute(
        select(Operator).where(Operator.name == DEMO_OPERATOR_NAME)
    ).scalar_one_or_none()
    if operator is None:
        operator = accounts.create_operator(
            session, name=DEMO_OPERATOR_NAME, county_code=DEMO_COUNTY, timezone="Asia/Shanghai"
        )
    rng = random.Random(2026)
    villages = county_villages(gazetteer_dir, DEMO_COUNTY)
    carriers: list[DemoCarrier] = []
    for brand in (Brand.ZTO, Brand.YTO):
        account = session.execute(
            select(CarrierAccount).where(
                CarrierAccount.operator_id == operator.id, CarrierAccount.brand == brand
            )
        ).scalar_one_or_none()
        if account is None:
            account, key = accounts.create_carrier(session, operator_id=operator.id, brand=brand)
        else:
            key = accounts.issue_key(session, carrier_id=account.id)
        context = accounts.CarrierContext(
            carrier_id=account.id, operator_id=operator.id, brand=brand, timezone=operator.timezone
        )
        parcels.ingest(session, carrier=context, records=_records(brand, villages, parcels_per_carrier, rng))
        carriers.append(DemoCarrier(brand=brand.value, carrier_id=str(account.id), api_key=key.api_key))
    return {
        "operator_id": str(operator.id),
        "county_code": DEMO_COUNTY,
        "carriers": [_asdict(c) for c in carriers],
    }


def _asdict(carrier: DemoCarrier) -> dict[str, str]:
    return {"brand": carrier.brand, "carrier_id": carrier.carrier_id, "api_key": carrier.api_key}
