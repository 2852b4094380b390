"""Stations on the desk API: fields, validation, per-operator isolation, coverage, pagination, seeding."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dispatch.divisions.service import import_gazetteer
from dispatch.models import Division, Station, StationCoverage, StationKind
from dispatch.stations import service as stations
from tests.builders import DeskUser, make_desk_user
from tests.conftest import create_database, drop_database
from tests.dispatch.gazetteer_data import (
    GAZETTEER_DIR,
    HEPING,
    KUANDIAN,
    changed,
    counties,
    village_committees,
)
from tests.dispatch.test_cli import GONGPEI, _env

HOURS = {"mon": [["13:30", "18:00"], ["08:00", "12:00"]], "sat": [["09:00", "12:00"]]}


@pytest.fixture
def villages(db_session: Session) -> list[str]:
    """Kuandian and Heping divisions in the database; returns Kuandian's village-committee codes."""
    import_gazetteer(db_session, counties(KUANDIAN, HEPING))
    return [d.code for d in village_committees(counties(KUANDIAN), KUANDIAN)]


@pytest.fixture
def desk(db_session: Session) -> DeskUser:
    return make_desk_user(db_session, county_code=KUANDIAN)


def _comparable(resp: Any) -> tuple[int, dict[str, Any]]:
    body = dict(resp.json())
    body.pop("request_id", None)
    body.pop("instance", None)
    return resp.status_code, body


def _create(client: TestClient, desk: DeskUser, **fields: Any) -> dict[str, Any]:
    resp = client.post("/v1/stations", json={"name": "青山村服务站", **fields}, headers=desk.auth)
    assert resp.status_code == 201, resp.text
    return resp.json()


def test_create_get_and_list_round_trip(client: TestClient, desk: DeskUser, villages: list[str]) -> None:
    """Every field comes back as sent (hours sorted, keeper phone in full), in the operator's zone."""
    body = {
        "name": "  青山村服务站 ",
        "kind": "shop",
        "village_code": villages[0],
        "address": "青山沟镇青山村3组 小卖部",
        "location": {"latitude_e6": 40_912_345, "longitude_e6": 125_123_456},
        "opening_hours": HOURS,
        "capacity_parcels": 120,
        "keeper_name": "王秀英",
        "keeper_phone": "13812345678",
    }
    resp = client.post("/v1/stations", json=body, headers=desk.auth)
    assert resp.status_code == 201, resp.text
    created = resp.json()
    assert resp.headers["location"] == f"/v1/stations/{created['station_id']}"
    assert created["name"] == "青山村服务站"
    assert created["kind"] == "shop"
    assert created["location"] == body["location"]
    assert created["opening_hours"] == {
        "mon": [["08:00", "12:00"], ["13:30", "18:00"]],
        "sat": [["09:00", "12:00"]],
    }
    assert created["keeper_phone"] == "13812345678"
    assert created["village_codes"] == []
    assert created["active"] is True
    assert created["created_at"].endswith("+08:00")

    fetched = client.get(f"/v1/stations/{created['station_id']}", headers=desk.auth)
    assert fetched.status_code == 200
    assert fetched.json() == created
    listed = client.get("/v1/stations", headers=desk.auth).json()
    assert listed == {"items": [created], "next_cursor": None}


def test_minimal_station_defaults(client: TestClient, desk: DeskUser) -> None:
    """Only a name is required: a village station, active, with nothing else known."""
    created = _create(client, desk)
    assert created["kind"] == "village_station"
    assert created["active"] is True
    for field in ("village_code", "address", "location", "opening_hours", "capacity_parcels", "keeper_phone"):
        assert created[field] is None


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": "   "}, "body.name"),
        ({"kind": "warehouse"}, "body.kind"),
        ({"opening_hours": {"mon": [["18:00", "08:00"]]}}, "body.opening_hours"),
        ({"opening_hours": {"mon": [["08:00", "12:00"], ["11:00", "14:00"]]}}, "body.opening_hours"),
        ({"opening_hours": {"mon": [["08:00", "25:00"]]}}, "body.opening_hours.mon.0.1"),
        ({"opening_hours": {"monday": [["08:00", "12:00"]]}}, "body.opening_hours.monday"),
        ({"opening_hours": {"mon": [["08:00"]]}}, "body.opening_hours.mon.0.1"),
        ({"location": {"latitude_e6": 91_000_000, "longitude_e6": 0}}, "body.location.latitude_e6"),
        ({"location": {"latitude_e6": 40_000_000}}, "body.location.longitude_e6"),
        ({"capacity_parcels": -1}, "body.capacity_parcels"),
        ({"keeper_phone": "call me"}, "body.keeper_phone"),
        ({"village_code": "21062410"}, "body.village_code"),
        ({"colour": "red"}, "body.colour"),
    ],
)
def test_invalid_fields_are_422_problems_naming_the_field(
    client: TestClient, desk: DeskUser, fields: dict[str, Any], field: str
) -> None:
    """Each invalid field answers 422 problem+json naming it; nothing is created."""
    resp = client.post("/v1/stations", json={"name": "x", **fields}, headers=desk.auth)
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    assert field in {e["field"] for e in resp.json()["errors"]}
    assert client.get("/v1/stations", headers=desk.auth).json()["items"] == []


def test_station_village_must_be_in_the_operators_county(
    client: TestClient, desk: DeskUser, villages: list[str], db_session: Session
) -> None:
    """A village code of another county, or none at all, is refused naming the code."""
    heping_village = db_session.scalar(
        select(Division.code).where(Division.county_code == HEPING, Division.level == "village")
    )
    for code in (heping_village, "210624999999"):
        resp = client.post("/v1/stations", json={"name": "x", "village_code": code}, headers=desk.auth)
        assert resp.status_code == 422
        assert code in resp.json()["detail"]
        assert resp.json()["errors"][0]["field"] == "village_code"


def test_patch_changes_only_what_is_sent(client: TestClient, desk: DeskUser, villages: list[str]) -> None:
    """Sent fields change, null clears a nullable one, a null name is refused, updated_at moves on."""
    created = _create(client, desk, keeper_phone="13812345678", capacity_parcels=50, opening_hours=HOURS)
    url = f"/v1/stations/{created['station_id']}"
    resp = client.patch(
        url,
        json={
            "name": "青山村驿站",
            "keeper_phone": None,
            "active": False,
            "opening_hours": {"sun": [["10:00", "11:00"]]},
        },
        headers=desk.auth,
    )
    assert resp.status_code == 200, resp.text
    patched = resp.json()
    assert patched["name"] == "青山村驿站"
    assert patched["keeper_phone"] is None
    assert patched["active"] is False
    assert patched["capacity_parcels"] == 50
    assert patched["opening_hours"] == {"sun": [["10:00", "11:00"]]}
    assert patched["updated_at"] >= created["updated_at"]
    assert client.get(url, headers=desk.auth).json() == patched

    for bad in ({"name": None}, {"active": None}, {"kind": None}, {"village_code": "210102999999"}):
        refused = client.patch(url, json=bad, headers=desk.auth)
        assert refused.status_code == 422, bad
    assert client.patch(url, json={}, headers=desk.auth).json() == patched


def test_another_operators_station_answers_like_a_random_id(
    client: TestClient, db_session: Session, desk: DeskUser, villages: list[str]
) -> None:
    """GET, PATCH and both coverage routes: another operator's station id gets the random id's 404."""
    other = make_desk_user(db_session, county_code=KUANDIAN)
    theirs = _create(client, other)["station_id"]
    mine = _create(client, desk)["station_id"]
    calls = [
        ("GET", "/v1/stations/{id}", None),
        ("PATCH", "/v1/stations/{id}", {"name": "taken over"}),
        ("GET", "/v1/stations/{id}/coverage", None),
        ("PUT", "/v1/stations/{id}/coverage", {"village_codes": villages[:1]}),
    ]
    for method, path, body in calls:
        foreign = _comparable(client.request(method, path.format(id=theirs), json=body, headers=desk.auth))
        random = _comparable(
            client.request(method, path.format(id=uuid.uuid4()), json=body, headers=desk.auth)
        )
        assert foreign[0] == 404
        assert foreign == random
    assert [s["station_id"] for s in client.get("/v1/stations", headers=desk.auth).json()["items"]] == [mine]
    assert [s["station_id"] for s in client.get("/v1/stations", headers=other.auth).json()["items"]] == [
        theirs
    ]
    assert client.get(f"/v1/stations/{theirs}", headers=other.auth).json()["name"] == "青山村服务站"
    assert client.get(f"/v1/stations/{theirs}/coverage", headers=other.auth).json()["villages"] == []


def test_coverage_is_replaced_and_shown(client: TestClient, desk: DeskUser, villages: list[str]) -> None:
    """PUT sets the whole coverage (duplicates folded), GET and the station show it, [] clears it."""
    station = _create(client, desk)["station_id"]
    url = f"/v1/stations/{station}/coverage"
    resp = client.put(url, json={"village_codes": [villages[2], villages[1], villages[2]]}, headers=desk.auth)
    assert resp.status_code == 200, resp.text
    covered = resp.json()
    assert [v["village_code"] for v in covered["villages"]] == [villages[1], villages[2]]
    assert covered["villages"][0]["name"].endswith(("村委会", "村民委员会", "村"))
    assert covered["villages"][0]["retired"] is False
    assert client.get(url, headers=desk.auth).json() == covered
    assert client.get(f"/v1/stations/{station}", headers=desk.auth).json()["village_codes"] == [
        villages[1],
        villages[2],
    ]
    moved = client.put(url, json={"village_codes": [villages[3]]}, headers=desk.auth).json()
    assert [v["village_code"] for v in moved["villages"]] == [villages[3]]
    assert client.put(url, json={"village_codes": []}, headers=desk.auth).json()["villages"] == []


def test_coverage_codes_must_be_villages_of_the_county(
    client: TestClient, desk: DeskUser, villages: list[str], db_session: Session
) -> None:
    """Unknown codes and codes of another county are 422, each named with its index; nothing changes."""
    station = _create(client, desk)["station_id"]
    url = f"/v1/stations/{station}/coverage"
    client.put(url, json={"village_codes": [villages[0]]}, headers=desk.auth)
    heping_village = db_session.scalar(
        select(Division.code).where(Division.county_code == HEPING, Division.level == "village")
    )
    township_as_village = villages[1][:9] + "000"
    codes = [villages[1], "210624999999", heping_village, township_as_village]
    resp = client.put(url, json={"village_codes": codes}, headers=desk.auth)
    assert resp.status_code == 422
    assert resp.headers["content-type"] == "application/problem+json"
    problem = resp.json()
    for code in codes[1:]:
        assert code in problem["detail"]
    assert [e["field"] for e in problem["errors"]] == [
        "village_codes.1",
        "village_codes.2",
        "village_codes.3",
    ]
    assert problem["unknown_codes"] == ["210624999999", township_as_village]
    assert problem["outside_county_codes"] == [heping_village]
    assert [v["village_code"] for v in client.get(url, headers=desk.auth).json()["villages"]] == [villages[0]]
    malformed = client.put(url, json={"village_codes": ["2106"]}, headers=desk.auth)
    assert malformed.status_code == 422
    assert malformed.json()["errors"][0]["field"] == "body.village_codes.0"


def test_a_village_maps_to_one_station_per_operator(
    client: TestClient, db_session: Session, desk: DeskUser, villages: list[str]
) -> None:
    """A village another of the operator's stations covers is a 409 naming it; freed, it can move.
    Another operator may cover the same village."""
    first = _create(client, desk)["station_id"]
    second = _create(client, desk, name="二号站")["station_id"]
    client.put(f"/v1/stations/{first}/coverage", json={"village_codes": villages[:2]}, headers=desk.auth)
    resp = client.put(
        f"/v1/stations/{second}/coverage",
        json={"village_codes": [villages[5], villages[1]]},
        headers=desk.auth,
    )
    assert resp.status_code == 409
    assert villages[1] in resp.json()["detail"]
    assert first in resp.json()["detail"]
    assert resp.json()["errors"] == [{"field": "village_codes.1", "reason": f"covered by station {first}"}]
    assert client.get(f"/v1/stations/{second}/coverage", headers=desk.auth).json()["villages"] == []

    client.put(f"/v1/stations/{first}/coverage", json={"village_codes": villages[:1]}, headers=desk.auth)
    moved = client.put(
        f"/v1/stations/{second}/coverage", json={"village_codes": [villages[1]]}, headers=desk.auth
    )
    assert moved.status_code == 200

    other = make_desk_user(db_session, county_code=KUANDIAN)
    theirs = _create(client, other)["station_id"]
    shared = client.put(
        f"/v1/stations/{theirs}/coverage", json={"village_codes": villages[:2]}, headers=other.auth
    )
    assert shared.status_code == 200
    covering = client.get("/v1/stations", params={"covers": villages[1]}, headers=desk.auth).json()["items"]
    assert [s["station_id"] for s in covering] == [second]


def test_retired_village_codes_can_be_covered(
    client: TestClient, desk: DeskUser, villages: list[str], db_session: Session
) -> None:
    """A retired code is accepted and shown as retired: parcels addressed with it still need a station."""
    import_gazetteer(db_session, changed(counties(KUANDIAN, HEPING), villages[0], retired=True))
    station = _create(client, desk)["station_id"]
    resp = client.put(
        f"/v1/stations/{station}/coverage", json={"village_codes": [villages[0]]}, headers=desk.auth
    )
    assert resp.status_code == 200
    assert resp.json()["villages"][0]["retired"] is True


def test_list_pages_with_a_cursor_and_filters(
    client: TestClient, desk: DeskUser, villages: list[str]
) -> None:
    """Pages follow each other without gaps or repeats; the page size is capped; filters apply."""
    ids = [
        _create(client, desk, name=f"站{i}", kind="locker" if i % 3 == 0 else "shop")["station_id"]
        for i in range(7)
    ]
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = client.get("/v1/stations", params=params, headers=desk.auth).json()
        assert len(page["items"]) <= 3
        seen.extend(s["station_id"] for s in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids
    capped = client.get("/v1/stations", params={"limit": 100_000}, headers=desk.auth)
    assert capped.status_code == 200
    assert len(capped.json()["items"]) == 7
    lockers = client.get("/v1/stations", params={"kind": "locker"}, headers=desk.auth).json()["items"]
    assert [s["station_id"] for s in lockers] == ids[::3]
    client.patch(f"/v1/stations/{ids[1]}", json={"active": False}, headers=desk.auth)
    inactive = client.get("/v1/stations", params={"active": "false"}, headers=desk.auth).json()["items"]
    assert [s["station_id"] for s in inactive] == [ids[1]]
    bad = client.get("/v1/stations", params={"cursor": "bm90LWEtY3Vyc29y"}, headers=desk.auth)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "cursor"
    assert client.get("/v1/stations", params={"limit": 0}, headers=desk.auth).status_code == 422


def test_seed_creates_one_station_per_village_committee_once(
    db_session: Session, desk: DeskUser, villages: list[str]
) -> None:
    """One named, placed station per current village committee, covering it; a second run adds nothing,
    and a village already covered by hand is counted as existing."""
    gazetteer = counties(KUANDIAN)
    manual = Station(operator_id=desk.operator_id, name="手工站", kind=StationKind.SHOP)
    db_session.add(manual)
    db_session.flush()
    db_session.add(
        StationCoverage(station_id=manual.id, village_code=villages[0], operator_id=desk.operator_id)
    )
    db_session.flush()

    result = stations.seed_village_stations(db_session, operator_id=desk.operator_id)
    assert (result.created, result.existing) == (len(villages) - 1, 1)
    again = stations.seed_village_stations(db_session, operator_id=desk.operator_id)
    assert (again.created, again.existing) == (0, len(villages))

    seeded = {
        s.village_code: s
        for s in db_session.scalars(
            select(Station).where(Station.operator_id == desk.operator_id, Station.id != manual.id)
        )
    }
    assert set(seeded) == set(villages[1:])
    coverage = dict(
        db_session.execute(
            select(StationCoverage.village_code, StationCoverage.station_id).where(
                StationCoverage.operator_id == desk.operator_id
            )
        ).all()
    )
    for code, station in seeded.items():
        assert coverage[code] == station.id
        assert station.kind is StationKind.VILLAGE_STATION
        village = gazetteer.divisions[code]
        assert station.name == stations.seeded_station_name(village.name)
        township = gazetteer.divisions[village.township_code or ""]
        place = township if township.latitude_e6 is not None else gazetteer.divisions[KUANDIAN]
        assert (station.latitude_e6, station.longitude_e6) == (place.latitude_e6, place.longitude_e6)
    assert {s.name for s in seeded.values()} >= {"东门外村服务站", "西门外村服务站"}
    county_placed = sum(
        1 for s in seeded.values() if s.latitude_e6 == gazetteer.divisions[KUANDIAN].latitude_e6
    )
    assert 0 < county_placed < len(seeded)


def test_seed_skips_retired_villages_and_other_kinds(
    db_session: Session, desk: DeskUser, villages: list[str]
) -> None:
    """Retired village committees and residents' committees get no station."""
    import_gazetteer(db_session, changed(counties(KUANDIAN, HEPING), villages[0], retired=True))
    result = stations.seed_village_stations(db_session, operator_id=desk.operator_id)
    assert result.created == len(villages) - 1
    codes = set(
        db_session.scalars(select(Station.village_code).where(Station.operator_id == desk.operator_id))
    )
    assert villages[0] not in codes
    kinds = set(db_session.scalars(select(Division.kind).where(Division.code.in_(codes))))
    assert kinds == {"village_committee"}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("青山村委会", "青山村服务站"),
        ("青山村民委员会", "青山村服务站"),
        ("青山村", "青山村服务站"),
        ("委会", "委会服务站"),
    ],
)
def test_seeded_station_names(name: str, expected: str) -> None:
    """Village-committee suffixes fold into 村, then 服务站."""
    assert stations.seeded_station_name(name) == expected


@pytest.fixture
def cli_pg(tmp_path: Path):
    url = create_database("gongpei_seed")
    yield url, _env(url, tmp_path)
    drop_database(url)


def _run(env: dict[str, str], *args: str) -> dict[str, Any]:
    proc = subprocess.run([GONGPEI, *args], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1
    return json.loads(lines[0])


def test_cli_seed_stations_is_idempotent(cli_pg: tuple[str, dict[str, str]]) -> None:
    """`gongpei seed stations` imports the missing gazetteer, seeds Kuandian's villages, then adds none."""
    url, env = cli_pg
    env = {**env, "GONGPEI_GAZETTEER_DIR": str(GAZETTEER_DIR)}
    _run(env, "db", "upgrade")
    operator = _run(env, "operator", "create", "--name", "宽甸县共配中心", "--county", KUANDIAN)[
        "operator_id"
    ]
    expected = len(village_committees(counties(KUANDIAN), KUANDIAN))
    assert _run(env, "seed", "stations", "--operator", operator) == {"created": expected, "existing": 0}
    again = _run(env, "seed", "stations", "--operator", operator, "--gazetteer", str(GAZETTEER_DIR))
    assert again == {"created": 0, "existing": expected}

    from dispatch.db import Database, make_engine

    engine = make_engine(url, pool_size=1)
    try:
        with Database(engine).session_scope() as session:
            assert session.scalar(select(func.count()).select_from(Station)) == expected
            assert session.scalar(select(func.count()).select_from(StationCoverage)) == expected
    finally:
        engine.dispose()
