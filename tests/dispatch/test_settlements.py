"""Contracts, settlement and statements on PostgreSQL: exact fees, route shares, immutability, isolation."""

from __future__ import annotations

import csv
import io
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from fractions import Fraction
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from carriers.unified import Brand, Direction, ParcelStatus, Temperature
from dispatch.errors import Conflict
from dispatch.fleet import service as fleet
from dispatch.models import CarrierAccount, Manifest, Parcel, Plan, PlanStatus, StatementItem, Station
from dispatch.settlements import service
from dispatch.tracking.service import move_statuses
from routing.split import largest_remainder
from tests.builders import DeskUser, Tenant, make_desk_user, make_tenant, waybill
from tests.conftest import settings_for

ZONE = "Asia/Shanghai"
NEAR_TOWNSHIP = "210624100"
FAR_TOWNSHIP = "210624200"

CARRIER_TERMS: dict[str, Any] = {
    "zone_by": "township",
    "zones": [{"zone": "near", "townships": [NEAR_TOWNSHIP]}],
    "delivery_fees": [
        {"zone": "near", "tiers": [{"up_to_g": 1000, "fee_fen": 100}, {"up_to_g": None, "fee_fen": 150}]},
        {"zone": "*", "tiers": [{"up_to_g": 1000, "fee_fen": 130}, {"up_to_g": None, "fee_fen": 200}]},
    ],
    "pickup_fee_fen": 80,
    "cod_rate_bp": 50,
    "cold_surcharge_fen": 300,
}


@dataclass
class World:
    desk: DeskUser
    zto: Tenant
    yto: Tenant
    station: uuid.UUID
    other_station: uuid.UUID


def _world(session: Session) -> World:
    desk = make_desk_user(session)
    zto = make_tenant(session, operator_id=desk.operator_id, brand=Brand.ZTO)
    yto = make_tenant(session, operator_id=desk.operator_id, brand=Brand.YTO)
    stations = []
    for name in ("青山村服务站", '=HYPERLINK("http://x")站'):
        row = Station(operator_id=desk.operator_id, name=name, village_code=None)
        session.add(row)
        stations.append(row)
    session.flush()
    return World(desk, zto, yto, stations[0].id, stations[1].id)


def _at(day: str, hour: int = 10) -> datetime:
    """``hour`` o'clock on ``day`` in the operator's zone, as UTC."""
    local = datetime.fromisoformat(f"{day}T{hour:02d}:00:00+08:00")
    return local.astimezone(UTC)


def _parcel(
    session: Session,
    tenant: Tenant,
    *,
    done: str | None,
    weight_g: int = 800,
    pieces: int = 1,
    township: str | None = NEAR_TOWNSHIP,
    station: uuid.UUID | None = None,
    cod_fen: int = 0,
    temperature: Temperature = Temperature.AMBIENT,
    direction: Direction = Direction.DELIVERY,
    hour: int = 10,
) -> Parcel:
    parcel = Parcel(
        operator_id=tenant.operator_id,
        carrier_id=tenant.carrier_id,
        brand=tenant.brand,
        waybill_no=waybill(),
        direction=direction,
        recipient_name="王秀英",
        recipient_phone="13812345678",
        address_text="宽甸县青山沟镇青山村",
        township_code=township,
        station_id=station,
        weight_g=weight_g,
        pieces=pieces,
        temperature=temperature,
        cod_fen=cod_fen,
        status=ParcelStatus.DELIVERED_RECIPIENT if done else ParcelStatus.OUT_FOR_DELIVERY,
        status_at=_at(done, hour) if done else None,
        done_at=_at(done, hour) if done else None,
    )
    session.add(parcel)
    session.flush()
    return parcel


def _contract(client: TestClient, desk: DeskUser, body: dict[str, Any], status: int = 201) -> dict[str, Any]:
    resp = client.post("/v1/contracts", json=body, headers=desk.auth)
    assert resp.status_code == status, resp.text
    return dict(resp.json())


def _carrier_contract(client: TestClient, w: World, tenant: Tenant, **terms: Any) -> dict[str, Any]:
    return _contract(
        client,
        w.desk,
        {
            "party_kind": "carrier",
            "party_id": str(tenant.carrier_id),
            "valid_from": "2026-11-01",
            "terms": {**CARRIER_TERMS, **terms},
        },
    )


def _settle(session: Session, w: World, first: str, last: str, **kw: Any) -> service.SettleResult:
    return service.settle(
        session,
        operator_id=w.desk.operator_id,
        first=date.fromisoformat(first),
        last=date.fromisoformat(last),
        settings=settings_for("sqlite://"),
        **kw,
    )


def _of(result: service.SettleResult, kind: str, party: uuid.UUID) -> Any:
    found = [s for s in result.statements if s.party_kind.value == kind and s.party_id == party]
    assert len(found) == 1, [(s.party_kind, s.party_id) for s in result.statements]
    return found[0]


def _lines(session: Session, statement: Any) -> list[dict[str, Any]]:
    return list(service.statement_view(statement, service.statement_lines(session, statement.id))["lines"])


def _items(session: Session, line_id: int) -> dict[uuid.UUID | None, int]:
    rows = session.execute(
        select(StatementItem.parcel_id, StatementItem.manifest_id, StatementItem.amount_fen).where(
            StatementItem.line_id == line_id
        )
    )
    return {p or m: a for p, m, a in rows}


def test_fees_follow_zone_weight_tier_pieces_cod_cold_and_pickup(
    client: TestClient, db_session: Session
) -> None:
    """Each parcel is priced by its zone and weight per piece; COD by basis points rounded half up; cold and
    pickups per piece; every line is the sum of its parcels and the statement the sum of its lines."""
    w = _world(db_session)
    _carrier_contract(client, w, w.zto)
    light_near = _parcel(db_session, w.zto, done="2026-11-10", weight_g=900)
    heavy_far = _parcel(db_session, w.zto, done="2026-11-10", weight_g=2500, township=FAR_TOWNSHIP)
    two_light = _parcel(db_session, w.zto, done="2026-11-10", weight_g=1800, pieces=2)  # 900 g a piece
    cod = _parcel(db_session, w.zto, done="2026-11-10", cod_fen=12_345)  # 0.5 % = 61.725 → 62
    cold = _parcel(db_session, w.zto, done="2026-11-10", temperature=Temperature.FROZEN)
    produce = _parcel(db_session, w.zto, done="2026-11-10", direction=Direction.PICKUP, pieces=3)
    _parcel(db_session, w.zto, done=None)  # not done: not billed
    _parcel(db_session, w.zto, done="2026-11-11")  # outside the period

    result = _settle(db_session, w, "2026-11-10", "2026-11-10")
    statement = _of(result, "carrier", w.zto.carrier_id)
    lines = {(ln["kind"], ln["rate_key"]): ln for ln in _lines(db_session, statement)}
    near = lines[("delivery_fee", "zone=near;up_to_g=1000")]
    assert (near["quantity"], near["unit_fen"], near["amount_fen"]) == (1 + 2 + 1 + 1, 100, 500)
    assert _items(db_session, near["line_id"]) == {
        light_near.id: 100,
        two_light.id: 200,
        cod.id: 100,
        cold.id: 100,
    }
    far = lines[("delivery_fee", "zone=*;up_to_g=+")]
    assert _items(db_session, far["line_id"]) == {heavy_far.id: 200}
    assert _items(db_session, lines[("cod_fee", "bp=50")]["line_id"]) == {cod.id: 62}
    assert _items(db_session, lines[("cold_surcharge", "per_piece")]["line_id"]) == {cold.id: 300}
    assert _items(db_session, lines[("pickup_fee", "per_piece")]["line_id"]) == {produce.id: 240}
    assert statement.total_fen == 500 + 200 + 62 + 300 + 240 == sum(ln["amount_fen"] for ln in lines.values())
    assert result.parcels == 6


def test_the_version_valid_on_the_service_day_prices_it(client: TestClient, db_session: Session) -> None:
    """A new version ends the open-ended one the day before it starts; each day is priced by its own."""
    w = _world(db_session)
    first = _carrier_contract(client, w, w.zto)
    second = _contract(
        client,
        w.desk,
        {
            "party_kind": "carrier",
            "party_id": str(w.zto.carrier_id),
            "valid_from": "2026-11-16",
            "terms": {
                **CARRIER_TERMS,
                "delivery_fees": [{"zone": "*", "tiers": [{"up_to_g": None, "fee_fen": 90}]}],
                "zones": [],
            },
        },
    )
    assert second["version"] == first["version"] + 1
    listed = client.get("/v1/contracts", params={"party_kind": "carrier"}, headers=w.desk.auth).json()[
        "items"
    ]
    assert [(c["version"], c["valid_to"]) for c in listed] == [(1, "2026-11-15"), (2, None)]
    early = _parcel(db_session, w.zto, done="2026-11-15", hour=23)  # 23:00 local is still the 15th
    late = _parcel(db_session, w.zto, done="2026-11-16", hour=0)
    statement = _of(_settle(db_session, w, "2026-11-01", "2026-11-30"), "carrier", w.zto.carrier_id)
    by_day = {(ln["service_date"], ln["contract_id"]): ln for ln in _lines(db_session, statement)}
    assert _items(db_session, by_day[("2026-11-15", first["contract_id"])]["line_id"]) == {early.id: 100}
    assert _items(db_session, by_day[("2026-11-16", second["contract_id"])]["line_id"]) == {late.id: 90}


def test_overlapping_bad_and_foreign_contracts_are_refused(client: TestClient, db_session: Session) -> None:
    """Overlap → 409 naming valid_from; a negative rate or an unordered tier → 422 naming the field; another
    operator's carrier → 422; a refused contract leaves the others as they were."""
    w = _world(db_session)
    body = {
        "party_kind": "carrier",
        "party_id": str(w.zto.carrier_id),
        "valid_from": "2026-11-01",
        "valid_to": "2026-11-30",
        "terms": CARRIER_TERMS,
    }
    _contract(client, w.desk, body)
    clash = _contract(client, w.desk, {**body, "valid_from": "2026-11-20", "valid_to": None}, status=409)
    assert clash["errors"][0]["field"] == "valid_from"
    negative = {**CARRIER_TERMS, "pickup_fee_fen": -1}
    bad = _contract(
        client, w.desk, {**body, "valid_from": "2026-12-01", "valid_to": None, "terms": negative}, 422
    )
    assert bad["errors"][0]["field"] == "terms.pickup_fee_fen"
    unordered = {
        **CARRIER_TERMS,
        "delivery_fees": [
            {
                "zone": "*",
                "tiers": [
                    {"up_to_g": 2000, "fee_fen": 1},
                    {"up_to_g": 1000, "fee_fen": 1},
                    {"up_to_g": None, "fee_fen": 1},
                ],
            }
        ],
        "zones": [],
    }
    bad = _contract(client, w.desk, {**body, "valid_from": "2026-12-01", "terms": unordered}, 422)
    assert bad["errors"][0]["field"].startswith("terms.delivery_fees")
    stranger = make_tenant(db_session)
    foreign = _contract(
        client,
        w.desk,
        {**body, "party_id": str(stranger.carrier_id), "valid_from": "2027-01-01", "valid_to": None},
        422,
    )
    assert foreign["errors"][0]["field"] == "party_id"
    backwards = _contract(client, w.desk, {**body, "valid_from": "2027-01-05", "valid_to": "2027-01-01"}, 422)
    assert backwards["errors"][0]["field"] == "valid_to"
    listed = client.get("/v1/contracts", headers=w.desk.auth).json()["items"]
    assert [(c["valid_from"], c["valid_to"]) for c in listed] == [("2026-11-01", "2026-11-30")]


def _account_opened(session: Session, tenant: Tenant, day: str) -> None:
    session.execute(
        update(CarrierAccount).where(CarrierAccount.id == tenant.carrier_id).values(created_at=_at(day, 0))
    )


@pytest.mark.parametrize(
    ("first", "last", "by"),
    [
        ("2026-11-01", "2026-11-30", "period"),
        ("2026-11-01", "2026-11-30", "week"),
        ("2026-11-01", "2026-11-30", "day"),
        ("2026-11-16", "2026-11-30", "period"),  # the month's first half was settled before, or never
    ],
)
def test_monthly_minimum_tops_up_the_whole_month_on_its_last_day(
    client: TestClient, db_session: Session, first: str, last: str, by: str
) -> None:
    """However the month is cut into statements, its fees (all of them, days before the range included)
    are topped up to the minimum once, on the statement holding the month's last day; a month still going
    on gets none."""
    w = _world(db_session)
    _account_opened(db_session, w.zto, "2026-10-01")
    _carrier_contract(client, w, w.zto, monthly_minimum_fen=10_000)
    _parcel(db_session, w.zto, done="2026-11-03")  # 100 fen of fees
    _parcel(db_session, w.zto, done="2026-11-20")  # 100 more
    result = _settle(db_session, w, first, last, by=by)
    topups = [
        (s.period_to, ln["amount_fen"], ln["detail"]["fees_fen"])
        for s in result.statements
        for ln in _lines(db_session, s)
        if ln["kind"] == "monthly_minimum"
    ]
    assert topups == [(date(2026, 11, 30), 9_800, 200)]
    ongoing = _settle(db_session, w, "2026-12-01", "2026-12-07")
    assert all(ln["kind"] != "monthly_minimum" for s in ongoing.statements for ln in _lines(db_session, s))


def test_monthly_minimum_is_prorated_from_the_accounts_start_and_spares_removed_carriers(
    client: TestClient, db_session: Session
) -> None:
    """A carrier that joined on the 16th owes half November's minimum; a deactivated one owes none and
    gets no empty statement."""
    w = _world(db_session)
    _account_opened(db_session, w.zto, "2026-11-16")
    _account_opened(db_session, w.yto, "2026-10-01")
    for tenant in (w.zto, w.yto):
        _carrier_contract(client, w, tenant, monthly_minimum_fen=9_000)
    db_session.execute(
        update(CarrierAccount).where(CarrierAccount.id == w.yto.carrier_id).values(active=False)
    )
    result = _settle(db_session, w, "2026-11-01", "2026-11-30")
    assert [(s.party_id, s.total_fen) for s in result.statements] == [(w.zto.carrier_id, 4_500)]


def test_statements_never_overlap(client: TestClient, db_session: Session) -> None:
    """Settling a week inside a settled month replaces the month's open statements, so no parcel is on
    two; inside a closed month it is a 409 naming from, through the API too."""
    w = _world(db_session)
    _carrier_contract(client, w, w.zto)
    _parcel(db_session, w.zto, done="2026-11-03")
    _settle(db_session, w, "2026-11-01", "2026-11-30")
    week = _settle(db_session, w, "2026-11-02", "2026-11-08")
    listed = service.list_statements(db_session, operator_id=w.desk.operator_id)
    assert [(s.period_from, s.period_to, s.total_fen) for s in listed] == [
        (date(2026, 11, 2), date(2026, 11, 8), 100)
    ]
    assert week.statements[0].id == listed[0].id
    _settle(db_session, w, "2026-11-02", "2026-11-08", close=True)
    with pytest.raises(Conflict) as refused:
        _settle(db_session, w, "2026-11-01", "2026-11-30")
    assert refused.value.errors == [{"field": "from", "reason": refused.value.errors[0]["reason"]}]
    assert "2026-11-02 – 2026-11-08" in refused.value.errors[0]["reason"]
    resp = client.post(
        "/v1/settlements", json={"from": "2026-11-01", "to": "2026-11-30"}, headers=w.desk.auth
    )
    assert resp.status_code == 409
    assert resp.json()["errors"][0]["field"] == "from"
    assert _settle(db_session, w, "2026-11-09", "2026-11-30").statements[0].total_fen == 0


def test_a_period_with_no_data_gives_empty_statements_for_contracted_carriers(
    client: TestClient, db_session: Session
) -> None:
    """The contracted carrier gets a statement of 0 fen; parties without contract or data get none."""
    w = _world(db_session)
    _carrier_contract(client, w, w.zto)
    result = _settle(db_session, w, "2026-11-20", "2026-11-20")
    assert [(s.party_kind.value, s.party_id, s.total_fen) for s in result.statements] == [
        ("carrier", w.zto.carrier_id, 0)
    ]
    assert _lines(db_session, result.statements[0]) == []


def test_unpriced_parcels_are_reported_not_charged(client: TestClient, db_session: Session) -> None:
    """A carrier with no contract on the day: its parcels are listed in warnings, and nothing is charged."""
    w = _world(db_session)
    _parcel(db_session, w.yto, done="2026-11-10")
    result = _settle(db_session, w, "2026-11-10", "2026-11-10")
    assert result.statements == []
    assert result.warnings == [
        {
            "party_kind": "carrier",
            "party_id": str(w.yto.carrier_id),
            "unpriced": 1,
            "reason": "no contract valid on the service day",
        }
    ]


def test_station_commission_per_piece_from_the_default_contract(
    client: TestClient, db_session: Session
) -> None:
    """One contract for every station (no party_id) pays each keeper per piece delivered and picked up."""
    w = _world(db_session)
    _contract(
        client,
        w.desk,
        {
            "party_kind": "station",
            "valid_from": "2026-01-01",
            "terms": {"delivered_fen": 50, "picked_up_fen": 30},
        },
    )
    a = _parcel(db_session, w.zto, done="2026-11-10", station=w.station, pieces=2)
    b = _parcel(db_session, w.yto, done="2026-11-10", station=w.station, direction=Direction.PICKUP)
    c = _parcel(db_session, w.zto, done="2026-11-10", station=w.other_station)
    result = _settle(db_session, w, "2026-11-10", "2026-11-10")
    keeper = _of(result, "station", w.station)
    lines = {ln["kind"]: ln for ln in _lines(db_session, keeper)}
    assert _items(db_session, lines["commission_delivered"]["line_id"]) == {a.id: 100}
    assert _items(db_session, lines["commission_picked_up"]["line_id"]) == {b.id: 30}
    assert keeper.total_fen == 130
    assert _of(result, "station", w.other_station).total_fen == 50
    assert c.id in _items(
        db_session, _lines(db_session, _of(result, "station", w.other_station))[0]["line_id"]
    )


def _route(
    session: Session,
    w: World,
    *,
    day: str,
    driver: uuid.UUID | None,
    weights: dict[str, str],
    distance_m: int,
    stops: int,
    superseded: bool = False,
) -> Manifest:
    plan = Plan(
        operator_id=w.desk.operator_id,
        service_date=date.fromisoformat(day),
        time_limit_s=10,
        status=PlanStatus.PUBLISHED,
    )
    session.add(plan)
    session.flush()
    vehicle = fleet.create_vehicle(
        session, operator_id=w.desk.operator_id, plate=f"辽F{uuid.uuid4().hex[:5]}", capacity_kg=1000
    )
    manifest = Manifest(
        operator_id=w.desk.operator_id,
        plan_id=plan.id,
        vehicle_id=vehicle.id,
        driver_id=driver,
        service_date=plan.service_date,
        wave_key=1,
        version=1,
        content={"plate": vehicle.plate_no, "stops": []},
        etag=uuid.uuid4().hex,
        route_facts={
            "distance_m": distance_m,
            "stops": stops,
            "split_rule": "shapley",
            "split_weights": weights,
        },
        superseded_at=datetime.now(UTC) if superseded else None,
    )
    session.add(manifest)
    session.flush()
    return manifest


def test_driver_pay_and_route_shares_split_exactly(client: TestClient, db_session: Session) -> None:
    """Pay = fixed + per km (rounded half up) + per stop; the carriers' parts of a route add up to its pay
    exactly, by the weights fixed at planning; a carrier not sharing route cost pays none; a superseded
    route is not paid; a route with one carrier is that carrier's alone."""
    w = _world(db_session)
    driver, _ = fleet.create_driver(db_session, operator_id=w.desk.operator_id, name="张师傅", token_hours=1)
    _contract(
        client,
        w.desk,
        {
            "party_kind": "driver",
            "valid_from": "2026-11-01",
            "terms": {"route_fixed_fen": 5_000, "per_km_fen": 150, "per_stop_fen": 200},
        },
    )
    _carrier_contract(client, w, w.zto, share_route_cost=True)
    _carrier_contract(client, w, w.yto, share_route_cost=True)
    third = make_tenant(db_session, operator_id=w.desk.operator_id, brand=Brand.STO)
    _carrier_contract(client, w, third)  # does not share
    zto, yto, sto = str(w.zto.carrier_id), str(w.yto.carrier_id), str(third.carrier_id)
    shared = _route(
        db_session,
        w,
        day="2026-11-10",
        driver=driver.id,
        weights={zto: "7/3", yto: "4/3", sto: "1"},
        distance_m=86_333,
        stops=9,
    )
    alone = _route(
        db_session, w, day="2026-11-10", driver=driver.id, weights={zto: "5"}, distance_m=10_000, stops=2
    )
    _route(
        db_session,
        w,
        day="2026-11-10",
        driver=driver.id,
        weights={zto: "1"},
        distance_m=99_000,
        stops=5,
        superseded=True,
    )

    result = _settle(db_session, w, "2026-11-10", "2026-11-10")
    pay_shared = 5_000 + (150 * 86_333 + 500) // 1000 + 200 * 9  # 12950 for 86.333 km
    pay_alone = 5_000 + 1_500 + 400
    driver_lines = _lines(db_session, _of(result, "driver", driver.id))
    assert sorted(ln["amount_fen"] for ln in driver_lines) == sorted([pay_shared, pay_alone])
    assert result.routes == 2

    parts = dict.fromkeys((zto, yto, sto), 0)
    for tenant in (w.zto, w.yto):
        for ln in _lines(db_session, _of(result, "carrier", tenant.carrier_id)):
            assert ln["kind"] == "route_cost_share"
            if ln["rate_key"] == f"route={shared.id}":
                assert ln["detail"]["route_pay_fen"] == pay_shared
                assert ln["detail"]["total_weight"] == "14/3"
                assert ln["detail"]["carriers_on_route"] == 3
                others = {zto, yto, sto} - {str(tenant.carrier_id)}
                assert not any(o in json.dumps(ln["detail"]) for o in others)  # no competitor named
                parts[str(tenant.carrier_id)] = ln["amount_fen"]
            else:
                assert ln["rate_key"] == f"route={alone.id}"
                assert ln["amount_fen"] == pay_alone
    exact = {zto: Fraction(7, 3), yto: Fraction(4, 3), sto: Fraction(1)}
    split = largest_remainder(pay_shared, exact)
    assert sum(split.values()) == pay_shared
    assert (parts[zto], parts[yto]) == (split[zto], split[yto])  # STO's part stays with the operator
    assert _of(result, "carrier", third.carrier_id).total_fen == 0


def test_a_closed_statement_never_changes_and_resettling_appends_adjustments(
    client: TestClient, db_session: Session
) -> None:
    """After closing, a late delivery and a corrected weight show up as adjustment lines naming each parcel
    and its difference; the closed lines stay as they were; a desk correction survives settling again."""
    w = _world(db_session)
    _carrier_contract(client, w, w.zto)
    kept = _parcel(db_session, w.zto, done="2026-11-10")
    heavier = _parcel(db_session, w.zto, done="2026-11-10")
    result = _settle(db_session, w, "2026-11-10", "2026-11-10", close=True)
    statement = _of(result, "carrier", w.zto.carrier_id)
    assert statement.status.value == "closed"
    before = _lines(db_session, statement)
    assert statement.total_fen == 200

    resp = client.post(
        f"/v1/statements/{statement.id}/adjustments",
        headers=w.desk.auth,
        json={"amount_fen": -50, "reason": "损坏赔付抵扣", "parcel_id": str(kept.id)},
    )
    assert resp.status_code == 201, resp.text
    late = _parcel(db_session, w.zto, done="2026-11-10")
    db_session.execute(update(Parcel).where(Parcel.id == heavier.id).values(weight_g=1500))
    again = _settle(db_session, w, "2026-11-10", "2026-11-10")
    statement = _of(again, "carrier", w.zto.carrier_id)
    after = _lines(db_session, statement)
    assert after[: len(before)] == before
    added = after[len(before) :]
    manual = [ln for ln in added if ln["kind"] == "manual_adjustment"]
    assert [(m["amount_fen"], m["reason"]) for m in manual] == [(-50, "损坏赔付抵扣")]
    auto = [ln for ln in added if ln["kind"] == "adjustment"]
    changes: dict[tuple[str, uuid.UUID | None], int] = {}
    for ln in auto:
        assert ln["adjustment"] is True
        for ref, amount in _items(db_session, ln["line_id"]).items():
            changes[(ln["rate_key"], ref)] = amount
    # The heavier parcel leaves the ≤1 kg tier (−100) for the heavier one (+150); the late one is new.
    assert changes == {
        ("zone=near;up_to_g=1000", late.id): 100,
        ("zone=near;up_to_g=1000", heavier.id): -100,
        ("zone=near;up_to_g=+", heavier.id): 150,
    }
    assert statement.total_fen == 200 - 50 + 100 + 50 == sum(ln["amount_fen"] for ln in after)
    assert again.adjusted == len(auto)
    assert _settle(db_session, w, "2026-11-10", "2026-11-10").adjusted == 0  # nothing new: nothing added


def test_a_carrier_removed_mid_period_is_still_settled(client: TestClient, db_session: Session) -> None:
    """A carrier account deactivated after delivering still gets its statement for what it had done."""
    w = _world(db_session)
    _carrier_contract(client, w, w.yto)
    done = _parcel(db_session, w.yto, done="2026-11-05")
    db_session.execute(
        update(CarrierAccount).where(CarrierAccount.id == w.yto.carrier_id).values(active=False)
    )
    statement = _of(_settle(db_session, w, "2026-11-01", "2026-11-30"), "carrier", w.yto.carrier_id)
    assert statement.total_fen == 100
    assert done.id in _items(db_session, _lines(db_session, statement)[0]["line_id"])


def test_done_at_is_the_earliest_settling_scan_whatever_the_status_does(db_session: Session) -> None:
    """done_at is the earliest hand-over, delivery or pickup ever seen: kept when the parcel is later
    signed for or fails, set from a batch whose newest scan is not a settling one, and moved earlier by a
    hand-over scan that arrives late."""
    w = _world(db_session)
    signed, failed_after, late = (_parcel(db_session, w.zto, done=None) for _ in range(3))
    at_ = ParcelStatus.AT_STATION
    move_statuses(
        db_session,
        {
            signed.id: (_at("2026-11-10", 9), ParcelStatus.OUT_FOR_DELIVERY),
            failed_after.id: (_at("2026-11-10", 16), ParcelStatus.RETURNED),
            late.id: (_at("2026-11-12"), ParcelStatus.DELIVERED_AGENT),
        },
        now=_at("2026-11-12"),
        done={failed_after.id: _at("2026-11-10", 14), late.id: _at("2026-11-12")},
    )
    move_statuses(
        db_session,
        {signed.id: (_at("2026-11-10", 14), at_)},
        now=_at("2026-11-10"),
        done={signed.id: _at("2026-11-10", 14)},
    )
    move_statuses(
        db_session,
        {signed.id: (_at("2026-11-12"), ParcelStatus.DELIVERED_AGENT)},
        now=_at("2026-11-12"),
        done={signed.id: _at("2026-11-12")},
    )
    move_statuses(
        db_session,
        {late.id: (_at("2026-11-09"), at_)},
        now=_at("2026-11-12"),
        done={late.id: _at("2026-11-09")},
    )
    for parcel in (signed, failed_after, late):
        db_session.refresh(parcel)
    assert (signed.status, signed.done_at) == (ParcelStatus.DELIVERED_AGENT, _at("2026-11-10", 14))
    assert (failed_after.status, failed_after.done_at) == (ParcelStatus.RETURNED, _at("2026-11-10", 14))
    assert (late.status, late.done_at) == (ParcelStatus.DELIVERED_AGENT, _at("2026-11-09"))


def test_a_carrier_push_hand_over_then_exception_in_one_batch_is_still_billed(
    client: TestClient, db_session: Session
) -> None:
    """A carrier's push with the station hand-over and a later exception for one parcel: the parcel's
    status is the exception, and it is billed on the hand-over's day."""
    from carriers.base import ParseResult
    from carriers.unified import TrackingEvent
    from dispatch.imports.service import carrier_context
    from dispatch.tracking import service as tracking

    w = _world(db_session)
    _carrier_contract(client, w, w.zto)
    parcel = _parcel(db_session, w.zto, done=None)
    events = (
        TrackingEvent(
            waybill_no=parcel.waybill_no, status=ParcelStatus.AT_STATION, occurred_at=_at("2026-11-10", 9)
        ),
        TrackingEvent(
            waybill_no=parcel.waybill_no, status=ParcelStatus.EXCEPTION, occurred_at=_at("2026-11-11", 9)
        ),
    )
    tracking.ingest(
        db_session,
        carrier=carrier_context(db_session, w.zto.carrier_id),
        result=ParseResult(events=events, event_index=(0, 1), records=2),
        actor="test",
    )
    db_session.refresh(parcel)
    assert parcel.status is ParcelStatus.EXCEPTION
    statement = _of(_settle(db_session, w, "2026-11-10", "2026-11-10"), "carrier", w.zto.carrier_id)
    assert statement.total_fen == 100


def test_a_carrier_reads_only_its_own_statements(client: TestClient, db_session: Session) -> None:
    """Every carrier statement route answers another party's statement exactly like a missing one; lists
    hold only the caller's; the desk reads all."""
    w = _world(db_session)
    for tenant in (w.zto, w.yto):
        _carrier_contract(client, w, tenant)
        _parcel(db_session, tenant, done="2026-11-10")
    _contract(
        client, w.desk, {"party_kind": "station", "valid_from": "2026-01-01", "terms": {"delivered_fen": 5}}
    )
    _parcel(db_session, w.zto, done="2026-11-10", station=w.station)
    result = _settle(db_session, w, "2026-11-10", "2026-11-10")
    own = _of(result, "carrier", w.zto.carrier_id)
    theirs = _of(result, "carrier", w.yto.carrier_id)
    keeper = _of(result, "station", w.station)
    own_line = _lines(db_session, own)[0]["line_id"]
    their_line = _lines(db_session, theirs)[0]["line_id"]

    visible = client.get("/v1/carrier/contracts", headers=w.zto.auth).json()["items"]
    assert [c["party_id"] for c in visible] == [str(w.zto.carrier_id)]  # not YTO's, not the keepers'
    default = {"party_kind": "carrier", "valid_from": "2027-01-01", "terms": CARRIER_TERMS}
    _contract(client, w.desk, default)
    for tenant in (w.zto, w.yto):
        visible = client.get("/v1/carrier/contracts", headers=tenant.auth).json()["items"]
        assert sorted(str(c["party_id"]) for c in visible) == sorted([str(tenant.carrier_id), "None"])
    listed = client.get("/v1/carrier/statements", headers=w.zto.auth).json()["items"]
    assert [s["statement_id"] for s in listed] == [str(own.id)]
    got = client.get(f"/v1/carrier/statements/{own.id}", headers=w.zto.auth)
    assert got.status_code == 200
    assert got.json()["total_fen"] == own.total_fen
    items = client.get(f"/v1/carrier/statements/{own.id}/lines/{own_line}/items", headers=w.zto.auth).json()
    assert len(items["items"]) == 2
    assert all(i["waybill_no"] for i in items["items"])

    def body(resp: Any) -> tuple[int, dict[str, Any]]:
        data = dict(resp.json())
        data.pop("request_id", None)
        data.pop("instance", None)
        data.pop("detail", None)
        return resp.status_code, data

    for other in (theirs.id, keeper.id, uuid.uuid4()):
        for path in ("", "/export", "/export?format=xlsx"):
            assert body(client.get(f"/v1/carrier/statements/{other}{path}", headers=w.zto.auth))[0] == 404
    assert body(client.get(f"/v1/carrier/statements/{theirs.id}", headers=w.zto.auth)) == body(
        client.get(f"/v1/carrier/statements/{uuid.uuid4()}", headers=w.zto.auth)
    )
    # Its own statement with another statement's line: not found either.
    assert (
        client.get(
            f"/v1/carrier/statements/{own.id}/lines/{their_line}/items", headers=w.zto.auth
        ).status_code
        == 404
    )
    assert client.get("/v1/statements", headers=w.zto.auth).status_code == 401
    desk_list = client.get("/v1/statements", headers=w.desk.auth).json()["items"]
    assert {s["statement_id"] for s in desk_list} == {str(own.id), str(theirs.id), str(keeper.id)}
    other_desk = make_desk_user(db_session)
    assert client.get(f"/v1/statements/{own.id}", headers=other_desk.auth).status_code == 404
    assert client.get("/v1/statements", headers=other_desk.auth).json()["items"] == []


def test_exports_escape_formulas_and_keep_numbers(client: TestClient, db_session: Session) -> None:
    """A station named like a formula exports as text with a leading apostrophe in CSV and XLSX; amounts
    stay numbers; the per-item export names each waybill."""
    w = _world(db_session)
    _contract(
        client, w.desk, {"party_kind": "station", "valid_from": "2026-01-01", "terms": {"delivered_fen": 5}}
    )
    parcel = _parcel(db_session, w.zto, done="2026-11-10", station=w.other_station)
    keeper = _of(_settle(db_session, w, "2026-11-10", "2026-11-10"), "station", w.other_station)

    resp = client.get(f"/v1/statements/{keeper.id}/export", params={"detail": "items"}, headers=w.desk.auth)
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(resp.content.decode("utf-8-sig"))))
    assert rows[0]["party_name"] == '\'=HYPERLINK("http://x")站'
    assert rows[0]["waybill_no"] == parcel.waybill_no
    assert rows[0]["amount_fen"] == "5"

    resp = client.get(f"/v1/statements/{keeper.id}/export", params={"format": "xlsx"}, headers=w.desk.auth)
    sheet = load_workbook(io.BytesIO(resp.content)).active
    assert sheet is not None
    header = [c.value for c in sheet[1]]
    row = sheet[2]
    name = row[header.index("party_name")]
    assert name.value == '\'=HYPERLINK("http://x")站'
    assert name.data_type == "s"
    assert row[header.index("amount_fen")].value == 5


def test_settling_through_the_api_reports_progress_and_statements(
    client: TestClient, db_session: Session
) -> None:
    """POST /v1/settlements answers 202; the run then shows done, full progress and its statements; a
    backwards range is a 422 naming the field."""
    w = _world(db_session)
    _carrier_contract(client, w, w.zto)
    _parcel(db_session, w.zto, done="2026-11-10")
    resp = client.post(
        "/v1/settlements", json={"from": "2026-11-09", "to": "2026-11-10", "by": "day"}, headers=w.desk.auth
    )
    assert resp.status_code == 202, resp.text
    run = client.get(resp.headers["location"], headers=w.desk.auth).json()
    assert run["status"] == "done", run
    assert run["progress"] == {"fraction": 1.0, "stage": "done"}
    assert run["summary"]["parcels"] == 1
    assert sorted((s["period"]["from"], s["total_fen"]) for s in run["statements"]) == [
        ("2026-11-09", 0),
        ("2026-11-10", 100),
    ]
    bad = client.post("/v1/settlements", json={"from": "2026-11-10", "to": "2026-11-01"}, headers=w.desk.auth)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "to"
    assert (
        client.post(
            "/v1/settlements", json={"from": "2026-11-10", "to": "2026-11-10"}, headers=w.zto.auth
        ).status_code
        == 401
    )


@pytest.mark.parametrize(
    ("first", "last", "by", "expected"),
    [
        ("2026-11-01", "2026-11-30", "period", [("2026-11-01", "2026-11-30", "month")]),
        (
            "2026-11-29",
            "2026-12-02",
            "week",
            [("2026-11-29", "2026-11-29", "day"), ("2026-11-30", "2026-12-02", "custom")],
        ),
        ("2026-11-30", "2026-12-06", "week", [("2026-11-30", "2026-12-06", "week")]),
        (
            "2026-11-15",
            "2026-12-31",
            "month",
            [("2026-11-15", "2026-11-30", "custom"), ("2026-12-01", "2026-12-31", "month")],
        ),
    ],
)
def test_periods_cut_the_range(first: str, last: str, by: str, expected: list[tuple[str, str, str]]) -> None:
    """Weeks start on Monday, months on the 1st; the ends may be partial and say so."""
    got = service.periods(date.fromisoformat(first), date.fromisoformat(last), by)
    assert [(p.first.isoformat(), p.last.isoformat(), p.kind) for p in got] == expected


def test_route_facts_keep_the_plans_split_weights() -> None:
    """Publishing keeps each route's distance, stops and carrier weights for settlement."""
    from dispatch.manifests.service import route_facts

    route = {
        "distance_m": 1234,
        "split_rule": "shapley",
        "split_weights": {"a": "3/2", "b": "1/2"},
        "trips": [{"stops": [{"parcels_by_carrier": {"a": 2}}, {"parcels_by_carrier": {"b": 1}}]}],
    }
    assert route_facts(route) == {
        "distance_m": 1234,
        "stops": 2,
        "split_rule": "shapley",
        "split_weights": {"a": "3/2", "b": "1/2"},
    }
    del route["split_weights"]
    assert route_facts(route)["split_weights"] == {"a": "2", "b": "1"}
    assert route_facts(route)["split_rule"] == "per_piece"


def test_a_planned_published_and_delivered_day_settles_end_to_end(db_session: Session) -> None:
    """Plan a wave, publish it, let the drivers deliver: each carrier pays for what its drivers handed over
    (by the day of the scan), each driver is paid per route, and the route shares of a route add up to that
    route's pay exactly, by the carrier weights the plan fixed."""
    from dispatch.main import create_app
    from tests.conftest import _RolledBackDatabase
    from tests.dispatch.test_manifests import _plan, _tokens
    from tests.dispatch.test_plans import _county_day

    desk, waybills, _ = _county_day(db_session)
    settings = settings_for("postgresql://unused", solver_solution_limit=30, plan_time_limit_s=60)
    app = create_app(settings, database=_RolledBackDatabase(db_session.connection()))
    with TestClient(app, raise_server_exceptions=False) as client:
        tokens = _tokens(db_session, desk.operator_id)
        plan = _plan(client, desk.auth, wave=1)
        made = client.post(f"/v1/plans/{plan['plan_id']}/publish", headers=desk.auth).json()["manifests"]
        carriers = {
            c.brand.value: c.id
            for c in db_session.execute(
                select(CarrierAccount).where(CarrierAccount.operator_id == desk.operator_id)
            ).scalars()
        }
        for brand, carrier_id in carriers.items():
            body = {
                "party_kind": "carrier",
                "party_id": str(carrier_id),
                "valid_from": "2026-11-01",
                "terms": {**CARRIER_TERMS, "zones": [], "share_route_cost": True},
            }
            assert client.post("/v1/contracts", json=body, headers=desk.auth).status_code == 201, brand
        terms = {"route_fixed_fen": 6_000, "per_km_fen": 100, "per_stop_fen": 100}
        body = {"party_kind": "driver", "valid_from": "2026-11-01", "terms": terms}
        assert client.post("/v1/contracts", json=body, headers=desk.auth).status_code == 201

        delivered: list[str] = []
        for manifest in made:
            phone = {"Authorization": f"Bearer {tokens[manifest['driver_id']]}", "X-Device-Id": "p1"}
            content = client.get("/v1/driver/manifest", headers=phone).json()
            numbers = [
                item["waybill_no"]
                for stop in content["stops"]
                for items in stop["deliveries_by_carrier"].values()
                for item in items
            ]
            events = [
                {
                    "event_id": str(uuid.uuid4()),
                    "waybill_no": n,
                    "type": "delivered",
                    "occurred_at": "2026-11-30T11:00:00+08:00",
                    "handover": {"to": "recipient"},
                }
                for n in numbers
            ]
            resp = client.post("/v1/driver/events", json={"events": events}, headers=phone)
            assert resp.status_code == 200, resp.text
            delivered += numbers
        assert sorted(delivered) == sorted(n for ns in waybills.values() for n in ns)

        resp = client.post(
            "/v1/settlements", json={"from": "2026-11-30", "to": "2026-11-30"}, headers=desk.auth
        )
        run = client.get(resp.headers["location"], headers=desk.auth).json()
        assert run["status"] == "done", run
        assert run["summary"]["parcels"] == len(delivered)
        assert run["summary"]["routes"] == len(made)
        views = {
            (s["party"]["kind"], s["party"]["id"]): client.get(s["url"], headers=desk.auth).json()
            for s in run["statements"]
        }

    fees = {
        kind_id[1]: sum(ln["amount_fen"] for ln in v["lines"] if ln["kind"] == "delivery_fee")
        for kind_id, v in views.items()
        if kind_id[0] == "carrier"
    }
    rows = db_session.execute(
        select(Parcel.carrier_id, Parcel.weight_g, Parcel.pieces).where(
            Parcel.operator_id == desk.operator_id
        )
    )
    expected: dict[str, int] = {}
    for carrier_id, weight_g, pieces in rows:
        per_piece = -(-weight_g // pieces)
        expected[str(carrier_id)] = (
            expected.get(str(carrier_id), 0) + (130 if per_piece <= 1000 else 200) * pieces
        )
    assert fees == expected
    pay = {
        ln["rate_key"]: ln["amount_fen"]
        for (kind, _), v in views.items()
        if kind == "driver"
        for ln in v["lines"]
    }
    assert len(pay) == len(made)
    shares: dict[str, int] = {}
    for (kind, _), v in views.items():
        if kind == "carrier":
            for ln in v["lines"]:
                if ln["kind"] == "route_cost_share":
                    shares[ln["rate_key"]] = shares.get(ln["rate_key"], 0) + ln["amount_fen"]
    assert shares == pay
    for manifest in made:
        facts = db_session.get(Manifest, uuid.UUID(manifest["manifest_id"])).route_facts  # type: ignore[union-attr]
        assert facts is not None
        expected_pay = 6_000 + (100 * facts["distance_m"] + 500) // 1000 + 100 * facts["stops"]
        assert pay[f"route={manifest['manifest_id']}"] == expected_pay


def test_two_settlements_of_one_period_at_once_make_one_statement_each(committed_db: Any) -> None:
    """Two runs racing over the same days: the second waits for the first and replaces its open
    statements; each party ends with exactly one statement, priced once."""
    import contextlib
    import threading

    from dispatch.models import Contract, Operator

    with committed_db.session_scope() as session:
        desk = make_desk_user(session)
        tenant = make_tenant(session, operator_id=desk.operator_id)
        session.add(
            Contract(
                operator_id=desk.operator_id,
                party_kind="carrier",
                party_id=tenant.carrier_id,
                party_key=str(tenant.carrier_id),
                version=1,
                valid_from=date(2026, 11, 1),
                terms=CARRIER_TERMS,
            )
        )
        for _ in range(3):
            _parcel(session, tenant, done="2026-11-10")
    errors: list[BaseException] = []
    both_computing = threading.Barrier(2)

    def meet(_fraction: float, _stage: str) -> None:
        # Without the operator lock both runs would get here together and then both insert; with it, the
        # second is still waiting for the lock and the first goes on after a short wait.
        with contextlib.suppress(threading.BrokenBarrierError):
            both_computing.wait(timeout=1.0)

    def run() -> None:
        try:
            with committed_db.session_scope() as session:
                service.settle(
                    session,
                    operator_id=desk.operator_id,
                    first=date(2026, 11, 10),
                    last=date(2026, 11, 10),
                    settings=settings_for("sqlite://"),
                    on_progress=meet,
                )
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    try:
        assert errors == []
        with committed_db.session_scope() as session:
            found = service.list_statements(session, operator_id=desk.operator_id)
            assert [(s.party_id, s.total_fen) for s in found] == [(tenant.carrier_id, 300)]
            assert sum(ln.amount_fen for ln in service.statement_lines(session, found[0].id)) == 300
    finally:
        with committed_db.session_scope() as session:
            session.execute(delete(Operator).where(Operator.id == desk.operator_id))


def test_a_version_is_ended_by_the_desk_and_a_bounded_one_never_cuts_an_open_one(
    client: TestClient, db_session: Session
) -> None:
    """A December-only version inside an open-ended one is a 409 (ending the open one would leave January
    unpriced); PATCH ends the open one on 30 November, then December's version fits; another operator's
    contract is a 404; a last day before the first a 422."""
    w = _world(db_session)
    open_one = _carrier_contract(client, w, w.zto)
    december = {
        "party_kind": "carrier",
        "party_id": str(w.zto.carrier_id),
        "valid_from": "2026-12-01",
        "valid_to": "2026-12-31",
        "terms": CARRIER_TERMS,
    }
    assert _contract(client, w.desk, december, status=409)["errors"][0]["field"] == "valid_from"
    url = f"/v1/contracts/{open_one['contract_id']}"
    ended = client.patch(url, json={"valid_to": "2026-11-30"}, headers=w.desk.auth)
    assert ended.status_code == 200, ended.text
    assert ended.json()["valid_to"] == "2026-11-30"
    _contract(client, w.desk, december)
    assert client.patch(url, json={"valid_to": None}, headers=w.desk.auth).status_code == 409
    assert client.patch(url, json={"valid_to": "2026-10-01"}, headers=w.desk.auth).status_code == 422
    stranger = make_desk_user(db_session)
    assert client.patch(url, json={"valid_to": "2026-11-29"}, headers=stranger.auth).status_code == 404


def test_unpayable_routes_and_foreign_corrections_are_refused_or_reported(
    client: TestClient, db_session: Session
) -> None:
    """A route with no driver is neither paid nor shared and is reported; a correction naming another
    carrier's parcel is a 422; a range outside 2000–2100 is a 422 naming the field."""
    w = _world(db_session)
    _contract(
        client,
        w.desk,
        {"party_kind": "driver", "valid_from": "2026-11-01", "terms": {"route_fixed_fen": 100}},
    )
    _carrier_contract(client, w, w.zto, share_route_cost=True)
    ghost = _route(
        db_session,
        w,
        day="2026-11-10",
        driver=None,
        weights={str(w.zto.carrier_id): "1"},
        distance_m=1000,
        stops=1,
    )
    result = _settle(db_session, w, "2026-11-10", "2026-11-10")
    assert result.routes == 0
    assert [x["party_id"] for x in result.warnings if x["party_kind"] == "route"] == [str(ghost.id)]
    statement = _of(result, "carrier", w.zto.carrier_id)
    assert statement.total_fen == 0
    theirs = _parcel(db_session, w.yto, done="2026-11-10")
    resp = client.post(
        f"/v1/statements/{statement.id}/adjustments",
        headers=w.desk.auth,
        json={"amount_fen": 10, "reason": "x", "parcel_id": str(theirs.id)},
    )
    assert (resp.status_code, resp.json()["errors"][0]["field"]) == (422, "parcel_id")
    far = client.post("/v1/settlements", json={"from": "2026-11-01", "to": "9999-12-31"}, headers=w.desk.auth)
    assert (far.status_code, far.json()["errors"][0]["field"]) == (422, "to")
