"""Benchmark files into routing problems and plans back into the files' terms (no database needed)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import vrplib
from typer.testing import CliRunner

from dispatch.cli import app
from dispatch.planning.instances import (
    InstanceError,
    answer_from_solution,
    check_routes,
    detect_format,
    distance_matrix,
    edge,
    read_instance,
    route_cost,
    to_problem,
)
from routing.problem import Route, Solution, Trip, Unassigned, UnassignedReason, Visit

BENCHMARKS = Path("/work/shared/benchmarks")
C101 = BENCHMARKS / "solomon" / "C101.txt"
X101 = BENCHMARKS / "cvrplib_x" / "X-n101-k25.vrp"
X_INSTANCES = sorted(p.stem for p in (BENCHMARKS / "cvrplib_x").glob("*.vrp"))
GONGPEI = str(Path(sys.executable).with_name("gongpei"))

# Depot at the origin; 0→1 = 5, 1→2 = 5, 2→0 = 10, 0→3 = √2 ≈ 1.41 (1.4 in DIMACS tenths), 1→3 = √13 ≈ 3.61.
TINY_SOLOMON = """TINY

VEHICLE
NUMBER     CAPACITY
  2         10

CUSTOMER
CUST NO.  XCOORD.   YCOORD.    DEMAND   READY TIME  DUE DATE   SERVICE   TIME

    0      0          0          0          0        100          0
    1      3          4          4          0         50          1
    2      6          8          4          0         50          1
    3      1          1          5          0          2          1
"""

NO_DEMANDS = (
    "NAME : t\nTYPE : CVRP\nDIMENSION : 2\nEDGE_WEIGHT_TYPE : EUC_2D\nNODE_COORD_SECTION\n1 0 0\n2 1 1\n"
)
HEADER_ONLY = "\n".join(TINY_SOLOMON.splitlines()[:9]) + "\n"


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.txt"
    path.write_text(TINY_SOLOMON.replace("\n", "\r\n"), encoding="utf-8")
    return path


def _bks() -> dict[str, dict[str, str]]:
    with (BENCHMARKS / "bks.csv").open(newline="", encoding="utf-8") as handle:
        return {row["instance"]: row for row in csv.DictReader(handle)}


def _solution(
    routes: list[list[int]], *, feasible: bool = True, unassigned: tuple[int, ...] = ()
) -> Solution:
    trips = [
        Trip(
            visits=tuple(Visit(stop_id=str(c), arrival_s=0, start_s=0, load_after=(0, 0, 0)) for c in route),
            depart_s=0,
            return_s=0,
            distance_m=0,
            load_out=(0, 0, 0),
        )
        for route in routes
    ]
    return Solution(
        routes=tuple(
            Route(vehicle_id=f"v{k}", trips=(trip,), distance_m=0, duration_s=0, cost_fen=0)
            for k, trip in enumerate(trips)
        ),
        unassigned=tuple(
            Unassigned(stop_id=str(c), reason=UnassignedReason.CAPACITY, detail="") for c in unassigned
        ),
        cost_fen=0,
        distance_m=0,
        feasible=feasible,
        engine="hand",
    )


def test_solomon_file_reads_with_dimacs_units() -> None:
    """C101: 101 nodes, depot 0, 25 vehicles of 200, demands, windows and service times ×10."""
    instance = read_instance(C101)
    assert (instance.name, instance.format, instance.rule, instance.scale) == (
        "C101",
        "solomon",
        "dimacs",
        10,
    )
    assert instance.size == 101
    assert instance.depot == 0
    assert instance.customers == tuple(range(1, 101))
    assert (instance.vehicles, instance.fleet, instance.capacity) == (25, 25, 200)
    assert instance.demand[:3] == (0, 10, 30)
    assert instance.windows is not None
    assert instance.windows[:3] == ((0, 12360), (9120, 9670), (8250, 8700))
    assert instance.service[:3] == (0, 900, 900)
    assert instance.depot_window == (0, 12360)
    assert instance.max_route is None


def test_gehring_homberger_file_reads() -> None:
    """GH c1_2_1: 201 nodes, 50 vehicles of 200."""
    instance = read_instance(BENCHMARKS / "homberger_200" / "c1_2_1.txt")
    assert (instance.size, instance.vehicles, instance.capacity, instance.depot) == (201, 50, 200, 0)
    assert instance.windows is not None
    assert instance.windows[1] == (7500, 8090)


def test_x_file_reads_as_cvrp_with_unbounded_fleet() -> None:
    """X-n101-k25: 101 nodes, depot 0, capacity 206, no windows, no fleet limit, integer distances."""
    instance = read_instance(X101)
    assert (instance.name, instance.format, instance.rule, instance.scale) == (
        "X-n101-k25",
        "vrplib",
        "nint",
        1,
    )
    assert (instance.size, instance.depot, instance.capacity) == (101, 0, 206)
    assert instance.vehicles is None
    assert instance.windows is None
    assert instance.demand[:3] == (0, 38, 51)
    assert set(instance.service) == {0}
    # The BKS uses 26 routes; the bound must leave room for it and stay below one route per customer.
    assert 26 <= instance.fleet < 100


def test_distance_rules_truncate_for_vrptw_and_round_for_x() -> None:
    """DIMACS keeps ⌊10·d⌋ tenths; TSPLIB EUC_2D rounds to the nearest integer (known pairs)."""
    c101 = read_instance(C101)
    assert c101.distance[0][1] == 186  # √349 = 18.68… → 18.6
    x101 = read_instance(X101)
    assert x101.distance[0][1] == 554  # 554.11…
    assert x101.distance[0][4] == 430  # 429.86… rounds up, where truncation would give 429
    coords = np.array([[0, 0], [3, 4], [1, 2], [2, 3]], dtype=float)
    dimacs = distance_matrix(coords, "dimacs")
    nint = distance_matrix(coords, "nint")
    assert dimacs[0].tolist() == [0, 50, 22, 36]  # 5, √5 = 2.236…, √13 = 3.605…
    assert nint[0].tolist() == [0, 5, 2, 4]


def test_fractional_coordinates_use_the_same_rules() -> None:
    """Coordinates with decimals truncate (DIMACS) or round (TSPLIB) in floating point."""
    coords = np.array([[0.0, 0.0], [0.5, 1.2], [2.5, 0.0]])
    assert distance_matrix(coords, "dimacs")[0].tolist() == [0, 13, 25]  # 1.3, 2.5
    assert distance_matrix(coords, "nint")[0].tolist() == [0, 1, 3]  # 1.3 → 1, 2.5 → 3


@pytest.mark.parametrize("path", [C101, BENCHMARKS / "homberger_200" / "r1_2_1.txt", X101])
def test_matrix_matches_the_independent_measurement(path: Path) -> None:
    """The problem's matrix equals each distance measured afresh from the coordinates."""
    instance = read_instance(path)
    for a in range(instance.size):
        for b in range(instance.size):
            assert instance.distance[a][b] == edge(instance, a, b)


@pytest.mark.parametrize("name", X_INSTANCES)
def test_x_bks_recosts_to_the_published_value(name: str) -> None:
    """The BKS .sol of each X instance re-costs to its bks.csv value and checks out feasible."""
    instance = read_instance(BENCHMARKS / "cvrplib_x" / f"{name}.vrp")
    solution = vrplib.read_solution(BENCHMARKS / "cvrplib_x" / f"{name}.sol")
    row = _bks()[name]
    assert route_cost(instance, solution["routes"]) == solution["cost"] == int(row["bks"])
    check = check_routes(instance, solution["routes"])
    assert check.feasible, check.violations
    assert check.cost == int(row["bks"])
    assert check.vehicles == int(row["bks_vehicles"])
    assert instance.fleet >= check.vehicles


def test_hand_made_solution_converts_to_customer_ids_and_cost(tiny: Path) -> None:
    """Stops come back as the file's customer numbers, one list per trip, cost in the file's units."""
    instance = read_instance(tiny)
    answer = answer_from_solution(instance, _solution([[3], [1, 2]]))
    assert answer.routes == ((3,), (1, 2))
    assert answer.cost == 22.8  # 1.4 + 1.4 + 5 + 5 + 10
    assert answer.vehicles == 2
    assert answer.feasible
    assert answer.to_json() == {
        "routes": [[3], [1, 2]],
        "cost": 22.8,
        "vehicles": 2,
        "feasible": True,
        "unassigned": [],
        "engine": "hand",
    }
    assert route_cost(instance, answer.routes) == answer.cost


def test_solution_with_unassigned_stops_is_infeasible(tiny: Path) -> None:
    """A plan that leaves a customer out is reported infeasible with the customer's id."""
    instance = read_instance(tiny)
    answer = answer_from_solution(instance, _solution([[1, 2]], feasible=False, unassigned=(3,)))
    assert answer.unassigned == (3,)
    assert not answer.feasible
    assert answer.cost == 20.0


def test_checker_finds_late_service_overload_and_repeats(tiny: Path) -> None:
    """Service after the due date, load over capacity, a repeated or unknown id are all violations."""
    instance = read_instance(tiny)
    late = check_routes(instance, [[1, 3], [2]])  # reaches 3 at 5 + 1 + 3.6 = 9.6 > due 2
    assert not late.feasible
    assert any("customer 3 served at 9.6" in v for v in late.violations)
    heavy = check_routes(instance, [[3, 1, 2]])  # load 13 > 10
    assert any("exceeds the capacity" in v for v in heavy.violations)
    repeated = check_routes(instance, [[3], [1, 2, 1]])
    assert any("served twice" in v for v in repeated.violations)
    unknown = check_routes(instance, [[3], [1, 2, 0]])
    assert any("not a customer" in v for v in unknown.violations)
    too_many = check_routes(instance, [[3], [1], [2]])
    assert any("routes for a fleet of 2" in v for v in too_many.violations)


def test_vrplib_vrptw_file_reads_like_the_solomon_file(tmp_path: Path) -> None:
    """C101 written as VRPLIB (PyVRP/Instances layout) gives the same integer data as the Solomon file."""
    solomon = read_instance(C101)
    raw = vrplib.read_instance(C101, instance_format="solomon", compute_edge_weights=False)
    path = tmp_path / "C101.vrp"
    vrplib.write_instance(
        path,
        {
            "NAME": "C101",
            "TYPE": "CVRPTW",
            "DIMENSION": 101,
            "VEHICLES": 25,
            "CAPACITY": 200,
            "SERVICE_TIME": 90,
            "EDGE_WEIGHT_TYPE": "EUC_2D",
            "NODE_COORD_SECTION": raw["node_coord"],
            "DEMAND_SECTION": raw["demand"],
            "TIME_WINDOW_SECTION": raw["time_window"],
            "DEPOT_SECTION": [1, -1],
        },
    )
    instance = read_instance(path)
    assert instance.format == "vrplib"
    for field in (
        "rule",
        "scale",
        "depot",
        "demand",
        "capacity",
        "service",
        "windows",
        "vehicles",
        "distance",
    ):
        assert getattr(instance, field) == getattr(solomon, field), field


def test_problem_has_a_stop_per_customer_and_the_fleet(tiny: Path) -> None:
    """Stops are named by customer id, capacity sits in the first dimension, cost is 1 per matrix unit."""
    instance = read_instance(tiny)
    problem = to_problem(instance)
    problem.validate()
    assert [s.id for s in problem.stops] == ["1", "2", "3"]
    assert [s.delivery for s in problem.stops] == [(4, 0, 0), (4, 0, 0), (5, 0, 0)]
    assert problem.stops[2].window is not None
    assert (problem.stops[2].window.start, problem.stops[2].window.end, problem.stops[2].service_s) == (
        0,
        20,
        10,
    )
    assert len(problem.vehicles) == 2
    assert {(v.capacity, v.cost_per_km_fen, v.fixed_cost_fen) for v in problem.vehicles} == {
        ((10, 0, 0), 1, 0)
    }
    assert problem.distance_m == problem.duration_s == instance.distance


def test_cvrp_problem_gets_a_shift_longer_than_any_route() -> None:
    """Without time windows the depot's day outlasts a route through every customer."""
    instance = read_instance(X101)
    problem = to_problem(instance)
    problem.validate()
    start, end = instance.depot_window
    assert start == 0
    assert end > sum(max(row) for row in instance.distance)
    assert all(s.window is None for s in problem.stops)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("garbage\n", "neither a Solomon nor a VRPLIB"),
        (NO_DEMANDS, "no DEMAND_SECTION"),
        (TINY_SOLOMON.replace("0          2          1", "9          2          1"), "before it is ready"),
        (TINY_SOLOMON.replace("  2         10", "  0         10"), "vehicle number"),
        (HEADER_ONLY, "not a valid"),
        (TINY_SOLOMON.replace("    3      1", "    7      1"), "customer numbers must run"),
        (TINY_SOLOMON.replace("4          0         50", "x          0         50"), "not a number"),
    ],
)
def test_unusable_files_raise_instance_error(tmp_path: Path, text: str, reason: str) -> None:
    """Garbage, no demands, a window closing before it opens, no fleet, no rows, renumbered or odd rows."""
    path = tmp_path / "bad.txt"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InstanceError, match=reason):
        read_instance(path)


def test_solomon_values_with_decimals_are_read_as_written(tmp_path: Path) -> None:
    """A Solomon table with fractions keeps them (vrplib alone would read 3.5 as −1)."""
    path = tmp_path / "decimal.txt"
    path.write_text(
        TINY_SOLOMON.replace("    1      3          4", "    1      3.5        4"), encoding="utf-8"
    )
    instance = read_instance(path)
    assert instance.coords is not None
    assert instance.coords[1] == (3.5, 4.0)
    assert instance.distance[0][1] == 53  # √28.25 = 5.31…


def test_missing_and_binary_files_raise_instance_error(tmp_path: Path) -> None:
    """A path that does not exist, a directory and binary bytes are errors, not crashes."""
    with pytest.raises(InstanceError, match="cannot read"):
        read_instance(tmp_path / "absent.vrp")
    with pytest.raises(InstanceError, match="cannot read"):
        read_instance(tmp_path)
    binary = tmp_path / "blob.vrp"
    binary.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(InstanceError):
        read_instance(binary)


def test_format_is_detected_from_content() -> None:
    """Solomon by its VEHICLE/CUSTOMER header, VRPLIB by its KEY : value lines and sections."""
    assert detect_format(TINY_SOLOMON) == "solomon"
    assert detect_format(X101.read_text(encoding="utf-8")) == "vrplib"


def test_cli_refuses_an_unreadable_file(tmp_path: Path) -> None:
    """`gongpei solve` on a file that is no instance exits 2 with a JSON error on stderr only."""
    path = tmp_path / "bad.vrp"
    path.write_text("not an instance\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["solve", str(path), "--time-limit", "1"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert json.loads(result.stderr)["field"] == "file"


@pytest.mark.parametrize("limit", ["0", "-3", "nan"])
def test_cli_refuses_a_non_positive_time_limit(limit: str) -> None:
    """`gongpei solve --time-limit 0` (or negative, or NaN) exits 2 before reading or solving."""
    result = CliRunner().invoke(app, ["solve", str(C101), "--time-limit", limit])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert json.loads(result.stderr)["field"] == "time_limit"


def test_cli_solves_a_small_instance_end_to_end(tiny: Path) -> None:
    """The installed `gongpei solve` prints one JSON plan covering every customer, re-costed the same."""
    proc = subprocess.run(
        [GONGPEI, "solve", str(tiny), "--time-limit", "1", "--seed", "1"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    answer = json.loads(proc.stdout)
    assert answer["instance"] == "TINY"
    assert answer["feasible"] is True
    assert sorted(c for route in answer["routes"] for c in route) == [1, 2, 3]
    assert answer["vehicles"] == len(answer["routes"]) <= 2
    instance = read_instance(tiny)
    assert answer["cost"] == route_cost(instance, answer["routes"]) == 22.8
