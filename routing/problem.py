"""The vehicle-routing problem and its solution, in integers: metres, seconds, grams, cm³, pieces, fen.

Times are seconds from the service day's midnight in the operator's time zone (the caller converts).
Locations are indices into the problem's distance and duration matrices; depots and stops name theirs.

Every public constructor is checked by ``Problem.validate`` (called by ``solve``): a problem that cannot
mean anything raises ``RoutingError`` naming the field and the reason; a problem that merely cannot be
served in full is solved and each stop left out carries an ``UnassignedReason``.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field

DIMENSIONS: tuple[str, ...] = ("weight_g", "volume_cm3", "pieces")
"""The load dimensions, in the order every demand and capacity tuple uses."""

# Objective unit: milli-fen. Distance costs are per km with distances in metres, so metres × fen/km is
# exact in milli-fen; fixed costs and drop penalties are scaled by 1000 to the same unit.
MILLI = 1000


class RoutingError(ValueError):
    """A problem or parameter that cannot mean anything; ``field`` names where, ``reason`` says why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """Seconds from the service day's midnight; service may start at any instant in [start, end]."""

    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Depot:
    id: str
    location: int
    window: TimeWindow
    """Opening hours: vehicles leave no earlier than ``start`` and are back no later than ``end``."""


@dataclass(frozen=True, slots=True)
class Stop:
    """A place a vehicle must (or may) visit once: a station in a wave, or a share of one split to fit.

    ``delivery`` is loaded at the depot and dropped here; ``pickup`` (farm produce going out) is taken
    here and carried back to the depot. Both are per ``DIMENSIONS``.
    """

    id: str
    location: int
    delivery: tuple[int, ...] = (0, 0, 0)
    pickup: tuple[int, ...] = (0, 0, 0)
    window: TimeWindow | None = None
    """Opening hours; None = whenever the vehicle's shift allows."""
    service_s: int = 0
    """Fixed time at the stop (park, hand over, sign)."""
    service_per_piece_s: int = 0
    """Added per piece delivered or picked up."""
    refrigerated: bool = False
    """Only a refrigerated vehicle may serve it (cold-chain demand)."""
    required: bool = True
    """False = optional: the solver may leave it out, paying ``drop_penalty_fen``."""
    drop_penalty_fen: int = 0
    priority: int = 0
    """Higher = more important; the caller folds priority and promised dates into the drop penalty."""
    pinned_vehicle: str | None = None
    """A dispatcher pinned this stop to that vehicle: no other vehicle may serve it. A pin to a vehicle
    not in the fleet (off today) is no error: the stop is left out as ``no_eligible_vehicle``."""
    group: str | None = None
    """Stops split from one station share a group (for reporting; each part is routed on its own)."""

    @property
    def service_time_s(self) -> int:
        pieces = self.delivery[2] + self.pickup[2] if len(self.delivery) > 2 else 0
        return self.service_s + self.service_per_piece_s * pieces


@dataclass(frozen=True, slots=True)
class Vehicle:
    id: str
    capacity: tuple[int, ...]
    """Per ``DIMENSIONS``; the load on board may never exceed it at any point of a trip."""
    start_depot: str
    end_depot: str
    shift: TimeWindow
    fixed_cost_fen: int = 0
    """Paid once when the vehicle is used."""
    cost_per_km_fen: int = 0
    max_duration_s: int | None = None
    """Longest working time from leaving the start depot to arriving at the end depot."""
    refrigerated: bool = False
    max_trips: int = 1
    """Trips within one shift; between trips the vehicle returns to its start depot to reload."""
    reload_s: int = 0
    """Time at the depot between two trips."""
    driver: str | None = None


@dataclass(frozen=True, slots=True)
class Problem:
    depots: tuple[Depot, ...]
    stops: tuple[Stop, ...]
    vehicles: tuple[Vehicle, ...]
    distance_m: tuple[tuple[int, ...], ...]
    """Square matrix over locations; need not be symmetric."""
    duration_s: tuple[tuple[int, ...], ...]
    """Same shape as ``distance_m``: driving time between locations."""
    dimensions: tuple[str, ...] = DIMENSIONS

    def depot(self, depot_id: str) -> Depot:
        for depot in self.depots:
            if depot.id == depot_id:
                return depot
        raise RoutingError("depots", f"no depot {depot_id!r}")

    def validate(self) -> None:
        """Raise ``RoutingError`` for anything that cannot mean a routing problem."""
        size = len(self.distance_m)
        _matrix("distance_m", self.distance_m, size)
        _matrix("duration_s", self.duration_s, size)
        dims = len(self.dimensions)
        if not self.depots:
            raise RoutingError("depots", "at least one depot is needed")
        if not self.vehicles:
            raise RoutingError("vehicles", "at least one vehicle is needed")
        _unique("depots", [d.id for d in self.depots])
        _unique("stops", [s.id for s in self.stops])
        _unique("vehicles", [v.id for v in self.vehicles])
        for i, depot in enumerate(self.depots):
            _location(f"depots[{i}].location", depot.location, size)
            _window(f"depots[{i}].window", depot.window)
        depot_ids = {d.id for d in self.depots}
        for i, stop in enumerate(self.stops):
            where = f"stops[{i}]"
            _location(f"{where}.location", stop.location, size)
            _amounts(f"{where}.delivery", stop.delivery, dims)
            _amounts(f"{where}.pickup", stop.pickup, dims)
            if stop.window is not None:
                _window(f"{where}.window", stop.window)
            for name in ("service_s", "service_per_piece_s", "drop_penalty_fen"):
                if getattr(stop, name) < 0:
                    raise RoutingError(f"{where}.{name}", "must not be negative")
        for i, vehicle in enumerate(self.vehicles):
            where = f"vehicles[{i}]"
            _amounts(f"{where}.capacity", vehicle.capacity, dims)
            _window(f"{where}.shift", vehicle.shift)
            for name in ("start_depot", "end_depot"):
                if getattr(vehicle, name) not in depot_ids:
                    raise RoutingError(f"{where}.{name}", f"no depot {getattr(vehicle, name)!r}")
            for name in ("fixed_cost_fen", "cost_per_km_fen", "reload_s"):
                if getattr(vehicle, name) < 0:
                    raise RoutingError(f"{where}.{name}", "must not be negative")
            if vehicle.max_duration_s is not None and vehicle.max_duration_s <= 0:
                raise RoutingError(f"{where}.max_duration_s", "must be positive when given")
            if vehicle.max_trips < 1:
                raise RoutingError(f"{where}.max_trips", "must be at least 1")


def _matrix(name: str, matrix: Sequence[Sequence[int]], size: int) -> None:
    if size == 0:
        raise RoutingError(name, "the matrix is empty")
    for i, row in enumerate(matrix):
        if not isinstance(row, Sequence):
            raise RoutingError(f"{name}[{i}]", "missing row (a hole in the matrix)")
        if len(row) != size:
            raise RoutingError(f"{name}[{i}]", f"row has {len(row)} entries; the matrix is {size} wide")
        for j, value in enumerate(row):
            if not isinstance(value, int) or isinstance(value, bool):
                raise RoutingError(f"{name}[{i}][{j}]", "missing or not an integer (a hole in the matrix)")
            if value < 0:
                raise RoutingError(f"{name}[{i}][{j}]", "must not be negative")
    if len(matrix) != size:
        raise RoutingError(name, "the matrix is not square")


def _location(name: str, location: int, size: int) -> None:
    if not 0 <= location < size:
        raise RoutingError(name, f"location {location} is outside the {size}-location matrix")


def _window(name: str, window: TimeWindow) -> None:
    if window.start < 0:
        raise RoutingError(name, "starts before the service day")
    if window.end < window.start:
        raise RoutingError(name, f"ends ({window.end}) before it starts ({window.start})")


def _amounts(name: str, values: tuple[int, ...], dims: int) -> None:
    if len(values) != dims:
        raise RoutingError(name, f"needs {dims} values (one per dimension), has {len(values)}")
    for k, value in enumerate(values):
        if value < 0:
            raise RoutingError(f"{name}[{k}]", "must not be negative")


def _unique(name: str, ids: list[str]) -> None:
    seen: set[str] = set()
    for i, ident in enumerate(ids):
        if ident in seen:
            raise RoutingError(f"{name}[{i}].id", f"{ident!r} is used twice")
        seen.add(ident)


class UnassignedReason(enum.StrEnum):
    CAPACITY = "capacity"
    """Larger than any eligible vehicle, or the fleet's capacity is used up."""
    TIME_WINDOW = "time_window"
    """No eligible vehicle can arrive within the stop's window (even on a route of its own)."""
    NO_ELIGIBLE_VEHICLE = "no_eligible_vehicle"
    """Needs refrigeration, or is pinned to a vehicle, and no such vehicle exists."""
    SHIFT_LENGTH = "shift_length"
    """Serving it would take a vehicle past its shift end or maximum route duration."""
    DROPPED_FOR_COST = "dropped_for_cost"
    """Optional, and serving it costs more than its drop penalty."""


@dataclass(frozen=True, slots=True)
class Visit:
    stop_id: str
    arrival_s: int
    """When the vehicle arrives."""
    start_s: int
    """When service starts (arrival, or the window's opening if the vehicle waits)."""
    load_after: tuple[int, ...]
    """Load on board when the vehicle leaves, per dimension."""


@dataclass(frozen=True, slots=True)
class Trip:
    """Depot -> stops -> depot. ``depart_s`` leaves the depot loaded; ``return_s`` is back at a depot."""

    visits: tuple[Visit, ...]
    depart_s: int
    return_s: int
    distance_m: int
    load_out: tuple[int, ...]
    """Loaded at the depot for this trip (its deliveries)."""

    @property
    def stop_ids(self) -> tuple[str, ...]:
        return tuple(v.stop_id for v in self.visits)


@dataclass(frozen=True, slots=True)
class Route:
    vehicle_id: str
    trips: tuple[Trip, ...]
    distance_m: int
    duration_s: int
    """From the first departure to the last return."""
    cost_fen: int
    """Fixed cost plus distance cost, rounded to the fen."""


@dataclass(frozen=True, slots=True)
class Unassigned:
    stop_id: str
    reason: UnassignedReason
    detail: str


@dataclass(frozen=True, slots=True)
class Solution:
    routes: tuple[Route, ...]
    unassigned: tuple[Unassigned, ...]
    cost_fen: int
    """Routes' cost plus the drop penalties of optional stops left out."""
    distance_m: int
    feasible: bool
    """Every required stop served and every constraint holds (the checker's verdict, not the engine's)."""
    engine: str
    """Which engine's plan this is (``ortools``, ``pyvrp`` …)."""
    progress: tuple[tuple[float, int], ...] = field(default=())
    """(seconds since the solve started, objective) each time the best plan improved."""

    @property
    def vehicles_used(self) -> int:
        return sum(1 for r in self.routes if r.trips)
