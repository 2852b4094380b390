"""A synthetic wave for one real county: a station per village, drawn parcels, a fleet, solved and checked.

Everything is drawn from ``random.Random`` streams seeded by (seed, purpose, county), so a seed gives the
same scenario on every machine. The gazetteer is read where it lies (``--gazetteer``, default
``settings.gazetteer_dir``); nothing is copied.

**Placement** (villages have no published coordinates, see the gazetteer's SOURCE.md). Each village-level
unit is given an area: a village committee (or farm/other unit) the province's land shared equally among
its village committees (148,000 km² ÷ the gazetteer's Liaoning 村委会, ≈ 12.9 km²), a residents' committee
(urban 社区) 1 km². A township occupies a disc of the summed area of its villages around its point, the
county a disc of the summed area of all of them around the county seat. A township's point is its
published one (GeoNames via township_coords.csv, any confidence); a 街道 without one sits at the county
seat (subdistricts are the seat's urban area); any other township without one is drawn uniformly from
the county disc outside its inner 30 % radius. Village committees are then drawn uniformly from their
township's disc, residents' committees from its inner third (the town centre).

**Demand.** Each station gets a weight, lognormal(μ=0, σ=0.8), ×1.5 for residents' committees; parcels go
to stations in proportion (so village demand is skewed: the busiest take several times the median).
4 % of parcels are pickups (farm produce) at the 20 % of stations that have produce; 3 % of deliveries
are cold-chain, for the 15 % of stations with a freezer. Weights: ambient lognormal with median 0.8 kg,
σ=0.9 (mean ≈1.2 kg); cold median 1.5 kg, σ=0.5; produce median 5 kg, σ=0.6; clipped to 50 g – 30 kg.
Volume: weight × a bulk of lognormal median 5 cm³/g (≈200 kg/m³), σ=0.5. Pieces: 1 (95 %), 2 (4 %),
3 (1 %). Receipt: uniform over the wave (yesterday 13:30 to 08:30), plus 1 % arriving after the cut-off
and 0.5 % unmatched to any station (both reported as not batched). 10 % are due today.

**Stations** open 08:00–18:00 (60 %), 07:30–20:00 (25 %, shop-run) or 09:00–17:00 (15 %, part-time);
service 4 min a stop plus 6 s a piece.

**Fleet**: 10 light box trucks (1.5 t, 12 m³, 1,500 pieces; ¥260 a day, ¥1.10/km) and 2 refrigerated
light trucks (1.0 t, 6 m³, 600 pieces; ¥320 a day, ¥1.50/km), from the county-seat hub, shift
08:45–18:45 (after the 08:30 cut-off and loading), at most 10 h and 2 trips with 30 min to reload.
"""

from __future__ import annotations

import math
import os
import random
import resource
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from dispatch.config import Settings
from dispatch.matching.gazetteer import Division, Gazetteer, Level, load_dir
from dispatch.planning.distances import operator_matrices, provider_for
from routing.batching import Batch, ParcelRecord, StationSite, WaveWindow, batch
from routing.distance import DistanceProvider, Point
from routing.problem import DIMENSIONS, Depot, Problem, Solution, TimeWindow, Vehicle

LIAONING_LAND_KM2 = 148_000.0
RESIDENTS_COMMITTEE_KM2 = 1.0
INNER_SHARE = 0.3
KM_PER_DEGREE = 111.32
HUB = "hub"
DAY = 24 * 3600


def _hm(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 3600 + int(minutes) * 60


CUTOFF_S = _hm("08:30")
PREVIOUS_CUTOFF_S = _hm("13:30") - DAY
OPENING_HOURS: tuple[tuple[float, str, str], ...] = (
    (0.60, "08:00", "18:00"),
    (0.25, "07:30", "20:00"),
    (0.15, "09:00", "17:00"),
)


class ScenarioError(Exception):
    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class FleetClass:
    prefix: str
    count: int
    capacity: tuple[int, int, int]
    fixed_cost_fen: int
    cost_per_km_fen: int
    refrigerated: bool


DEFAULT_FLEET = (
    FleetClass("V", 10, (1_500_000, 12_000_000, 1_500), 26_000, 110, refrigerated=False),
    FleetClass("R", 2, (1_000_000, 6_000_000, 600), 32_000, 150, refrigerated=True),
)


@dataclass(frozen=True, slots=True)
class ScenarioSpec:
    county_code: str = "211104"
    parcels: int = 10_000
    seed: int = 0
    gazetteer_dir: Path = Path("../shared/data/liaoning")
    fleet: tuple[FleetClass, ...] = DEFAULT_FLEET
    pickup_station_share: float = 0.20
    cold_station_share: float = 0.15
    pickup_share: float = 0.04
    cold_share: float = 0.03
    late_share: float = 0.01
    unmatched_share: float = 0.005
    due_share: float = 0.10
    service_s: int = 240
    service_per_piece_s: int = 6
    shift: TimeWindow = TimeWindow(_hm("08:45"), _hm("18:45"))
    depot_window: TimeWindow = TimeWindow(_hm("07:00"), _hm("21:00"))
    max_duration_s: int = 10 * 3600
    max_trips: int = 2
    reload_s: int = 1800


@dataclass(frozen=True, slots=True)
class ScenarioStation:
    code: str
    name: str
    township_code: str
    kind: str
    point: Point
    location: int
    demand_weight: float
    window: TimeWindow
    pickup: bool
    cold: bool


@dataclass(frozen=True)
class Scenario:
    spec: ScenarioSpec
    county: Division
    seat: Point
    township_sources: dict[str, str]
    """Township code → where its point came from: published, seat or drawn."""
    stations: tuple[ScenarioStation, ...]
    parcels: tuple[ParcelRecord, ...]
    batch: Batch
    problem: Problem
    provider: str
    placement: str = field(default="")


def _stream(spec: ScenarioSpec, purpose: str) -> random.Random:
    # A string seed is hashed with SHA-512 by ``random``: the same on every machine and Python run.
    return random.Random(f"{spec.seed}:{purpose}:{spec.county_code}")


def _offset(origin: Point, east_km: float, north_km: float) -> Point:
    lat = origin[0] + north_km / KM_PER_DEGREE
    lon = origin[1] + east_km / (KM_PER_DEGREE * math.cos(math.radians(origin[0])))
    return (round(lat, 6), round(lon, 6))


def _in_disc(rng: random.Random, origin: Point, radius_km: float, inner_km: float = 0.0) -> Point:
    """Uniform by area in the ring inner_km ≤ r ≤ radius_km around ``origin``."""
    r = math.sqrt(inner_km**2 + rng.random() * (radius_km**2 - inner_km**2))
    theta = rng.random() * 2 * math.pi
    return _offset(origin, r * math.cos(theta), r * math.sin(theta))


def _point(division: Division) -> Point | None:
    if division.latitude_e6 is None or division.longitude_e6 is None:
        return None
    return (division.latitude_e6 / 1e6, division.longitude_e6 / 1e6)


def county_villages(gazetteer: Gazetteer, county_code: str) -> list[Division]:
    """The county's current (not retired) village-level units, by code."""
    return sorted(
        (v for v in gazetteer.villages() if v.county_code == county_code and not v.retired),
        key=lambda v: v.code,
    )


def place_villages(
    gazetteer: Gazetteer, county_code: str, rng: random.Random
) -> tuple[Point, dict[str, Point], dict[str, str]]:
    """(county seat, village code → point, township code → published | seat | drawn); see the module
    docstring for the rule. Raises ``ScenarioError`` for a county without a seat point or villages."""
    county = gazetteer.divisions.get(county_code)
    if county is None or county.level is not Level.COUNTY:
        raise ScenarioError(f"county {county_code!r} is not in the gazetteer", field="county")
    seat = _point(county)
    if seat is None:
        raise ScenarioError(f"county {county_code} has no seat point in county_coords.csv", field="county")
    villages = county_villages(gazetteer, county_code)
    if not villages:
        raise ScenarioError(f"county {county_code} has no villages in the gazetteer", field="county")
    committees = sum(
        1 for v in gazetteer.villages() if v.code.startswith("21") and v.kind == "village_committee"
    )
    committee_km2 = LIAONING_LAND_KM2 / max(1, committees)

    def area(v: Division) -> float:
        return RESIDENTS_COMMITTEE_KM2 if v.kind == "residents_committee" else committee_km2

    by_township: dict[str, list[Division]] = {}
    for v in villages:
        by_township.setdefault(v.township_code or county_code, []).append(v)
    county_radius = math.sqrt(sum(area(v) for v in villages) / math.pi)
    points: dict[str, Point] = {}
    sources: dict[str, str] = {}
    for code in sorted(by_township):
        members = by_township[code]
        township = gazetteer.divisions.get(code)
        centre = _point(township) if township is not None else None
        if centre is not None:
            sources[code] = "published"
        elif township is not None and township.kind == "街道":
            centre, sources[code] = seat, "seat"
        else:
            centre = _in_disc(rng, seat, county_radius, INNER_SHARE * county_radius)
            sources[code] = "drawn"
        radius = math.sqrt(sum(area(v) for v in members) / math.pi)
        for v in members:
            reach = radius / 3 if v.kind == "residents_committee" else radius
            points[v.code] = _in_disc(rng, centre, reach)
    return seat, points, sources


def _lognormal(rng: random.Random, median: float, sigma: float, low: float, high: float) -> float:
    return min(high, max(low, median * math.exp(rng.gauss(0.0, sigma))))


def _pieces(rng: random.Random) -> int:
    u = rng.random()
    return 1 if u < 0.95 else 2 if u < 0.99 else 3


def _choose(rng: random.Random, pool: list[ScenarioStation], cumulative: list[float]) -> ScenarioStation:
    return rng.choices(pool, cum_weights=cumulative, k=1)[0]


def _cumulative(pool: list[ScenarioStation]) -> list[float]:
    total = 0.0
    out = []
    for s in pool:
        total += s.demand_weight
        out.append(total)
    return out


def _parcels(spec: ScenarioSpec, stations: list[ScenarioStation]) -> list[ParcelRecord]:
    rng = _stream(spec, "parcels")
    everyone = stations
    pickup_pool = [s for s in stations if s.pickup] or stations
    cold_pool = [s for s in stations if s.cold] or stations
    cumulative = {id(p): _cumulative(p) for p in (everyone, pickup_pool, cold_pool)}
    n_pickup = round(spec.parcels * spec.pickup_share)
    n_cold = round((spec.parcels - n_pickup) * spec.cold_share)
    records: list[ParcelRecord] = []
    for i in range(spec.parcels):
        if i < n_pickup:
            pool, direction, cold = pickup_pool, "pickup", False
            weight = _lognormal(rng, 5_000, 0.6, 50, 30_000)
        elif i < n_pickup + n_cold:
            pool, direction, cold = cold_pool, "delivery", True
            weight = _lognormal(rng, 1_500, 0.5, 50, 30_000)
        else:
            pool, direction, cold = everyone, "delivery", False
            weight = _lognormal(rng, 800, 0.9, 50, 30_000)
        station = _choose(rng, pool, cumulative[id(pool)])
        bulk = _lognormal(rng, 5.0, 0.5, 1.0, 40.0)
        u = rng.random()
        if u < spec.late_share:
            received = CUTOFF_S + 1 + rng.randrange(1800)
        else:
            received = PREVIOUS_CUTOFF_S + 1 + rng.randrange(CUTOFF_S - PREVIOUS_CUTOFF_S)
        unmatched = spec.late_share <= u < spec.late_share + spec.unmatched_share
        records.append(
            ParcelRecord(
                id=f"P{i:06d}",
                station=None if unmatched else station.code,
                received_at=received,
                weight_g=round(weight),
                volume_cm3=max(100, round(weight * bulk)),
                pieces=_pieces(rng),
                cold=cold,
                direction="pickup" if direction == "pickup" else "delivery",
                due=rng.random() < spec.due_share,
            )
        )
    return records


def _vehicles(spec: ScenarioSpec) -> tuple[Vehicle, ...]:
    return tuple(
        Vehicle(
            id=f"{cls.prefix}{k:02d}",
            capacity=cls.capacity,
            start_depot=HUB,
            end_depot=HUB,
            shift=spec.shift,
            fixed_cost_fen=cls.fixed_cost_fen,
            cost_per_km_fen=cls.cost_per_km_fen,
            max_duration_s=spec.max_duration_s,
            refrigerated=cls.refrigerated,
            max_trips=spec.max_trips,
            reload_s=spec.reload_s,
        )
        for cls in spec.fleet
        for k in range(1, cls.count + 1)
    )


def placement_note(sources: dict[str, str], committee_km2: float | None = None) -> str:
    counts = Counter(sources.values())
    return (
        "Villages have no published coordinates: each is drawn (seeded) uniformly in a disc around its "
        "township's point whose area is the sum of its villages' shares (a village committee "
        f"{committee_km2 or 0:.1f} km², i.e. Liaoning's land ÷ its village committees; a residents' "
        f"committee {RESIDENTS_COMMITTEE_KM2:g} km², drawn in the inner third). Township points: "
        f"{counts['published']} published (GeoNames), {counts['seat']} subdistricts at the county seat, "
        f"{counts['drawn']} drawn in the county disc (outside its inner {INNER_SHARE:.0%}); the depot is "
        "the county seat."
    )


def build_scenario(
    spec: ScenarioSpec,
    *,
    settings: Settings,
    gazetteer: Gazetteer | None = None,
    provider: DistanceProvider | None = None,
) -> Scenario:
    """Stations, parcels, stops and the routing problem for ``spec``; deterministic for a seed (and
    provider). Raises ``ScenarioError`` for a county the gazetteer cannot place."""
    if gazetteer is None:
        try:
            gazetteer = load_dir(spec.gazetteer_dir)
        except FileNotFoundError as exc:
            raise ScenarioError(str(exc), field="gazetteer") from exc
    seat, points, sources = place_villages(gazetteer, spec.county_code, _stream(spec, "placement"))
    villages = county_villages(gazetteer, spec.county_code)
    rng = _stream(spec, "stations")
    n = len(villages)
    pickup_codes = {v.code for v in rng.sample(villages, round(n * spec.pickup_station_share))}
    cold_codes = {v.code for v in rng.sample(villages, max(1, round(n * spec.cold_station_share)))}
    stations: list[ScenarioStation] = []
    for k, village in enumerate(villages, start=1):
        u = rng.random()
        share = 0.0
        hours = OPENING_HOURS[-1]
        for option in OPENING_HOURS:
            share += option[0]
            if u < share:
                hours = option
                break
        weight = math.exp(rng.gauss(0.0, 0.8)) * (1.5 if village.kind == "residents_committee" else 1.0)
        stations.append(
            ScenarioStation(
                code=village.code,
                name=village.name,
                township_code=village.township_code or "",
                kind=village.kind or "",
                point=points[village.code],
                location=k,
                demand_weight=weight,
                window=TimeWindow(_hm(hours[1]), _hm(hours[2])),
                pickup=village.code in pickup_codes,
                cold=village.code in cold_codes,
            )
        )
    parcels = _parcels(spec, stations)
    vehicles = _vehicles(spec)
    sites = {
        s.code: StationSite(
            location=s.location,
            window=s.window,
            service_s=spec.service_s,
            service_per_piece_s=spec.service_per_piece_s,
        )
        for s in stations
    }
    window = WaveWindow(name="08:30", index=1, start=PREVIOUS_CUTOFF_S, cutoff=CUTOFF_S)
    batched = batch(parcels, stations=sites, vehicles=vehicles, window=window)
    provider = provider or provider_for(settings)
    matrices = operator_matrices(
        operator=f"scenario:{spec.county_code}:{spec.seed}",
        points=[seat, *(s.point for s in stations)],
        settings=settings,
        provider=provider,
    )
    problem = Problem(
        depots=(Depot(id=HUB, location=0, window=spec.depot_window),),
        stops=batched.stops,
        vehicles=vehicles,
        distance_m=matrices.distance_m,
        duration_s=matrices.duration_s,
    )
    committees = sum(
        1 for v in gazetteer.villages() if v.code.startswith("21") and v.kind == "village_committee"
    )
    county = gazetteer.divisions[spec.county_code]
    return Scenario(
        spec=spec,
        county=county,
        seat=seat,
        township_sources=sources,
        stations=tuple(stations),
        parcels=tuple(parcels),
        batch=batched,
        problem=problem,
        provider=provider.key,
        placement=placement_note(sources, LIAONING_LAND_KM2 / max(1, committees)),
    )


def _peak_rss_mb() -> dict[str, float]:
    # Linux reports ru_maxrss in KiB; children = the largest finished child (solver worker processes).
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"self": round(own, 1), "largest_child": round(children, 1), "peak": round(max(own, children), 1)}


def describe(scenario: Scenario) -> dict[str, Any]:
    """The scenario's figures before solving (stations, parcels, stops, fleet, placement)."""
    parcels = scenario.parcels
    b = scenario.batch
    split_groups = Counter(s.group for s in b.stops if "#" in s.id)
    return {
        "county": {
            "code": scenario.county.code,
            "name": scenario.county.name,
            "city": scenario.county.city_name,
        },
        "seed": scenario.spec.seed,
        "placement": scenario.placement,
        "distributions": _distributions(scenario.spec),
        "stations": len(scenario.stations),
        "villages": len(scenario.stations),
        "pickup_stations": sum(1 for s in scenario.stations if s.pickup),
        "cold_stations": sum(1 for s in scenario.stations if s.cold),
        "parcels": {
            "generated": len(parcels),
            "delivery": sum(1 for p in parcels if p.direction == "delivery"),
            "pickup": sum(1 for p in parcels if p.direction == "pickup"),
            "cold": sum(1 for p in parcels if p.cold),
            "weight_kg": round(sum(p.weight_g for p in parcels) / 1000, 1),
            "volume_m3": round(sum(p.volume_cm3 for p in parcels) / 1e6, 2),
            "batched": sum(len(v) for v in b.parcels_by_stop.values()),
            "not_batched": dict(sorted(Counter(nb.reason.value for nb in b.not_batched).items())),
        },
        "stops": len(b.stops),
        "cold_stops": sum(1 for s in b.stops if s.refrigerated),
        "split_stations": len(split_groups),
        "vehicles": {
            "count": len(scenario.problem.vehicles),
            "refrigerated": sum(1 for v in scenario.problem.vehicles if v.refrigerated),
            "classes": [
                {
                    "ids": f"{c.prefix}01–{c.prefix}{c.count:02d}",
                    "count": c.count,
                    "capacity": dict(zip(DIMENSIONS, c.capacity, strict=True)),
                    "fixed_cost_fen": c.fixed_cost_fen,
                    "cost_per_km_fen": c.cost_per_km_fen,
                    "refrigerated": c.refrigerated,
                }
                for c in scenario.spec.fleet
            ],
        },
        "distance_provider": scenario.provider,
    }


def _distributions(spec: ScenarioSpec) -> dict[str, str]:
    return {
        "station_demand": "lognormal(0, 0.8) weight per station, ×1.5 for residents' committees",
        "ambient_weight": "lognormal, median 0.8 kg, sigma 0.9, clipped 50 g–30 kg",
        "cold_weight": "lognormal, median 1.5 kg, sigma 0.5",
        "pickup_weight": "lognormal, median 5 kg, sigma 0.6 (farm produce)",
        "volume": "weight × lognormal(median 5 cm³/g, sigma 0.5), at least 100 cm³",
        "pieces": "1 (95 %), 2 (4 %), 3 (1 %)",
        "shares": (
            f"pickups {spec.pickup_share:.0%} of parcels at {spec.pickup_station_share:.0%} of stations; "
            f"cold {spec.cold_share:.0%} of deliveries at {spec.cold_station_share:.0%} of stations; "
            f"late {spec.late_share:.1%}; unmatched {spec.unmatched_share:.1%}; "
            f"due today {spec.due_share:.0%}"
        ),
        "opening_hours": "08:00–18:00 (60 %), 07:30–20:00 (25 %), 09:00–17:00 (15 %)",
        "service": f"{spec.service_s} s a stop + {spec.service_per_piece_s} s a piece",
    }


def summarise(scenario: Scenario, solution: Solution) -> dict[str, Any]:
    """Cost, distance, routes and unassigned stops of a solution to the scenario."""
    count = {stop: len(ids) for stop, ids in scenario.batch.parcels_by_stop.items()}
    routes = []
    for route in solution.routes:
        if not route.trips:
            continue
        stops = [v.stop_id for trip in route.trips for v in trip.visits]
        routes.append(
            {
                "vehicle": route.vehicle_id,
                "trips": len(route.trips),
                "stops": len(stops),
                "parcels": sum(count.get(s, 0) for s in stops),
                "distance_m": route.distance_m,
                "duration_s": route.duration_s,
                "cost_fen": route.cost_fen,
                "load_out_kg": [round(t.load_out[0] / 1000, 1) for t in route.trips],
            }
        )
    return {
        "engine": solution.engine,
        "cost_fen": solution.cost_fen,
        "distance_m": solution.distance_m,
        "vehicles_used": solution.vehicles_used,
        "routes": routes,
        "unassigned": {
            "count": len(solution.unassigned),
            "parcels": sum(count.get(u.stop_id, 0) for u in solution.unassigned),
            "by_reason": dict(sorted(Counter(u.reason.value for u in solution.unassigned).items())),
            "stops": [
                {"stop": u.stop_id, "reason": u.reason.value, "detail": u.detail}
                for u in solution.unassigned[:50]
            ],
        },
        "progress": [[round(t, 3), objective] for t, objective in solution.progress],
    }


def process_age_s() -> float:
    """Seconds since this process started (Linux ``/proc``), interpreter start-up and imports included;
    0.0 where that cannot be read."""
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        started_ticks = int(fields[19])  # field 22, starttime, in clock ticks after boot
        uptime_s = float(Path("/proc/uptime").read_text().split()[0])
        return max(0.0, uptime_s - started_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return 0.0


def run_scenario(
    spec: ScenarioSpec,
    *,
    settings: Settings,
    time_limit_s: float = 30.0,
    already_elapsed_s: float = 0.0,
    solution_limit: int | None = None,
    workers: int | None = None,
    provider: DistanceProvider | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> dict[str, Any]:
    """Build, solve (``routing.solver.solve``) and check (``routing.checker.check``) a scenario; the
    report is JSON-ready. ``time_limit_s`` covers everything from ``already_elapsed_s`` seconds ago
    (the command line passes the process's age, so start-up counts): the solver gets what is left, less
    a second for checking and reporting. ``solution_limit`` and ``workers`` go to the solver as they are
    (for tests). Raises ``ScenarioError`` for a county that cannot be built."""
    started = clock()
    from routing.solver import SolveParams, solve

    scenario = build_scenario(spec, settings=settings, provider=provider)
    built = clock()
    report = describe(scenario)
    report["startup_s"] = round(already_elapsed_s, 3)
    report["build_s"] = round(built - started, 3)
    solve_budget = max(1.0, time_limit_s - already_elapsed_s - (built - started) - 1.0)
    report["solve_budget_s"] = round(solve_budget, 3)
    seen: list[list[float]] = []
    params = SolveParams(
        time_limit_s=solve_budget,
        seed=spec.seed,
        solution_limit=solution_limit,
        on_progress=lambda t, objective: seen.append([round(t, 3), objective]),
    )
    if workers is not None:
        params = replace(params, workers=workers)
    try:
        solution = solve(scenario.problem, params)
    except NotImplementedError as exc:
        report.update({"solved": False, "error": f"solve() is not available yet: {exc}"})
        report["total_s"] = round(already_elapsed_s + clock() - started, 3)
        report["peak_rss_mb"] = _peak_rss_mb()
        return report
    solved = clock()
    report["solved"] = True
    report.update(summarise(scenario, solution))
    if not report["progress"]:
        report["progress"] = seen
    try:
        from routing.checker import check

        violations = check(scenario.problem, solution)
        left_out = {u.stop_id for u in solution.unassigned}
        required_left_out = sum(1 for s in scenario.problem.stops if s.required and s.id in left_out)
        report["checker"] = {"violations": len(violations), "first": violations[:20]}
        report["feasible"] = not violations and required_left_out == 0
    except ImportError:
        report["checker"] = None
        report["feasible"] = solution.feasible
    report["solver_feasible"] = solution.feasible
    report["solve_s"] = round(solved - built, 3)
    report["total_s"] = round(already_elapsed_s + clock() - started, 3)
    report["peak_rss_mb"] = _peak_rss_mb()
    return report
