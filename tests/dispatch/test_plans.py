"""Plans through the desk API (PostgreSQL): a wave of two brands' parcels planned onto the fleet, read
back with routes, stops, ETAs and the carriers' split; bad requests refused; another operator sees nothing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
import structlog
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from carriers.unified import Brand, ParcelStatus
from dispatch.divisions.service import import_gazetteer
from dispatch.fleet import service as fleet
from dispatch.imports.service import carrier_context
from dispatch.main import create_app
from dispatch.models import Parcel, Plan, PlanStatus, Station
from dispatch.parcels import service as parcels
from dispatch.plans.service import run_plan
from dispatch.stations.service import seed_village_stations
from tests.builders import DeskUser, make_desk_user, make_tenant, record
from tests.conftest import _RolledBackDatabase, settings_for
from tests.dispatch.gazetteer_data import KUANDIAN, counties

DAY = "2026-11-30"
BEFORE_CUTOFF = datetime(2026, 11, 29, 23, 0, tzinfo=UTC)  # 07:00 in Asia/Shanghai, wave 1 (08:30)
ADDRESSES = [
    "辽宁省丹东市宽甸满族自治县灌水镇东岔村3组",
    "宽甸县虎山镇虎山村8组",
    "宽甸满族自治县太平哨镇太平哨村5组",
    "宽甸县虎山镇虎山村1组",
]


@pytest.fixture
def plan_client(pg_url: str, pg_connection: Any) -> TestClient:
    """The app with a deterministic solver stop (a solution limit) instead of wall time."""
    settings = settings_for(pg_url, solver_solution_limit=30, plan_time_limit_s=60)
    app = create_app(settings, database=_RolledBackDatabase(pg_connection))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def _county_day(session: Session) -> tuple[DeskUser, dict[str, list[str]], dict[str, uuid.UUID]]:
    """宽甸 with its stations, ZTO and YTO parcels at the hub before 08:30, one of them frozen; a van and a
    refrigerated van, each with a driver."""
    import_gazetteer(session, counties(KUANDIAN))
    desk = make_desk_user(session, county_code=KUANDIAN)
    seed_village_stations(session, operator_id=desk.operator_id)
    waybills: dict[str, list[str]] = {}
    for brand in (Brand.ZTO, Brand.YTO):
        tenant = make_tenant(session, operator_id=desk.operator_id, brand=brand)
        records = [record(address=a) for a in ADDRESSES]
        if brand is Brand.YTO:
            records[0]["temperature"] = "frozen"
        parcels.ingest(session, carrier=carrier_context(session, tenant.carrier_id), records=records)
        waybills[brand.value] = [r["waybill_no"] for r in records]
    session.execute(
        update(Parcel)
        .where(Parcel.operator_id == desk.operator_id)
        .values(status=ParcelStatus.HUB_RECEIVED, created_at=BEFORE_CUTOFF)
    )
    van = fleet.create_vehicle(session, operator_id=desk.operator_id, plate="辽F·A0001", capacity_kg=1500)
    cold = fleet.create_vehicle(
        session, operator_id=desk.operator_id, plate="辽F·C0001", capacity_kg=1000, refrigerated=True
    )
    fleet.create_driver(
        session, operator_id=desk.operator_id, name="张师傅", vehicle_id=van.id, token_hours=14
    )
    fleet.create_driver(
        session, operator_id=desk.operator_id, name="李师傅", vehicle_id=cold.id, token_hours=14
    )
    session.flush()
    return desk, waybills, {"van": van.id, "cold": cold.id}


def test_a_wave_is_planned_and_read_back(plan_client: TestClient, db_session: Session) -> None:
    desk, waybills, vehicles = _county_day(db_session)
    resp = plan_client.post("/v1/plans", json={"service_date": DAY, "wave": 1}, headers=desk.auth)
    assert resp.status_code == 202, resp.text
    plan_id = resp.json()["plan_id"]
    assert resp.headers["location"] == f"/v1/plans/{plan_id}"

    plan = plan_client.get(f"/v1/plans/{plan_id}", headers=desk.auth).json()
    assert plan["status"] == "draft", plan.get("error")
    assert plan["progress"]["fraction"] == 1.0
    assert plan["feasible"] is True
    assert plan["unassigned"] == []
    ids = {
        str(p.id): p.waybill_no
        for p in db_session.execute(select(Parcel).where(Parcel.operator_id == desk.operator_id)).scalars()
    }
    on_routes = [pid for r in plan["routes"] for t in r["trips"] for s in t["stops"] for pid in s["parcels"]]
    assert plan["not_batched"] == [], plan["not_batched"]
    assert sorted(on_routes) == sorted(ids)  # every parcel once
    frozen = next(pid for pid, w in ids.items() if w == waybills["yto"][0])
    cold_route = next(
        r for r in plan["routes"] for t in r["trips"] for s in t["stops"] if frozen in s["parcels"]
    )
    assert cold_route["vehicle_id"] == str(vehicles["cold"])
    assert cold_route["driver_name"] == "李师傅"
    stations = {str(s.id) for s in db_session.execute(select(Station)).scalars()}
    for route in plan["routes"]:
        assert sum(route["carrier_split_fen"].values()) == route["cost_fen"]
        for trip in route["trips"]:
            for stop in trip["stops"]:
                assert stop["station_id"] in stations
                assert stop["eta"].startswith(DAY)
                assert stop["eta"].endswith("+08:00")
    assert sum(plan["carrier_split_fen"].values()) == sum(r["cost_fen"] for r in plan["routes"])
    assert plan["split_rule"] == "shapley"
    assert {r["split_rule"] for r in plan["routes"]} <= {"shapley", "per_piece"}


def test_running_a_finished_plan_again_changes_nothing(
    pg_url: str, plan_client: TestClient, db_session: Session
) -> None:
    desk, _, _ = _county_day(db_session)
    plan_id = plan_client.post("/v1/plans", json={"service_date": DAY, "wave": 1}, headers=desk.auth).json()[
        "plan_id"
    ]
    db_session.expire_all()
    before = db_session.get(Plan, uuid.UUID(plan_id))
    assert before is not None
    assert before.status is PlanStatus.DRAFT
    result = before.result
    again = run_plan(
        _RolledBackDatabase(db_session.connection()),
        uuid.UUID(plan_id),
        settings=settings_for(pg_url, solver_solution_limit=30),
        workers=1,
    )
    assert again is None
    db_session.expire_all()
    after = db_session.get(Plan, uuid.UUID(plan_id))
    assert after is not None
    assert after.result == result


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"service_date": DAY, "wave": 3}, "wave"),
        ({"service_date": DAY, "time_limit_s": 100_000}, "time_limit_s"),
        ({"service_date": DAY, "vehicles": [str(uuid.uuid4())]}, "vehicles.0"),
        ({"service_date": DAY, "vehicles": []}, "vehicles"),
    ],
)
def test_bad_plans_are_refused_naming_the_field(
    plan_client: TestClient, db_session: Session, body: dict[str, Any], field: str
) -> None:
    desk = make_desk_user(db_session, county_code=KUANDIAN)
    resp = plan_client.post("/v1/plans", json=body, headers=desk.auth)
    assert resp.status_code == 422
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert field in {e["field"] for e in resp.json()["errors"]}


def test_a_plan_without_a_fleet_fails_visibly(plan_client: TestClient, db_session: Session) -> None:
    desk = make_desk_user(db_session, county_code=KUANDIAN)
    plan_id = plan_client.post("/v1/plans", json={"service_date": DAY}, headers=desk.auth).json()["plan_id"]
    plan = plan_client.get(f"/v1/plans/{plan_id}", headers=desk.auth).json()
    assert plan["status"] == "failed"
    assert "vehicle" in plan["error"]


def test_another_operator_cannot_see_the_plan(plan_client: TestClient, db_session: Session) -> None:
    desk = make_desk_user(db_session, county_code=KUANDIAN)
    other = make_desk_user(db_session, county_code=KUANDIAN)
    plan_id = plan_client.post("/v1/plans", json={"service_date": DAY}, headers=desk.auth).json()["plan_id"]
    unknown = str(uuid.uuid4())
    theirs = plan_client.get(f"/v1/plans/{plan_id}", headers=other.auth)
    missing = plan_client.get(f"/v1/plans/{unknown}", headers=other.auth)
    assert theirs.status_code == missing.status_code == 404

    def same_shape(resp: Any, ident: str) -> dict[str, Any]:
        body = {k: v for k, v in resp.json().items() if k != "request_id"}
        return {k: v.replace(ident, "ID") if isinstance(v, str) else v for k, v in body.items()}

    assert same_shape(theirs, plan_id) == same_shape(missing, unknown)
    assert plan_client.get(f"/v1/plans/{plan_id}").status_code == 401


def test_a_poison_plan_fails_visibly_and_the_next_one_is_solved(
    pg_url: str,
    plan_client: TestClient,
    db_session: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A plan whose solve raises something unexpected is marked failed with the error's kind (no details
    that could hold data); the worker goes on and the next plan is solved."""
    from dispatch.plans import service

    desk, _, _ = _county_day(db_session)
    real = service.build_problem
    poison: set[uuid.UUID] = set()

    def build(session: Session, **kwargs: Any) -> Any:
        if poison:
            poison.clear()
            raise RuntimeError("boom with a recipient's phone 13800001234 in it")
        return real(session, **kwargs)

    monkeypatch.setattr(service, "build_problem", build)
    poison.add(uuid.uuid4())
    with structlog.testing.capture_logs() as logged:
        bad = plan_client.post("/v1/plans", json={"service_date": DAY, "wave": 1}, headers=desk.auth).json()
    good = plan_client.post("/v1/plans", json={"service_date": DAY, "wave": 1}, headers=desk.auth).json()
    failed = plan_client.get(f"/v1/plans/{bad['plan_id']}", headers=desk.auth).json()
    solved = plan_client.get(f"/v1/plans/{good['plan_id']}", headers=desk.auth).json()
    assert failed["status"] == "failed"
    assert failed["error"] == "internal error: RuntimeError"
    assert solved["status"] == "draft"
    failures = [entry for entry in logged if entry["event"] == "plan_failed"]
    assert [f["error_type"] for f in failures] == ["RuntimeError"]
    assert "13800001234" not in repr(logged)
    assert "exc_info" not in failures[0]  # a rendered traceback would print the message


def test_the_desk_moves_a_station_to_another_vehicle_and_re_solves(
    plan_client: TestClient, db_session: Session
) -> None:
    desk, _, vehicles = _county_day(db_session)
    first_id = plan_client.post("/v1/plans", json={"service_date": DAY, "wave": 1}, headers=desk.auth).json()[
        "plan_id"
    ]
    first = plan_client.get(f"/v1/plans/{first_id}", headers=desk.auth).json()
    route, ambient = next(
        (r, s) for r in first["routes"] for t in r["trips"] for s in t["stops"] if not s["cold_chain"]
    )
    # Move that station to the other vehicle.
    target = str(vehicles["cold"]) if route["vehicle_id"] == str(vehicles["van"]) else str(vehicles["van"])
    resp = plan_client.post(
        f"/v1/plans/{first_id}/resolve", json={"pins": {ambient["station_id"]: target}}, headers=desk.auth
    )
    assert resp.status_code == 202, resp.text
    second = plan_client.get(f"/v1/plans/{resp.json()['plan_id']}", headers=desk.auth).json()
    assert second["status"] == "draft"
    assert second["based_on"] == first_id
    assert second["pins"] == {ambient["station_id"]: target}
    moved_to = {
        r["vehicle_id"]
        for r in second["routes"]
        for t in r["trips"]
        for s in t["stops"]
        if s["station_id"] == ambient["station_id"]
    }
    assert moved_to == {target}

    bad = plan_client.post(
        f"/v1/plans/{first_id}/resolve",
        json={"pins": {str(uuid.uuid4()): str(vehicles["van"])}},
        headers=desk.auth,
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"].startswith("pins.")
    other = make_desk_user(db_session, county_code=KUANDIAN)
    assert (
        plan_client.post(f"/v1/plans/{first_id}/resolve", json={"pins": {}}, headers=other.auth).status_code
        == 404
    )


def test_scheduled_waves_are_planned_once_at_their_cut_off(pg_url: str, db_session: Session) -> None:
    from dispatch.plans.service import due_wave_plans

    desk, _, _ = _county_day(db_session)
    idle = make_desk_user(db_session, county_code=KUANDIAN)  # no fleet: nothing to plan with
    settings = settings_for(pg_url, auto_plan_waves=True)
    at = datetime(2026, 11, 30, 0, 35, tzinfo=UTC)  # 08:35 in Asia/Shanghai: wave 1 (08:30) has just closed
    made = due_wave_plans(db_session, settings=settings, now=at)
    plans = {
        p.id: p
        for p in db_session.execute(
            select(Plan).where(Plan.operator_id.in_([desk.operator_id, idle.operator_id]))
        ).scalars()
    }
    assert [(plans[i].operator_id, plans[i].wave, plans[i].service_date.isoformat()) for i, _ in made] == [
        (desk.operator_id, 1, DAY)
    ]
    assert due_wave_plans(db_session, settings=settings, now=at) == []  # once
    afternoon = datetime(2026, 11, 30, 5, 40, tzinfo=UTC)  # 13:40: wave 2
    assert [
        plans_wave(db_session, i) for i, _ in due_wave_plans(db_session, settings=settings, now=afternoon)
    ] == [2]
    late = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)  # 20:00: 6.5 h after the last cut-off
    assert due_wave_plans(db_session, settings=settings, now=late) == []


def plans_wave(session: Session, plan_id: uuid.UUID) -> int | None:
    plan = session.get(Plan, plan_id)
    assert plan is not None
    return plan.wave
