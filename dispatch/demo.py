"""Demo data for a first look: a county's day on the embedded defaults — one operator with a station per
village, three brands' parcels addressed to real villages (by API, by manifest file, by push), a fleet with
drivers, a wave planned and published, and a driver's manifest."""

from __future__ import annotations

import csv
import json
import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from carriers import registry
from carriers.base import ParseResult, beijing
from carriers.unified import Brand, ParcelStatus, TrackingEvent
from dispatch.accounts import service as accounts
from dispatch.config import Settings
from dispatch.db import Database
from dispatch.divisions.service import import_gazetteer
from dispatch.fleet import service as fleet
from dispatch.imports import service as imports
from dispatch.manifests import service as manifests
from dispatch.matching import service as matching
from dispatch.matching.gazetteer import load_dir
from dispatch.models import CarrierAccount, DispatcherUser, Driver, Operator, Parcel, UserRole, Vehicle
from dispatch.parcels import service as parcels
from dispatch.planning.waves import operator_cutoffs
from dispatch.plans import service as plans
from dispatch.stations.service import seed_village_stations
from dispatch.tracking import service as tracking

DEMO_OPERATOR_NAME = "宽甸共配中心 (demo)"
DEMO_COUNTY = "210624"  # 宽甸满族自治县, Dandong
_FALLBACK_VILLAGES = [("青山沟镇", "青山村"), ("灌水镇", "灌水村"), ("步达远镇", "步达远村")]
_SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗"
_GIVEN = "秀英桂兰玉兰建华志强海燕春梅国庆明军丽娜"


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
        if brand is Brand.YTO:
            waybill = f"YT{serial}"
        elif brand is Brand.STO:
            waybill = f"77{serial // 100}"
        else:
            waybill = f"7{rng.choice('3456')}{serial // 10}"
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


def _manifest(records: list[Any]) -> bytes:
    """The records as a YTO-style arrival manifest: GBK CSV with a title row and a totals row."""
    lines = ["圆通速递 到件清单（演示）,,,,,", "运单号,收件人,收件人电话,收件地址,重量(kg),大头笔"]
    for r in records:
        lines.append(
            f"{r['waybill_no']},{r['recipient']['name']},{r['recipient']['phone']},{r['address']},"
            f"{r['weight_g'] / 1000:.3f},{r['sort_hint']}"
        )
    lines.append(f"合计,,,,{sum(r['weight_g'] for r in records) / 1000:.3f},")
    return ("\r\n".join(lines) + "\r\n").encode("gbk")


def _arrival_push(records: list[Any]) -> bytes:
    """ZTO push traces: these parcels arrived at the county centre this morning."""
    now = datetime.now(UTC)
    traces = [
        {
            "billCode": r["waybill_no"],
            "action": "ARRIVAL",
            "actionTime": beijing(now - timedelta(minutes=len(records) - i)),
            "desc": "快件已到达【宽甸县共配中心】",
            "facilityCode": "KD-CENTER",
            "facilityName": "宽甸县共配中心",
        }
        for i, r in enumerate(records)
    ]
    return json.dumps(traces, ensure_ascii=False).encode()


def seed(database: Database, *, gazetteer_dir: Path, parcels_per_carrier: int = 40) -> dict[str, Any]:
    """The demo county: an operator, ZTO posting parcels by API and pushing scans, YTO uploading a manifest.

    Re-running reuses the operator and carriers and issues fresh API keys (keys are shown only once).
    """
    rng = random.Random(2026)
    villages = county_villages(gazetteer_dir, DEMO_COUNTY)
    out: dict[str, Any] = {"county_code": DEMO_COUNTY, "carriers": []}
    contexts: dict[Brand, accounts.CarrierContext] = {}
    with database.session_scope() as session:
        operator = session.execute(
            select(Operator).where(Operator.name == DEMO_OPERATOR_NAME)
        ).scalar_one_or_none()
        if operator is None:
            operator = accounts.create_operator(
                session, name=DEMO_OPERATOR_NAME, county_code=DEMO_COUNTY, timezone="Asia/Shanghai"
            )
        out["operator_id"] = str(operator.id)
        if (gazetteer_dir / "villages.csv").is_file():  # the county's villages, and a station for each
            import_gazetteer(session, load_dir(gazetteer_dir))
            seed_village_stations(session, operator_id=operator.id)
        desk_user = session.execute(
            select(DispatcherUser).where(
                DispatcherUser.operator_id == operator.id, DispatcherUser.username == "desk"
            )
        ).scalar_one_or_none()
        if desk_user is None:
            desk_user, desk_key = accounts.create_desk_user(session, operator_id=operator.id, username="desk")
        else:
            desk_key = accounts.issue_desk_key(session, user_id=desk_user.id)
        out["desk"] = {"user_id": str(desk_user.id), "api_key": desk_key.api_key}
        for brand in (Brand.ZTO, Brand.YTO, Brand.STO):
            account = session.execute(
                select(CarrierAccount).where(
                    CarrierAccount.operator_id == operator.id, CarrierAccount.brand == brand
                )
            ).scalar_one_or_none()
            if account is None:
                account, key = accounts.create_carrier(session, operator_id=operator.id, brand=brand)
            else:
                key = accounts.issue_key(session, carrier_id=account.id)
            contexts[brand] = accounts.CarrierContext(
                carrier_id=account.id, operator_id=operator.id, brand=brand, timezone=operator.timezone
            )
            out["carriers"].append(
                {"brand": brand.value, "carrier_id": str(account.id), "api_key": key.api_key}
            )

        zto_records = _records(Brand.ZTO, villages, parcels_per_carrier, rng)
        for record, hamlet in zip(zto_records[-3:], ("李家大屯", "王家沟门", "老爷岭"), strict=True):
            # Hamlets the gazetteer does not know: these wait in the desk's review queue.
            township = record["sort_hint"].split(" ")[-1]
            record["address"] = f"宽甸县{township}{hamlet}{rng.randrange(1, 9)}组"
        parcels.ingest(session, carrier=contexts[Brand.ZTO], records=zto_records)
        pushed = registry.get("zto").parse_events(
            _arrival_push(zto_records[: parcels_per_carrier // 2]), "application/json"
        )
        tracking.ingest(session, carrier=contexts[Brand.ZTO], result=pushed, actor="carrier:zto")

        yto_records = _records(Brand.YTO, villages, parcels_per_carrier, rng)
        upload = imports.create(
            session,
            carrier=contexts[Brand.YTO],
            filename="圆通到件清单.csv",
            content_type="text/csv",
            content=_manifest(yto_records),
        )
        upload_id = upload.id
    imports.process(database, upload_id)
    operator_id = uuid.UUID(out["operator_id"])
    matching.match_all_pending(database, operator_id)  # what the import's own matching did not reach
    with database.session_scope() as session:
        placed = session.execute(
            select(func.count()).where(Parcel.operator_id == operator_id, Parcel.station_id.is_not(None))
        ).scalar_one()
        waiting = session.execute(
            select(func.count()).where(Parcel.operator_id == operator_id, Parcel.station_id.is_(None))
        ).scalar_one()
    out["parcels"] = {"at_a_station": placed, "waiting_in_review": waiting}
    out["yto_manifest_report"] = f"/v1/parcels/files/{upload_id}"
    return out


DEMO_FLEET = (
    ("辽F·A1001", 1500, False, "张建国"),
    ("辽F·A1002", 1500, False, "李春生"),
    ("辽F·C2001", 1000, True, "王海燕"),
)


def day(
    database: Database,
    *,
    settings: Settings,
    operator_id: uuid.UUID,
    desk_user_id: uuid.UUID,
    time_limit_s: int = 5,
) -> dict[str, Any]:
    """The rest of the demo day: STO's parcels arrive too, every parcel is scanned in at the hub, the fleet
    gets its drivers, everything waiting is planned (for today, or tomorrow after the last cut-off),
    published, and the first driver's manifest is read back. Solved in this process (one core)."""
    rng = random.Random(7)
    villages = county_villages(settings.gazetteer_dir, DEMO_COUNTY)
    out: dict[str, Any] = {}
    with database.session_scope() as session:
        operator = session.get(Operator, operator_id)
        assert operator is not None
        carriers = {
            a.brand: a
            for a in session.execute(
                select(CarrierAccount).where(CarrierAccount.operator_id == operator_id)
            ).scalars()
        }
        sto = accounts.CarrierContext(
            carrier_id=carriers[Brand.STO].id,
            operator_id=operator_id,
            brand=Brand.STO,
            timezone=operator.timezone,
        )
        parcels.ingest(session, carrier=sto, records=_records(Brand.STO, villages, 30, rng))
        now = datetime.now(UTC)
        for account in carriers.values():
            waiting = list(
                session.execute(
                    select(Parcel.waybill_no).where(
                        Parcel.carrier_id == account.id, Parcel.status == ParcelStatus.ANNOUNCED
                    )
                ).scalars()
            )
            events = tuple(
                TrackingEvent(
                    waybill_no=w,
                    status=ParcelStatus.HUB_RECEIVED,
                    occurred_at=now - timedelta(minutes=30),
                    site_name="宽甸县共配中心",
                )
                for w in waiting
            )
            context = accounts.CarrierContext(
                carrier_id=account.id,
                operator_id=operator_id,
                brand=account.brand,
                timezone=operator.timezone,
            )
            scanned = ParseResult(events=events, event_index=tuple(range(len(events))), records=len(events))
            tracking.ingest(session, carrier=context, result=scanned, actor="hub:scan-in")
        drivers: list[dict[str, str]] = []
        for plate, kg, cold, name in DEMO_FLEET:
            vehicle = session.execute(
                select(Vehicle).where(Vehicle.operator_id == operator_id, Vehicle.plate_no == plate)
            ).scalar_one_or_none()
            if vehicle is None:
                vehicle = fleet.create_vehicle(
                    session, operator_id=operator_id, plate=plate, capacity_kg=kg, refrigerated=cold
                )
            driver = session.execute(
                select(Driver).where(Driver.operator_id == operator_id, Driver.vehicle_id == vehicle.id)
            ).scalar_one_or_none()
            if driver is None:
                driver, token = fleet.create_driver(
                    session,
                    operator_id=operator_id,
                    name=name,
                    vehicle_id=vehicle.id,
                    token_hours=settings.driver_token_hours,
                )
            else:
                token = fleet.issue_driver_token(
                    session, driver_id=driver.id, hours=settings.driver_token_hours
                )
            drivers.append(
                {"driver_id": str(driver.id), "name": name, "plate": plate, "token": token.api_key}
            )
        local_now = now.astimezone(ZoneInfo(operator.timezone))
        last_cutoff = operator_cutoffs(operator, settings)[-1]
        service_date = (
            local_now.date()
            if local_now.strftime("%H:%M") <= last_cutoff
            else local_now.date() + timedelta(days=1)
        )
        desk = accounts.DeskContext(
            user_id=desk_user_id,
            operator_id=operator_id,
            role=UserRole.DISPATCHER,
            timezone=operator.timezone,
        )
        plan = plans.create_plan(
            session, desk=desk, settings=settings, service_date=service_date, time_limit_s=time_limit_s
        )
        plan_id = plan.id
    plans.run_plan(database, plan_id, settings=settings, workers=1)
    with database.session_scope() as session:
        plan_row, made = manifests.publish(session, desk=desk, plan_id=plan_id, settings=settings)
        result = plan_row.result or {}
        out["plan"] = {
            "plan_id": str(plan_id),
            "service_date": service_date.isoformat(),
            "status": plan_row.status.value,
            "cost_fen": result.get("cost_fen"),
            "parcels": result.get("parcels"),
            "routes": [
                {
                    "plate": r["plate"],
                    "driver": r["driver_name"],
                    "stops": sum(len(t["stops"]) for t in r["trips"]),
                    "trips": len(r["trips"]),
                    "distance_km": round(r["distance_m"] / 1000, 1),
                    "cost_fen": r["cost_fen"],
                    "carrier_split_fen": r["carrier_split_fen"],
                }
                for r in result.get("routes", [])
            ],
            "unassigned": len(result.get("unassigned", [])),
            "not_batched": len(result.get("not_batched", [])),
        }
        on_route = {str(m.driver_id) for m in made}
        out["drivers"] = [d for d in drivers if d["driver_id"] in on_route] + [
            d for d in drivers if d["driver_id"] not in on_route
        ]
    return out


DEMO_CARRIER_TERMS: dict[str, Any] = {
    "delivery_fees": [
        {
            "zone": "*",
            "tiers": [
                {"up_to_g": 1000, "fee_fen": 120},
                {"up_to_g": 3000, "fee_fen": 160},
                {"up_to_g": None, "fee_fen": 260},
            ],
        }
    ],
    "pickup_fee_fen": 60,
    "cod_rate_bp": 50,
    "cold_surcharge_fen": 300,
    "share_route_cost": False,
}


def settle_day(
    database: Database, *, settings: Settings, operator_id: uuid.UUID, first_driver_token: str
) -> dict[str, Any]:
    """The day's accounts: contracts for every carrier (ZTO also shares route costs), one for all station
    keepers and one for all drivers; the first driver delivers their whole route from the phone; then the
    days from today to the plan's service day are settled (open statements) and summed up."""
    from dispatch.drivers import service as driver_events
    from dispatch.settlements import contracts
    from dispatch.settlements import service as settlements
    from dispatch.settlements.schemas import ContractIn

    with database.session_scope() as session:
        operator = session.get(Operator, operator_id)
        assert operator is not None
        start = today = datetime.now(UTC).astimezone(ZoneInfo(operator.timezone)).date()
        if not contracts.list_contracts(session, operator_id=operator_id):
            for account in session.execute(
                select(CarrierAccount).where(CarrierAccount.operator_id == operator_id)
            ).scalars():
                terms = {**DEMO_CARRIER_TERMS, "share_route_cost": account.brand is Brand.ZTO}
                contracts.create_contract(
                    session,
                    operator_id=operator_id,
                    body=ContractIn(party_kind="carrier", party_id=account.id, valid_from=start, terms=terms),
                )
            for kind, terms in (
                ("station", {"delivered_fen": 40, "picked_up_fen": 30}),
                ("driver", {"route_fixed_fen": 8_000, "per_km_fen": 120, "per_stop_fen": 150}),
            ):
                contracts.create_contract(
                    session,
                    operator_id=operator_id,
                    body=ContractIn.model_validate({"party_kind": kind, "valid_from": start, "terms": terms}),
                )
        driver = fleet.authenticate_driver(session, token=first_driver_token, device_id="demo-phone")
        manifest = manifests.current_manifest(session, driver=driver)
        numbers = [
            item["waybill_no"]
            for stop in manifest.content["stops"]
            for items in stop["deliveries_by_carrier"].values()
            for item in items
        ]
        at = datetime.now(UTC)
        events = [
            driver_events.DriverEventIn.model_validate(
                {
                    "event_id": str(uuid.uuid4()),
                    "waybill_no": number,
                    "type": "delivered",
                    "occurred_at": at.isoformat(),
                    "handover": {"to": "station", "consent": True},
                }
            )
            for number in numbers
        ]
        driver_events.record_events(session, driver=driver, events=events)
        last = max(today, manifest.service_date)
    with database.session_scope() as session:
        result = settlements.settle(
            session, operator_id=operator_id, first=start, last=last, settings=settings
        )
        totals: dict[str, int] = {}
        carriers: dict[str, int] = {}
        for statement in result.statements:
            kind = statement.party_kind.value
            totals[kind] = totals.get(kind, 0) + statement.total_fen
            if kind == "carrier":
                carriers[statement.party_name or str(statement.party_id)] = statement.total_fen
        return {
            "from": start.isoformat(),
            "to": last.isoformat(),
            "delivered_by_first_driver": len(numbers),
            "statements": len(result.statements),
            "total_fen_by_party_kind": totals,
            "carrier_total_fen": carriers,
        }
