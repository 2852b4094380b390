"""The independent checker: it accepts a good plan and names each kind of violation in hand-made bad ones."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from routing.checker import check
from routing.problem import Problem, Solution, TimeWindow, Unassigned, UnassignedReason, Visit
from tests.routing.factories import build, problem, replace_route, stop, vehicle

# Depot at 0; a (1 km east, window 09:00–10:00), b (2 km east), c (1 km north, picks up 4 kg).
POINTS = [(0, 0), (1000, 0), (2000, 0), (0, 1000)]


def _problem(**vehicle_fields: object) -> Problem:
    fields: dict[str, Any] = {"capacity_g": 10, "max_trips": 2, "reload_s": 300, "fixed_cost_fen": 100}
    fields.update(vehicle_fields)
    return problem(
        POINTS,
        [
            stop("a", 1, weight=4, window=TimeWindow(32_400, 36_000), service_s=60),
            stop("b", 2, weight=5, service_s=60),
            stop("c", 3, weight=2, pickup_weight=4, service_s=60),
            stop("opt", 3, required=False, drop_penalty_fen=70),
        ],
        [vehicle("v", **fields), vehicle("w", refrigerated=True)],
    )


def _good(prob: Problem | None = None) -> Solution:
    return build(prob or _problem(), {"v": [["a", "b"], ["c"]]})


def _visit(solution: Solution, trip: int, index: int) -> Visit:
    return solution.routes[0].trips[trip].visits[index]


def _with_visit(solution: Solution, trip: int, index: int, visit: Visit) -> Solution:
    route = solution.routes[0]
    trips = list(route.trips)
    visits = list(trips[trip].visits)
    visits[index] = visit
    trips[trip] = replace(trips[trip], visits=tuple(visits))
    return replace_route(solution, 0, replace(route, trips=tuple(trips)))


def _with_trip(solution: Solution, trip: int, **fields: object) -> Solution:
    route = solution.routes[0]
    trips = list(route.trips)
    trips[trip] = replace(trips[trip], **fields)  # type: ignore[arg-type]
    return replace_route(solution, 0, replace(route, trips=tuple(trips)))


def _only(errors: list[str], fragment: str) -> None:
    assert errors, "the checker found nothing wrong"
    assert any(fragment in e for e in errors), errors


def test_a_good_plan_passes():
    """The hand-made plan (two trips, a window, a pickup, an optional stop left out) is accepted."""
    solution = _good()
    assert check(_problem(), solution) == []
    assert solution.cost_fen == solution.routes[0].cost_fen + 70


def test_arrival_that_ignores_the_drive():
    """An arrival earlier than leaving plus driving is caught."""
    solution = _good()
    visit = _visit(solution, 0, 1)
    _only(
        check(_problem(), _with_visit(solution, 0, 1, replace(visit, arrival_s=visit.arrival_s - 1))),
        "arrives at",
    )


def test_service_outside_the_window():
    """Service starting before the window opens (and before arriving) is caught."""
    solution = _good()
    visit = _visit(solution, 0, 0)
    bad = _with_visit(solution, 0, 0, replace(visit, start_s=visit.arrival_s - 10, arrival_s=visit.arrival_s))
    errors = check(_problem(), bad)
    _only(errors, "outside its window")
    _only(errors, "before arriving")


def test_service_after_the_window_closes():
    """A window closing before the plan's service start is caught."""
    prob = _problem()
    solution = _good(prob)
    start = _visit(solution, 0, 0).start_s
    tighter = replace(prob, stops=(replace(prob.stops[0], window=TimeWindow(0, start - 1)), *prob.stops[1:]))
    _only(check(tighter, solution), "outside its window")


def test_capacity_exceeded():
    """A vehicle smaller than the load it carries out is caught."""
    _only(check(_problem(capacity_g=8), _good()), "above capacity")


def test_pickup_overload_that_separate_checks_would_miss():
    """Capacity 10: delivering 6 then picking up 8 is fine; picking up first carries 14 on the way —
    caught, although the deliveries (6) and the pickups (8) each fit on their own."""
    prob = problem(
        POINTS, [stop("p", 1, pickup_weight=8), stop("d", 2, weight=6)], [vehicle("v", capacity_g=10)]
    )
    assert check(prob, build(prob, {"v": [["d", "p"]]})) == []
    # The bad order, timed and loaded honestly on a bigger vehicle, then judged against the real one.
    bad = build(replace(prob, vehicles=(vehicle("v", capacity_g=14),)), {"v": [["p", "d"]]})
    _only(check(prob, bad), "above capacity")


def test_wrong_loads_reported():
    """A load that does not follow from the demands is caught."""
    solution = _good()
    visit = _visit(solution, 1, 0)
    _only(check(_problem(), _with_visit(solution, 1, 0, replace(visit, load_after=(0, 0, 0)))), "leaves with")
    _only(check(_problem(), _with_trip(solution, 0, load_out=(1, 0, 0))), "loads")


def test_refrigerated_stop_on_a_plain_vehicle():
    """A cold stop on a vehicle without refrigeration is caught."""
    prob = _problem()
    cold = replace(prob, stops=(replace(prob.stops[0], refrigerated=True), *prob.stops[1:]))
    _only(check(cold, _good(prob)), "refrigerated")


def test_pinned_stop_on_another_vehicle():
    """A stop pinned to w served by v is caught."""
    prob = _problem()
    pinned = replace(prob, stops=(*prob.stops[:2], replace(prob.stops[2], pinned_vehicle="w"), prob.stops[3]))
    _only(check(pinned, _good(prob)), "pinned to 'w'")


def test_stop_served_twice_and_stop_forgotten():
    """A stop visited twice, and a stop neither routed nor unassigned, are caught."""
    solution = _good()
    twice = _with_trip(solution, 1, visits=(*solution.routes[0].trips[1].visits, _visit(solution, 0, 0)))
    _only(check(_problem(), twice), "already served")
    forgotten = replace(solution, unassigned=())
    _only(check(_problem(), forgotten), "neither routed nor unassigned")


def test_stop_both_routed_and_unassigned():
    """A routed stop also listed as unassigned is caught."""
    solution = _good()
    extra = Unassigned("a", UnassignedReason.CAPACITY, "made up")
    _only(
        check(_problem(), replace(solution, unassigned=(*solution.unassigned, extra))),
        "both routed and unassigned",
    )


def test_required_stop_left_out_only_when_all_are_required():
    """A required stop listed as unassigned breaks feasibility, not the plan's consistency."""
    prob = _problem()
    partial = build(prob, {"v": [["a", "b"]]})
    assert check(prob, partial, require_all=False) == []
    _only(check(prob, partial), "required stop 'c' is not served")


def test_more_trips_than_allowed():
    """Two trips on a one-trip vehicle are caught."""
    _only(check(_problem(max_trips=1), _good()), "at most 1")


def test_trips_overlapping_without_reload():
    """A second trip leaving before the first returns plus the reload time is caught."""
    solution = _good()
    _only(check(_problem(reload_s=10**5), solution), "before the previous return")


def test_past_shift_end_and_max_duration():
    """Returning after the shift ends, and working longer than the maximum, are caught."""
    solution = _good()
    last_return = solution.routes[0].trips[-1].return_s
    _only(check(_problem(shift=TimeWindow(0, last_return - 1)), solution), "after the shift ends")
    _only(
        check(_problem(max_duration_s=solution.routes[0].duration_s - 1), solution), "more than its maximum"
    )


def test_leaving_before_the_shift_starts():
    """A departure before the shift starts is caught."""
    solution = _good()
    first = solution.routes[0].trips[0].depart_s
    _only(check(_problem(shift=TimeWindow(first + 1, 86_400)), solution), "before the shift starts")


def test_distances_and_costs_must_add_up():
    """Wrong trip, route or plan distances and costs are each caught."""
    solution = _good()
    _only(check(_problem(), _with_trip(solution, 0, distance_m=1)), "the matrix gives")
    route = solution.routes[0]
    _only(check(_problem(), replace_route(solution, 0, replace(route, cost_fen=route.cost_fen + 1))), "costs")
    _only(check(_problem(), replace(solution, distance_m=solution.distance_m + 1)), "plan distance")
    _only(check(_problem(), replace(solution, cost_fen=solution.cost_fen - 70)), "plan cost")


def test_unknown_vehicle_and_unknown_stop():
    """A route for a vehicle not in the problem, and a visit to a stop not in it, are caught."""
    solution = _good()
    route = solution.routes[0]
    _only(
        check(_problem(), replace_route(solution, 0, replace(route, vehicle_id="ghost"))), "no such vehicle"
    )
    ghost = replace(_visit(solution, 1, 0), stop_id="ghost")
    _only(check(_problem(), _with_visit(solution, 1, 0, ghost)), "no such stop")


@pytest.mark.parametrize("field", ["return_s", "depart_s"])
def test_trip_times_must_follow_the_drive(field):
    """A return that is not the last departure plus the drive back, or a departure that does not lead to
    the recorded arrivals, is caught."""
    solution = _good()
    trip = solution.routes[0].trips[1]
    _only(check(_problem(), _with_trip(solution, 1, **{field: getattr(trip, field) + 5})), "")
