"""Why a stop is left out: an analysis of the problem (and of the plan), apart from any engine.

First each stop on its own (``solo_reason``): which vehicles may serve it at all (refrigeration, pin),
which of those can carry it, and which can reach it within its window and be back within the shift
and the maximum duration on a trip serving it alone. A stop no vehicle can serve alone is left out
before any engine runs, with the first reason that rules out every vehicle.

A stop that some vehicle could serve alone but the plan leaves out (``explain``): an optional stop was
not worth its drop penalty; a required stop found the fleet full (no trip of an eligible vehicle has
room for it and no trip is left) or, when there is room, no time left in an eligible vehicle's shift.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from routing.problem import Problem, Route, Stop, Unassigned, UnassignedReason, Vehicle


def clock(seconds: int) -> str:
    """Seconds from midnight as ``HH:MM:SS`` (hours past 24 for later days)."""
    hours, rest = divmod(seconds, 3600)
    return f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"


@dataclass(frozen=True, slots=True)
class _Verdict:
    reason: UnassignedReason | None
    detail: str


def _may_serve(stop: Stop, vehicle: Vehicle) -> bool:
    if stop.refrigerated and not vehicle.refrigerated:
        return False
    return stop.pinned_vehicle is None or stop.pinned_vehicle == vehicle.id


def _no_vehicle(problem: Problem, stop: Stop) -> str:
    fleet = {v.id: v for v in problem.vehicles}
    if stop.pinned_vehicle is not None:
        pinned = fleet.get(stop.pinned_vehicle)
        if pinned is None:
            return f"pinned to vehicle {stop.pinned_vehicle!r}, which is not in the fleet"
        return (
            f"needs a refrigerated vehicle and is pinned to {stop.pinned_vehicle!r}, which is not "
            "refrigerated"
        )
    return f"needs a refrigerated vehicle; none of the {len(problem.vehicles)} vehicles is refrigerated"


def _solo(problem: Problem, stop: Stop, vehicle: Vehicle) -> _Verdict:
    """Whether ``vehicle`` can serve ``stop`` on a trip of its own."""
    for name, out, back, cap in zip(
        problem.dimensions, stop.delivery, stop.pickup, vehicle.capacity, strict=True
    ):
        if max(out, back) > cap:
            return _Verdict(
                UnassignedReason.CAPACITY, f"{name} {max(out, back)} > {vehicle.id!r} capacity {cap}"
            )
    start, end = problem.depot(vehicle.start_depot), problem.depot(vehicle.end_depot)
    leave = max(vehicle.shift.start, start.window.start)
    close = min(vehicle.shift.end, end.window.end)
    drive_out = problem.duration_s[start.location][stop.location]
    drive_back = problem.duration_s[stop.location][end.location]
    service = stop.service_time_s
    arrival = leave + drive_out
    begin = arrival
    if stop.window is not None:
        if arrival > stop.window.end:
            return _Verdict(
                UnassignedReason.TIME_WINDOW,
                f"{vehicle.id!r} arrives at {clock(arrival)} at the earliest, after the window closes at "
                f"{clock(stop.window.end)}",
            )
        begin = max(arrival, stop.window.start)
        if begin + service + drive_back > close:
            return _Verdict(
                UnassignedReason.TIME_WINDOW,
                f"the window opens at {clock(stop.window.start)}, too late for {vehicle.id!r} to serve "
                f"it and be back by {clock(close)}",
            )
    if begin + service + drive_back > close:
        return _Verdict(
            UnassignedReason.SHIFT_LENGTH,
            f"{vehicle.id!r} would be back at {clock(begin + service + drive_back)}, after its shift "
            f"or depot closes at {clock(close)}",
        )
    shortest = drive_out + service + drive_back
    if vehicle.max_duration_s is not None and shortest > vehicle.max_duration_s:
        return _Verdict(
            UnassignedReason.SHIFT_LENGTH,
            f"a trip to it alone takes {shortest} s, more than {vehicle.id!r}'s maximum "
            f"{vehicle.max_duration_s} s",
        )
    return _Verdict(None, "")


def solo_reason(problem: Problem, stop: Stop) -> Unassigned | None:
    """Why no vehicle can serve ``stop`` even on a trip of its own, or None when some vehicle can.

    In order: no vehicle may serve it (refrigeration, pin) → ``no_eligible_vehicle``; every eligible
    vehicle is too small in some dimension → ``capacity``; every eligible vehicle that can carry it
    arrives after its window closes, or cannot be back in time once the window opens →
    ``time_window``; otherwise (back after the shift end or depot closing, or longer than the maximum
    duration) → ``shift_length``."""
    vehicles = [v for v in problem.vehicles if _may_serve(stop, v)]
    if not vehicles:
        return Unassigned(stop.id, UnassignedReason.NO_ELIGIBLE_VEHICLE, _no_vehicle(problem, stop))
    verdicts = [_solo(problem, stop, v) for v in vehicles]
    if any(v.reason is None for v in verdicts):
        return None
    carriers = [v for v in verdicts if v.reason != UnassignedReason.CAPACITY]
    if not carriers:
        return Unassigned(
            stop.id,
            UnassignedReason.CAPACITY,
            "larger than every eligible vehicle: " + "; ".join(v.detail for v in verdicts),
        )
    if all(v.reason == UnassignedReason.TIME_WINDOW for v in carriers):
        return Unassigned(stop.id, UnassignedReason.TIME_WINDOW, "; ".join(v.detail for v in carriers))
    shift = [v for v in carriers if v.reason == UnassignedReason.SHIFT_LENGTH]
    return Unassigned(stop.id, UnassignedReason.SHIFT_LENGTH, "; ".join(v.detail for v in shift))


def _has_room(problem: Problem, stop: Stop, vehicle: Vehicle, trip_stops: Sequence[Stop]) -> bool:
    """Whether ``stop`` fits in the trip's loads at some position (capacity only)."""
    dims = range(len(problem.dimensions))
    for position in range(len(trip_stops) + 1):
        order = [*trip_stops[:position], stop, *trip_stops[position:]]
        load = [sum(s.delivery[d] for s in order) for d in dims]
        fits = all(load[d] <= vehicle.capacity[d] for d in dims)
        for s in order:
            load = [load[d] - s.delivery[d] + s.pickup[d] for d in dims]
            fits = fits and all(load[d] <= vehicle.capacity[d] for d in dims)
        if fits:
            return True
    return False


def _detour_fen(
    problem: Problem, stop: Stop, vehicle: Vehicle, route: Route | None, stops: dict[str, Stop]
) -> int:
    """The cheapest added cost of putting ``stop`` on ``vehicle``, ignoring every limit (fen, rounded)."""
    d = problem.distance_m
    start = problem.depot(vehicle.start_depot).location
    end = problem.depot(vehicle.end_depot).location
    if route is None or not route.trips:
        extra = d[start][stop.location] + d[stop.location][end] - d[start][end]
        return vehicle.fixed_cost_fen + (extra * vehicle.cost_per_km_fen + 500) // 1000
    best: int | None = None
    for k, trip in enumerate(route.trips):
        back = end if k == len(route.trips) - 1 else start
        path = [start, *(stops[v.stop_id].location for v in trip.visits), back]
        for a, b in zip(path, path[1:], strict=False):
            extra = d[a][stop.location] + d[stop.location][b] - d[a][b]
            best = extra if best is None else min(best, extra)
    assert best is not None
    return (best * vehicle.cost_per_km_fen + 500) // 1000


def explain(problem: Problem, routes: Sequence[Route], stop_ids: Iterable[str]) -> tuple[Unassigned, ...]:
    """A reason for each stop in ``stop_ids`` that ``routes`` leave out, in the order given.

    ``solo_reason`` first; then an optional stop → ``dropped_for_cost`` (with the cheapest detour and
    its penalty); a required one → ``capacity`` when no eligible vehicle has room in any trip nor a trip
    left, else ``shift_length``. Raises ``KeyError`` for an id not in the problem."""
    stops = {s.id: s for s in problem.stops}
    by_vehicle = {r.vehicle_id: r for r in routes}
    out: list[Unassigned] = []
    for stop_id in stop_ids:
        stop = stops[stop_id]
        alone = solo_reason(problem, stop)
        if alone is not None:
            out.append(alone)
            continue
        able = [v for v in problem.vehicles if _may_serve(stop, v) and _solo(problem, stop, v).reason is None]
        if not stop.required:
            cheapest = min(_detour_fen(problem, stop, v, by_vehicle.get(v.id), stops) for v in able)
            if cheapest > stop.drop_penalty_fen:
                detail = (
                    f"optional: the cheapest detour costs {cheapest} fen, more than its drop penalty "
                    f"{stop.drop_penalty_fen} fen"
                )
            else:
                detail = (
                    f"optional: the cheapest detour ({cheapest} fen) breaks a capacity, window or shift "
                    f"limit, and serving it within them costs more than its drop penalty "
                    f"{stop.drop_penalty_fen} fen"
                )
            out.append(Unassigned(stop_id, UnassignedReason.DROPPED_FOR_COST, detail))
            continue
        room: list[str] = []
        for vehicle in able:
            route = by_vehicle.get(vehicle.id)
            trips = route.trips if route is not None else ()
            if len(trips) < vehicle.max_trips or any(
                _has_room(problem, stop, vehicle, [stops[v.stop_id] for v in t.visits]) for t in trips
            ):
                room.append(vehicle.id)
        if not room:
            out.append(
                Unassigned(
                    stop_id,
                    UnassignedReason.CAPACITY,
                    f"the fleet is full: none of the {len(able)} vehicles that could serve it alone has room "
                    "in a trip or a trip left",
                )
            )
        else:
            out.append(
                Unassigned(
                    stop_id,
                    UnassignedReason.SHIFT_LENGTH,
                    f"{', '.join(repr(v) for v in room)} have room for it but no time left in their shift "
                    "to serve it within its window",
                )
            )
    return tuple(out)
