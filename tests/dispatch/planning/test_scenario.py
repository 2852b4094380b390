"""The county scenario: a station per village, seeded placement and parcels, the fleet, the problem."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from dispatch.config import Settings
from dispatch.matching.gazetteer import Gazetteer, load_dir
from dispatch.planning.scenario import (
    ScenarioError,
    ScenarioSpec,
    build_scenario,
    county_villages,
    describe,
    run_scenario,
)
from routing.distance import GreatCircle, haversine_m
from tests.dispatch.gazetteer_data import GAZETTEER_DIR

REPO = Path(__file__).resolve().parents[3]
SETTINGS = Settings(log_level="WARNING")


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return load_dir(GAZETTEER_DIR)


def _spec(county: str = "211104", parcels: int = 3_000, seed: int = 7) -> ScenarioSpec:
    return ScenarioSpec(county_code=county, parcels=parcels, seed=seed, gazetteer_dir=GAZETTEER_DIR)


@pytest.mark.parametrize(("county", "villages"), [("211104", 189), ("211381", 298)])
def test_one_station_per_village_of_the_county(gazetteer: Gazetteer, county: str, villages: int) -> None:
    """大洼区 gets 189 stations and 北票市 298: one per current village-level unit of the gazetteer."""
    scenario = build_scenario(_spec(county), settings=SETTINGS, gazetteer=gazetteer)
    assert len(scenario.stations) == len(county_villages(gazetteer, county)) == villages
    assert {s.code for s in scenario.stations} == {v.code for v in county_villages(gazetteer, county)}
    assert len(scenario.problem.distance_m) == villages + 1  # the depot first


def test_same_seed_same_scenario_other_seed_other_scenario(gazetteer: Gazetteer) -> None:
    """Placement, parcels, stops and matrices repeat exactly for a seed and change with it."""
    first = build_scenario(_spec(seed=3), settings=SETTINGS, gazetteer=gazetteer)
    again = build_scenario(_spec(seed=3), settings=SETTINGS, gazetteer=gazetteer)
    other = build_scenario(_spec(seed=4), settings=SETTINGS, gazetteer=gazetteer)
    assert first.stations == again.stations
    assert first.parcels == again.parcels
    assert first.problem == again.problem
    assert first.stations != other.stations
    assert first.parcels != other.parcels


def test_fleet_is_twelve_vehicles_two_refrigerated(gazetteer: Gazetteer) -> None:
    """12 vehicles from the county-seat hub, 2 of them refrigerated and smaller."""
    problem = build_scenario(_spec(), settings=SETTINGS, gazetteer=gazetteer).problem
    assert len(problem.vehicles) == 12
    cold = [v for v in problem.vehicles if v.refrigerated]
    assert len(cold) == 2
    assert all(v.capacity == (1_000_000, 6_000_000, 600) for v in cold)
    assert all(v.start_depot == v.end_depot == "hub" for v in problem.vehicles)
    problem.validate()


def test_a_fifth_of_stations_have_produce_to_pick_up(gazetteer: Gazetteer) -> None:
    """About 20 % of stations have pickups, and pickups are only there; cold parcels only at freezers."""
    scenario = build_scenario(_spec(), settings=SETTINGS, gazetteer=gazetteer)
    pickup_stations = {s.code for s in scenario.stations if s.pickup}
    assert len(pickup_stations) / len(scenario.stations) == pytest.approx(0.20, abs=0.01)
    assert {p.station for p in scenario.parcels if p.direction == "pickup"} - {None} <= pickup_stations
    cold_stations = {s.code for s in scenario.stations if s.cold}
    assert {p.station for p in scenario.parcels if p.cold} - {None} <= cold_stations
    pickup_stops = {s.group for s in scenario.problem.stops if any(s.pickup)}
    assert pickup_stops <= pickup_stations


def test_stops_carry_every_batched_parcel(gazetteer: Gazetteer) -> None:
    """Every parcel is in one stop or reported (late or unmatched); cold stops are refrigerated."""
    scenario = build_scenario(_spec(), settings=SETTINGS, gazetteer=gazetteer)
    placed = Counter(pid for pids in scenario.batch.parcels_by_stop.values() for pid in pids)
    kept = Counter(n.parcel_id for n in scenario.batch.not_batched)
    assert placed + kept == Counter(p.id for p in scenario.parcels)
    assert {n.reason.value for n in scenario.batch.not_batched} <= {"after_cutoff", "no_station"}
    by_id = {p.id: p for p in scenario.parcels}
    for stop in scenario.problem.stops:
        members = [by_id[pid] for pid in scenario.batch.parcels_by_stop[stop.id]]
        assert stop.refrigerated == members[0].cold
        assert stop.delivery[0] == sum(p.weight_g for p in members if p.direction == "delivery")
        assert stop.window is not None


def test_villages_are_placed_near_their_township(gazetteer: Gazetteer) -> None:
    """Villages lie within the county's reach of the seat, and the placement rule is stated."""
    scenario = build_scenario(_spec(), settings=SETTINGS, gazetteer=gazetteer)
    far = max(haversine_m(scenario.seat, s.point) for s in scenario.stations)
    assert 10_000 < far < 60_000
    assert "no published coordinates" in scenario.placement
    assert Counter(scenario.township_sources.values())["published"] == 9
    published = {
        s.code: s for s in scenario.stations if scenario.township_sources[s.township_code] == "published"
    }
    tianzhuangtai = (40.83914, 122.13802)
    near = [s for s in published.values() if s.township_code == "211104101"]
    radius_m = math.sqrt(13 * 12.9 / math.pi) * 1000
    assert near
    assert all(haversine_m(tianzhuangtai, s.point) <= radius_m + 1 for s in near)


def test_describe_reports_the_figures(gazetteer: Gazetteer) -> None:
    """The pre-solve report names stations, parcels, fleet, placement and the distance provider."""
    report = describe(build_scenario(_spec(), settings=SETTINGS, gazetteer=gazetteer))
    assert report["stations"] == 189
    assert report["parcels"]["generated"] == 3_000
    assert report["vehicles"]["count"] == 12
    assert report["vehicles"]["refrigerated"] == 2
    assert report["distance_provider"] == GreatCircle().key
    assert report["placement"]
    json.dumps(report, ensure_ascii=False)


def test_unknown_county_is_refused(gazetteer: Gazetteer) -> None:
    """A county code the gazetteer lacks raises ``ScenarioError`` naming the field."""
    with pytest.raises(ScenarioError) as caught:
        build_scenario(_spec("219999"), settings=SETTINGS, gazetteer=gazetteer)
    assert caught.value.field == "county"


def test_small_scenario_solves_and_the_checker_agrees() -> None:
    """A 300-parcel wave solved with one worker to the first solution: the checker finds no violation
    and every left-out stop has a reason."""
    report = run_scenario(
        _spec(parcels=300, seed=1), settings=SETTINGS, time_limit_s=60, solution_limit=1, workers=1
    )
    if not report["solved"]:
        pytest.xfail(report["error"])
    assert report["checker"]["violations"] == 0, report["checker"]["first"]
    assert all(u["reason"] for u in report["unassigned"]["stops"])
    assert report["cost_fen"] > 0
    json.dumps(report, ensure_ascii=False)


def test_cli_prints_one_json_object() -> None:
    """``gongpei scenario`` prints one JSON object with the county's figures (solved or not)."""
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "from dispatch.cli import main; main()",
            "scenario",
            "--county",
            "211104",
            "--parcels",
            "200",
            "--seed",
            "2",
            "--gazetteer",
            str(GAZETTEER_DIR),
            "--time-limit",
            "3",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["stations"] == 189
    assert report["parcels"]["generated"] == 200
    assert "peak_rss_mb" in report
