"""Classic VRP benchmark files as routing problems, and routing plans back in the files' own terms.

Two formats, told apart by their content (never by the file name alone), both read with ``vrplib``:

* Solomon text (Solomon 1987; Gehring & Homberger 1999): VRPTW.
* VRPLIB (CVRPLIB): CVRP, or VRPTW when the file has a ``TIME_WINDOW_SECTION``.

Conventions (those of the published best-known solutions, see /work/shared/benchmarks/README.md):

* VRPTW on Euclidean coordinates follows DIMACS: every distance, and every travel time, is the
  Euclidean distance truncated to one decimal. The routing problem holds them as integers in tenths
  (⌊10·d⌋), with ready times, due dates and service times ×10 as well. Service must start within
  [ready, due] (waiting is allowed) and every route is back at the depot by the depot's due date.
  The fleet is the file's vehicle number, all with the file's capacity.
* CVRP on ``EUC_2D`` coordinates follows TSPLIB: distances rounded to the nearest integer; capacity
  only; the fleet is unbounded (``Instance.fleet`` gives the routing problem a bound no optimal plan
  needs to exceed) and there are no time limits (a shift longer than any route can be).
* Any other VRPLIB edge weights (an explicit matrix, ``FLOOR_2D``, ``CEIL_2D``, ``EXACT_2D``) are used
  as the file gives them; a matrix with fractions is truncated to tenths like DIMACS.

The single capacity goes into the ``weight_g`` dimension; volume and pieces are zero throughout.
With a cost of 1 per km and no fixed cost, the routing objective is the total distance in matrix units.

Customer ids are the files' own numbering, as their solution files use it: the CUST NO. of a Solomon
file (the depot is 0); for VRPLIB the node number minus one (the depot, node 1, is 0 — CVRPLIB ``.sol``
files number the customers 1…n−1 in the same way).
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import vrplib
import vrplib.parse

from routing.problem import Depot, Problem, Solution, Stop, TimeWindow, Vehicle

Format = Literal["solomon", "vrplib"]
Rule = Literal["dimacs", "nint", "given"]
"""How a distance is measured: ``dimacs`` ⌊10·d⌋ tenths; ``nint`` TSPLIB nearest integer; ``given`` the
file's own edge weights (integers as they are, fractions truncated to tenths)."""

DEPOT_ID = "depot"
_FRACTION_SLACK = 1e-9
"""Keeps a weight like 2.3 (stored as 2.2999…) at 23 tenths when the file's matrix has fractions."""

IntArray = npt.NDArray[np.int64]


class InstanceError(Exception):
    """The file cannot be read as a Solomon or VRPLIB CVRP/VRPTW instance; the message says why."""


@dataclass(frozen=True, slots=True)
class Instance:
    """A benchmark instance in integer matrix units (tenths under DIMACS, the file's units otherwise).

    Nodes are indexed 0…n−1 as the customer ids are; ``depot`` is one of them.
    """

    name: str
    format: Format
    rule: Rule
    scale: int
    """Matrix units per unit of the file: 10 when distances are kept in tenths, else 1."""
    depot: int
    demand: tuple[int, ...]
    capacity: int
    service: tuple[int, ...]
    """Per node, in matrix units."""
    windows: tuple[tuple[int, int], ...] | None
    """Per node (ready, due) in matrix units; None = no time windows (CVRP)."""
    vehicles: int | None
    """The file's fleet size; None = unbounded."""
    max_route: int | None
    """Longest route (travel plus service), in matrix units, when the file sets one (``DISTANCE``)."""
    distance: tuple[tuple[int, ...], ...]
    """Distances, which are also the travel times, in matrix units."""
    coords: tuple[tuple[float, float], ...] | None
    """As in the file; None when the file gives only a matrix."""
    given: tuple[tuple[float, ...], ...] | None
    """The file's own edge weights under rule ``given``; None otherwise."""

    @property
    def size(self) -> int:
        return len(self.demand)

    @property
    def customers(self) -> tuple[int, ...]:
        return tuple(i for i in range(self.size) if i != self.depot)

    @property
    def fleet(self) -> int:
        """Vehicles in the routing problem: the file's fleet, or a bound for an unbounded one.

        With distances that obey the triangle inequality, two routes whose loads fit one vehicle can be
        merged at no extra distance, so a shortest plan needs at most one route loaded to half or less:
        at most ⌊2·D/Q⌋ + 1 routes for total demand D and capacity Q. Nearest-integer rounding can break
        the inequality by a unit, hence the margin; never more than one route per customer.
        """
        if self.vehicles is not None:
            return self.vehicles
        customers = self.customers
        total = sum(self.demand[i] for i in customers)
        bound = 2 * math.ceil(total / self.capacity) + 2
        return max(1, min(len(customers), bound))

    @property
    def depot_window(self) -> tuple[int, int]:
        """When vehicles may leave and must be back, in matrix units (a long enough day for CVRP)."""
        if self.windows is not None:
            return self.windows[self.depot]
        longest = max((max(row) for row in self.distance), default=0)
        return 0, (self.size + 1) * longest + sum(self.service) + (self.max_route or 0) + 1

    def units(self, ticks: int) -> int | float:
        """A distance in matrix units in the file's units: tenths → one decimal; integers stay integers."""
        if self.scale == 1:
            return ticks
        return round(ticks / self.scale, 1)


def detect_format(text: str) -> Format:
    """``solomon`` or ``vrplib`` from the text's layout; raises ``InstanceError`` for anything else."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if (
        len(lines) > 5
        and lines[1].upper().startswith("VEHICLE")
        and any(line.upper().startswith("CUSTOMER") for line in lines[2:6])
    ):
        return "solomon"
    if any("_SECTION" in line.upper() for line in lines) or any(
        re.match(r"^[A-Za-z_]+\s*:", line) for line in lines[:5]
    ):
        return "vrplib"
    raise InstanceError("neither a Solomon nor a VRPLIB instance (no VEHICLE/CUSTOMER header, no sections)")


def read_instance(path: str | Path) -> Instance:
    """Read a Solomon or VRPLIB CVRP/VRPTW file (UTF-8; parsed by ``vrplib``); raises ``InstanceError``
    saying why it cannot."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise InstanceError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        fmt = detect_format(text)
    except InstanceError as exc:
        raise InstanceError(f"{path.name}: {exc}") from exc
    try:
        with warnings.catch_warnings():
            # numpy warns about empty or odd tables; the checks below turn those into errors.
            warnings.simplefilter("ignore", UserWarning)
            raw = _parse(text, fmt, compute_edge_weights=False)
    except Exception as exc:  # the parsers raise whatever numpy or their asserts raise on bad text
        raise InstanceError(f"{path.name}: not a valid {fmt} instance ({exc})") from exc
    try:
        if fmt == "solomon":
            return _from_solomon(raw, _solomon_table(text), path)
        return _from_vrplib(raw, text, path.stem)
    except InstanceError as exc:
        raise InstanceError(f"{path.name}: {exc}") from exc
    except (KeyError, TypeError, ValueError, IndexError, OverflowError) as exc:
        raise InstanceError(f"{path.name}: unusable {fmt} data ({type(exc).__name__}: {exc})") from exc


def _solomon_table(text: str) -> npt.NDArray[np.float64]:
    """The customer table read as numbers with fractions (vrplib reads integers only and would turn
    ``12.5`` into −1), one row per node numbered 0…n−1 in order."""
    lines = [s for line in text.splitlines() if (s := line.strip()) and not s.startswith("#")][6:]
    try:
        table = np.array([[float(token) for token in line.split()] for line in lines], dtype=float)
    except ValueError as exc:
        raise InstanceError(f"the customer table has a value that is not a number ({exc})") from exc
    if table.ndim != 2 or table.shape[0] < 1 or table.shape[1] != 7:
        raise InstanceError("the customer table needs 7 numbers per row and at least the depot's row")
    if not np.array_equal(table[:, 0], np.arange(len(table))):
        raise InstanceError("customer numbers must run 0, 1, 2, … in order (0 = the depot)")
    return table


def _from_solomon(raw: dict[str, Any], table: npt.NDArray[np.float64], path: Path) -> Instance:
    coords = _coords(table[:, 1:3])
    size = len(coords)
    return _build(
        name=str(raw.get("name") or path.stem),
        fmt="solomon",
        rule="dimacs",
        depot=0,
        demand=_column(table[:, 3], size, "demand"),
        capacity=_positive_int(raw["capacity"], "capacity"),
        service_raw=table[:, 6],
        windows_raw=table[:, 4:6],
        vehicles=_positive_int(raw["vehicles"], "vehicle number"),
        max_route_raw=None,
        coords=coords,
        given=None,
    )


def _parse(text: str, fmt: Format, *, compute_edge_weights: bool) -> dict[str, Any]:
    # What vrplib.read_instance does after opening the file, but on text already decoded as UTF-8
    # (read_instance would decode with the locale's encoding).
    if fmt == "solomon":
        return dict(vrplib.parse.parse_solomon(text, compute_edge_weights))
    return dict(vrplib.parse.parse_vrplib(text, compute_edge_weights))


def _from_vrplib(raw: dict[str, Any], text: str, stem: str) -> Instance:
    if "demand" not in raw:
        raise InstanceError("no DEMAND_SECTION (not a CVRP or VRPTW instance)")
    if "capacity" not in raw:
        raise InstanceError("no CAPACITY")
    coords = _coords(raw["node_coord"]) if "node_coord" in raw else None
    edge_type = str(raw.get("edge_weight_type", "EUC_2D" if coords is not None else "")).upper()
    has_windows = "time_window" in raw
    given: npt.NDArray[np.float64] | None = None
    rule: Rule
    if edge_type == "EUC_2D" and coords is not None:
        rule = "dimacs" if has_windows else "nint"
    else:
        rule = "given"
        if "edge_weight" not in raw:
            try:
                computed = _parse(text, "vrplib", compute_edge_weights=True)
            except Exception as exc:  # unknown edge weight types and missing coordinates land here
                raise InstanceError(f"cannot compute edge weights ({exc})") from exc
            raw = {**raw, "edge_weight": computed["edge_weight"]}
        given = np.asarray(raw["edge_weight"], dtype=float)
    size = len(np.atleast_1d(raw["demand"]))
    depots = np.atleast_1d(np.asarray(raw.get("depot", [0])))
    if depots.size != 1:
        raise InstanceError(f"{depots.size} depots; only single-depot instances are supported")
    capacity = raw["capacity"]
    if isinstance(capacity, np.ndarray | list):
        values = {int(c) for c in np.asarray(capacity).ravel()}
        if len(values) != 1:
            raise InstanceError("vehicles of different capacities are not supported")
        capacity = values.pop()
    service = raw.get("service_time", 0)
    if np.ndim(service) == 0:
        # A single SERVICE_TIME applies to the customers; the depot has none.
        depot = int(depots[0])
        service = [0.0 if i == depot else float(service) for i in range(size)]
    windows_raw = np.asarray(raw["time_window"], dtype=float) if has_windows else None
    vehicles = raw.get("vehicles")
    return _build(
        name=str(raw.get("name") or stem),
        fmt="vrplib",
        rule=rule,
        depot=int(depots[0]),
        demand=_column(raw["demand"], size, "demand"),
        capacity=_positive_int(capacity, "capacity"),
        service_raw=np.asarray(service, dtype=float),
        windows_raw=windows_raw,
        vehicles=None if vehicles is None else _positive_int(vehicles, "vehicles"),
        max_route_raw=float(raw["distance"]) if "distance" in raw else None,
        coords=coords,
        given=given,
    )


def _build(
    *,
    name: str,
    fmt: Format,
    rule: Rule,
    depot: int,
    demand: tuple[int, ...],
    capacity: int,
    service_raw: npt.NDArray[np.float64],
    windows_raw: npt.NDArray[np.float64] | None,
    vehicles: int | None,
    max_route_raw: float | None,
    coords: npt.NDArray[np.float64] | None,
    given: npt.NDArray[np.float64] | None,
) -> Instance:
    size = len(demand)
    if size < 1:
        raise InstanceError("no nodes")
    if not 0 <= depot < size:
        raise InstanceError(f"depot {depot} is not one of the {size} nodes")
    if coords is not None and coords.shape != (size, 2):
        raise InstanceError(f"{len(coords)} coordinates for {size} nodes")
    if given is not None:
        if given.shape != (size, size):
            raise InstanceError(f"the edge weights are not a {size}×{size} matrix")
        if not np.all(np.isfinite(given)) or np.any(given < 0):
            raise InstanceError("edge weights must be finite and non-negative")
    scale = 10 if rule == "dimacs" or (given is not None and not _integral(given)) else 1
    if rule == "given":
        assert given is not None
        matrix = np.floor(given * scale + _FRACTION_SLACK).astype(np.int64)
    else:
        assert coords is not None
        matrix = distance_matrix(coords, rule)
    service = _scaled(service_raw, scale, size, "service time")
    windows: tuple[tuple[int, int], ...] | None = None
    if windows_raw is not None:
        if windows_raw.shape != (size, 2):
            raise InstanceError("time windows are not one (ready, due) pair per node")
        ready = _scaled(windows_raw[:, 0], scale, size, "ready time")
        due = _scaled(windows_raw[:, 1], scale, size, "due date")
        for i in range(size):
            if due[i] < ready[i]:
                raise InstanceError(
                    f"node {i} is due ({windows_raw[i, 1]:g}) before it is ready ({windows_raw[i, 0]:g})"
                )
        windows = tuple(zip(ready, due, strict=True))
    max_route = None
    if max_route_raw is not None:
        if not max_route_raw > 0 or not math.isfinite(max_route_raw):
            raise InstanceError("DISTANCE must be a positive number")
        max_route = math.floor(max_route_raw * scale + _FRACTION_SLACK)
    return Instance(
        name=name,
        format=fmt,
        rule=rule,
        scale=scale,
        depot=depot,
        demand=demand,
        capacity=capacity,
        service=service,
        windows=windows,
        vehicles=vehicles,
        max_route=max_route,
        distance=tuple(tuple(int(v) for v in row) for row in matrix.tolist()),
        coords=None if coords is None else tuple((float(x), float(y)) for x, y in coords.tolist()),
        given=None if given is None else tuple(tuple(float(v) for v in row) for row in given.tolist()),
    )


def _coords(value: Any) -> npt.NDArray[np.float64]:
    coords = np.asarray(value, dtype=float)
    if coords.ndim != 2 or coords.shape[1] != 2:
        raise InstanceError("node coordinates must be one (x, y) pair per node")
    if not np.all(np.isfinite(coords)):
        raise InstanceError("node coordinates must be finite numbers")
    return coords


def _integral(values: npt.NDArray[np.float64]) -> bool:
    return bool(np.all(values == np.floor(values)))


def _column(value: Any, size: int, what: str) -> tuple[int, ...]:
    values = np.asarray(value, dtype=float)
    if values.ndim != 1 or len(values) != size:
        raise InstanceError(f"{what} must be one number per node ({size} nodes)")
    if not np.all(np.isfinite(values)) or np.any(values < 0) or not _integral(values):
        raise InstanceError(f"{what} must be non-negative integers")
    return tuple(int(v) for v in values)


def _scaled(values: npt.NDArray[np.float64], scale: int, size: int, what: str) -> tuple[int, ...]:
    values = np.atleast_1d(values)
    if values.ndim != 1 or len(values) != size:
        raise InstanceError(f"{what} must be one number per node ({size} nodes)")
    if not np.all(np.isfinite(values)) or np.any(values < 0):
        raise InstanceError(f"{what} must be non-negative numbers")
    return tuple(int(v) for v in np.rint(values * scale).astype(np.int64))


def _positive_int(value: Any, what: str) -> int:
    number = float(value)
    if not math.isfinite(number) or number != int(number) or number < 1:
        raise InstanceError(f"{what} must be a positive integer, not {value!r}")
    return int(number)


def distance_matrix(coords: npt.NDArray[np.float64], rule: Literal["dimacs", "nint"]) -> IntArray:
    """All pairwise distances in matrix units: ⌊10·d⌋ (``dimacs``) or TSPLIB nint(d) (``nint``).

    Integer coordinates are measured exactly (integer square roots); fractional ones in floating point.
    """
    if _integral(coords):
        xy = coords.astype(np.int64)
        squares = ((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=2)
        if rule == "dimacs":
            return _isqrt(100 * squares)
        root = _isqrt(squares)
        # sqrt(s) ≥ k + ½  ⇔  s ≥ k² + k + ¼  ⇔  s > k² + k for integers.
        rounded: IntArray = root + (squares - root * root > root).astype(np.int64)
        return rounded
    exact = np.sqrt(((coords[:, None, :] - coords[None, :, :]) ** 2).sum(axis=2))
    measured: IntArray = np.floor(10 * exact if rule == "dimacs" else exact + 0.5).astype(np.int64)
    return measured


def _isqrt(values: IntArray) -> IntArray:
    root = np.floor(np.sqrt(values.astype(np.float64))).astype(np.int64)
    root -= (root * root > values).astype(np.int64)
    root += ((root + 1) * (root + 1) <= values).astype(np.int64)
    return root


def edge(instance: Instance, frm: int, to: int) -> int:
    """One distance in matrix units, measured afresh from the file's data (not read off the matrix)."""
    if instance.given is not None:
        return math.floor(instance.given[frm][to] * instance.scale + _FRACTION_SLACK)
    assert instance.coords is not None
    (x1, y1), (x2, y2) = instance.coords[frm], instance.coords[to]
    if x1.is_integer() and y1.is_integer() and x2.is_integer() and y2.is_integer():
        square = int(x1 - x2) ** 2 + int(y1 - y2) ** 2
        if instance.rule == "dimacs":
            return math.isqrt(100 * square)
        root = math.isqrt(square)
        return root + 1 if square - root * root > root else root
    exact = math.hypot(x1 - x2, y1 - y2)
    return math.floor(10 * exact) if instance.rule == "dimacs" else math.floor(exact + 0.5)


def to_problem(instance: Instance) -> Problem:
    """The routing problem: one depot, a stop per customer (id = the customer id as text), ``fleet``
    identical vehicles costing 1 milli-fen per matrix unit, so the objective is the total distance."""
    start, end = instance.depot_window
    windows = instance.windows
    stops = tuple(
        Stop(
            id=str(i),
            location=i,
            delivery=(instance.demand[i], 0, 0),
            window=None if windows is None else TimeWindow(*windows[i]),
            service_s=instance.service[i],
        )
        for i in instance.customers
    )
    vehicles = tuple(
        Vehicle(
            id=f"v{k + 1}",
            capacity=(instance.capacity, 0, 0),
            start_depot=DEPOT_ID,
            end_depot=DEPOT_ID,
            shift=TimeWindow(start, end),
            cost_per_km_fen=1,
            max_duration_s=instance.max_route,
        )
        for k in range(instance.fleet)
    )
    return Problem(
        depots=(Depot(id=DEPOT_ID, location=instance.depot, window=TimeWindow(start, end)),),
        stops=stops,
        vehicles=vehicles,
        distance_m=instance.distance,
        duration_s=instance.distance,
    )


@dataclass(frozen=True, slots=True)
class Check:
    """A plan judged from the file's data alone."""

    cost: int | float
    """Total distance in the file's units (DIMACS: one decimal)."""
    vehicles: int
    """Non-empty routes."""
    feasible: bool
    violations: tuple[str, ...]


def route_cost(instance: Instance, routes: Sequence[Sequence[int]]) -> int | float:
    """Total distance of ``routes`` (customer ids, depot left out) in the file's units, measured from
    the coordinates (or the file's matrix) under the instance's rule."""
    ticks = 0
    for route in routes:
        if route:
            path = [instance.depot, *route, instance.depot]
            ticks += sum(edge(instance, a, b) for a, b in zip(path, path[1:], strict=False))
    return instance.units(ticks)


def check_routes(instance: Instance, routes: Sequence[Sequence[int]]) -> Check:
    """Every customer served exactly once, loads within capacity, service started within each window,
    back at the depot by its due date, routes no longer than ``max_route``, no more routes than the
    fleet; distances and travel times measured afresh from the file's data."""
    violations: list[str] = []
    customers = set(instance.customers)
    served: set[int] = set()
    ticks = 0
    used = 0
    start, end = instance.depot_window
    for r, route in enumerate(routes):
        if not route:
            continue
        used += 1
        load = 0
        clock = start
        here = instance.depot
        for node in route:
            if node not in customers:
                violations.append(f"route {r}: {node!r} is not a customer id")
                continue
            if node in served:
                violations.append(f"route {r}: customer {node} is served twice")
            served.add(node)
            step = edge(instance, here, node)
            ticks += step
            clock += step
            if instance.windows is not None:
                ready, due = instance.windows[node]
                clock = max(clock, ready)
                if clock > due:
                    violations.append(
                        f"route {r}: customer {node} served at {instance.units(clock)}, "
                        f"due {instance.units(due)}"
                    )
            clock += instance.service[node]
            load += instance.demand[node]
            here = node
        step = edge(instance, here, instance.depot)
        ticks += step
        clock += step
        if load > instance.capacity:
            violations.append(f"route {r}: load {load} exceeds the capacity {instance.capacity}")
        if instance.windows is not None and clock > end:
            violations.append(f"route {r}: back at {instance.units(clock)}, depot due {instance.units(end)}")
        if instance.max_route is not None and clock - start > instance.max_route:
            violations.append(f"route {r}: length {instance.units(clock - start)} exceeds the limit")
    missing = sorted(customers - served)
    if missing:
        violations.append(f"{len(missing)} customers not served (first: {missing[:5]})")
    if instance.vehicles is not None and used > instance.vehicles:
        violations.append(f"{used} routes for a fleet of {instance.vehicles}")
    return Check(
        cost=instance.units(ticks), vehicles=used, feasible=not violations, violations=tuple(violations)
    )


@dataclass(frozen=True, slots=True)
class Answer:
    """A routing plan in the file's terms."""

    routes: tuple[tuple[int, ...], ...]
    """Customer ids per route, depot left out."""
    cost: int | float
    vehicles: int
    feasible: bool
    """The routing checker's verdict and the file-based check (``check_routes``) both hold."""
    unassigned: tuple[int, ...]
    engine: str
    violations: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "routes": [list(route) for route in self.routes],
            "cost": self.cost,
            "vehicles": self.vehicles,
            "feasible": self.feasible,
            "unassigned": list(self.unassigned),
            "engine": self.engine,
            **({"violations": list(self.violations)} if self.violations else {}),
        }


def answer_from_solution(instance: Instance, solution: Solution) -> Answer:
    """Routes as customer ids (one per trip, depot left out) and their cost in the file's units, read
    off the instance's distance matrix; ``feasible`` also requires ``check_routes`` to agree."""
    routes = tuple(
        tuple(int(stop_id) for stop_id in trip.stop_ids)
        for route in solution.routes
        for trip in route.trips
        if trip.visits
    )
    ticks = 0
    for route in routes:
        path = [instance.depot, *route, instance.depot]
        ticks += sum(instance.distance[a][b] for a, b in zip(path, path[1:], strict=False))
    check = check_routes(instance, routes)
    return Answer(
        routes=routes,
        cost=instance.units(ticks),
        vehicles=len(routes),
        feasible=solution.feasible and check.feasible,
        unassigned=tuple(sorted(int(u.stop_id) for u in solution.unassigned)),
        engine=solution.engine,
        violations=check.violations,
    )


def solve_instance(instance: Instance, *, time_limit_s: float, seed: int = 0) -> Answer:
    """Plan ``instance`` with the routing solver's default portfolio within ``time_limit_s`` seconds;
    raises ``RoutingError`` for a time limit that is not positive."""
    from routing.solver import SolveParams, solve

    solution = solve(to_problem(instance), SolveParams(time_limit_s=time_limit_s, seed=seed))
    return answer_from_solution(instance, solution)
