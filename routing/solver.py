"""solve(problem, params) -> Solution: the engines behind one interface, run side by side.

1. The problem and parameters are validated (``RoutingError`` for what cannot mean anything).
2. Stops no vehicle could serve even alone are set aside with their reason (``explain.solo_reason``).
3. The portfolio runs engine runs on the rest — in ``params.workers`` processes started together, each
   given the time left until the common deadline, or one after another in this process when
   ``workers`` is 1. Progress from every run is relayed to ``params.on_progress`` as the best improves.
4. Each plan is timed and costed from the problem (``engines.realise``) and judged by the independent
   checker (``checker.check``). Among the plans it accepts, the one serving most required stops wins,
   then the cheapest (objective in milli-fen); a plan it rejects is never returned.
5. Every stop left out gets its reason (``explain.explain``); ``feasible`` is the checker's verdict with
   all required stops demanded.

The default portfolio (``params.engines`` None): see ``choose_engines``.
"""

from __future__ import annotations

import dataclasses
import logging
import multiprocessing
import queue as queue_module
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from routing.checker import check
from routing.engines import (
    ENGINE_NAMES,
    EngineParams,
    Plan,
    ProgressCallback,
    get_engine,
    realise,
    route_cost_milli,
)
from routing.engines import ortools as ortools_engine
from routing.explain import explain, solo_reason
from routing.problem import MILLI, Problem, RoutingError, Solution, Unassigned

log = logging.getLogger(__name__)

__all__ = ["ProgressCallback", "SolveParams", "choose_engines", "fleet_short", "plan_runs", "solve"]

START_METHOD: Literal["fork"] = "fork"
"""How portfolio processes start. Measured (2 cores, Python 3.11, Linux; two children, from ``start()`` to
the engines imported in the child): ``fork`` 6–12 ms, ``forkserver`` 0.7–0.85 s, ``spawn`` 0.9–1.05 s
(both re-import OR-Tools, PyVRP and numpy). The engines are imported in the parent (``plan_runs``)
before forking, and no solver object exists yet when the children start."""

_RESERVE_S = 0.05
"""Kept back from the time limit for moving plans between processes, timing, costing and checking."""
_GRACE_S = 1.0
"""How long past the deadline the parent waits for a child's plan before stopping it."""

VROOM_MAX_STOPS = 150
"""Above this VROOM's most thorough search does not end by itself within a 10 s share, and its plans
trail PyVRP's: measured at 10 s (one core), it ended in 1–9 s on every 100-stop Solomon instance but ran
out its time on every 200–350-stop one, with mean gaps of 4.9 % (Gehring–Homberger 200) and 2.3 % (X)
against PyVRP's 0.2 % and 1.3 % — so there the second core runs a second PyVRP seed instead."""

_ORTOOLS_ALTERNATES = ("PATH_CHEAPEST_ARC", "SAVINGS", "LOCAL_CHEAPEST_INSERTION", "SWEEP")
"""First solution strategies for a second, third … OR-Tools run, so parallel runs differ."""


@dataclass(frozen=True, slots=True)
class SolveParams:
    """Every knob explicit. Tests stop on ``solution_limit`` (or a seed), never on wall time."""

    time_limit_s: float
    seed: int = 0
    solution_limit: int | None = None
    """Stop after this many solutions (OR-Tools; or 100 × as many search branches) / iterations (PyVRP):
    a deterministic stopping rule, for tests."""
    engines: tuple[str, ...] | None = None
    """Engines to run side by side (``ortools``, ``pyvrp``); None = the portfolio's choice."""
    workers: int = 2
    """Processes for the portfolio (one engine run each); 1 = run in this process only."""
    first_solution: str = "PARALLEL_CHEAPEST_INSERTION"
    """OR-Tools ``FirstSolutionStrategy`` name."""
    metaheuristic: str = "GUIDED_LOCAL_SEARCH"
    """OR-Tools ``LocalSearchMetaheuristic`` name."""
    on_progress: ProgressCallback | None = None

    def validate(self) -> None:
        """Raise ``RoutingError`` for a time limit not above zero, no workers, a solution limit below one,
        an unknown engine, or an unknown OR-Tools strategy name."""
        if not self.time_limit_s > 0:
            raise RoutingError("time_limit_s", "must be more than 0 seconds")
        if self.workers < 1:
            raise RoutingError("workers", "must be at least 1")
        if self.solution_limit is not None and self.solution_limit < 1:
            raise RoutingError("solution_limit", "must be at least 1 when given")
        if self.engines is not None:
            if not self.engines:
                raise RoutingError("engines", "name at least one engine, or None for the default")
            for name in self.engines:
                if name not in ENGINE_NAMES:
                    raise RoutingError(
                        "engines", f"unknown engine {name!r}; known: {', '.join(ENGINE_NAMES)}"
                    )
        ortools_engine.first_solution_strategy(self.first_solution)
        ortools_engine.metaheuristic(self.metaheuristic)


@dataclass(frozen=True, slots=True)
class EngineRun:
    """One run in the portfolio: an engine and the settings that make it differ from its siblings."""

    engine: str
    seed: int
    first_solution: str
    metaheuristic: str


def choose_engines(problem: Problem, params: SolveParams) -> tuple[str, ...]:
    """The engines to run on ``problem``: ``params.engines`` when given (without those that cannot express
    the problem exactly; OR-Tools if none is left), else one per worker:

    * PyVRP expresses the problem → PyVRP on every worker, with different seeds. Measured (8 s, one core
      per run, gap to the distance-only best known): RC101 PyVRP +1.7 % / +1.6 % (seeds 0 / 1), OR-Tools
      GLS +4.4 %; GH r1_2_1 PyVRP +1.5 % / +1.5 %, OR-Tools +8.0 %; GH rc1_2_1 PyVRP +0.6 %, OR-Tools
      +9.1 %; R101 and C101 both at the best known in 10 s.
    * … and when VROOM expresses it too, the problem has at most ``VROOM_MAX_STOPS`` stops and there are
      two workers or more, the last worker runs VROOM first (it ends on its own) and a PyVRP run with the
      rest of its time. A second PyVRP seed gains about 0.1 %; VROOM's different search finds shorter
      plans than either PyVRP run on some instances (10 s, Solomon RC102: VROOM +0.32 %, PyVRP +1.10 %;
      RC108: +0.43 % against +1.43 %).
    * … except when the fleet cannot carry every required stop (``fleet_short``): PyVRP then finds no
      plan it calls feasible and its best is repaired stop by stop, while OR-Tools drops stops as part
      of its search — so the last worker runs OR-Tools.
    * PyVRP cannot express it → OR-Tools on every worker, with different first solution strategies."""
    if params.engines is not None:
        chosen = tuple(n for n in params.engines if get_engine(n).supports(problem))
        return chosen or ("ortools",)
    if not get_engine("pyvrp").supports(problem):
        return ("ortools",) * params.workers
    if fleet_short(problem):
        return ("pyvrp",) * (params.workers - 1) + ("ortools",)
    if params.workers > 1 and len(problem.stops) <= VROOM_MAX_STOPS and get_engine("vroom").supports(problem):
        return ("pyvrp",) * (params.workers - 1) + ("vroom", "pyvrp")
    return ("pyvrp",) * params.workers


def fleet_short(problem: Problem) -> bool:
    """Whether the required stops need more, in some dimension, than every vehicle's every trip can carry
    together (a stop needs the larger of its delivery and pickup)."""
    for d in range(len(problem.dimensions)):
        need = sum(max(s.delivery[d], s.pickup[d]) for s in problem.stops if s.required)
        if need > sum(v.capacity[d] * v.max_trips for v in problem.vehicles):
            return True
    return False


def plan_runs(problem: Problem, params: SolveParams) -> tuple[EngineRun, ...]:
    """The portfolio's runs: ``choose_engines`` with a seed per PyVRP run (``seed``, ``seed`` + 1 …) and a
    first solution strategy per OR-Tools run (``first_solution``, then ``_ORTOOLS_ALTERNATES``)."""
    runs: list[EngineRun] = []
    counts: dict[str, int] = {}
    for name in choose_engines(problem, params):
        nth = counts.get(name, 0)
        counts[name] = nth + 1
        first = params.first_solution
        if name == "ortools" and nth:
            others = [s for s in _ORTOOLS_ALTERNATES if s != params.first_solution]
            first = others[(nth - 1) % len(others)]
        runs.append(EngineRun(name, params.seed + nth, first, params.metaheuristic))
    return tuple(runs)


class _Best:
    """Relays progress: passes on an objective only when it improves on every run's best so far."""

    def __init__(self, callback: ProgressCallback | None) -> None:
        self.callback = callback
        self.points: list[tuple[float, int]] = []

    def __call__(self, elapsed: float, objective: int) -> None:
        if self.points and objective >= self.points[-1][1]:
            return
        self.points.append((elapsed, objective))
        if self.callback is not None:
            self.callback(elapsed, objective)


def _execute(
    problem: Problem,
    runs: Sequence[EngineRun],
    params: SolveParams,
    deadline: float,
    started_at: float,
    report: Callable[[tuple[Any, ...]], None],
) -> None:
    """Run ``runs`` one after another, each with an equal share of the time left; report
    ``("progress", t, objective)``, ``("plan", plan)`` or ``("error", engine, message)``."""
    for i, run in enumerate(runs):
        now = time.monotonic()
        share = max(0.0, deadline - now) / (len(runs) - i)
        engine_params = EngineParams(
            deadline=now + share,
            started_at=started_at,
            seed=run.seed,
            solution_limit=params.solution_limit,
            first_solution=run.first_solution,
            metaheuristic=run.metaheuristic,
        )
        try:
            plan = get_engine(run.engine).run(
                problem, engine_params, lambda t, objective: report(("progress", t, objective))
            )
        except RoutingError:
            raise
        except Exception as exc:  # one engine failing must not sink the portfolio
            log.debug("engine %s failed", run.engine, exc_info=True)
            report(("error", run.engine, f"{type(exc).__name__}: {exc}"))
        else:
            report(("plan", plan))


def _child(
    problem: Problem,
    runs: Sequence[EngineRun],
    params: SolveParams,
    deadline: float,
    started_at: float,
    channel: Any,
) -> None:
    try:
        _execute(
            problem, runs, dataclasses.replace(params, on_progress=None), deadline, started_at, channel.put
        )
    except BaseException as exc:
        channel.put(("error", ",".join(r.engine for r in runs), f"{type(exc).__name__}: {exc}"))
    channel.put(("done",))


def _portfolio(
    problem: Problem, runs: Sequence[EngineRun], params: SolveParams, started_at: float, best: _Best
) -> list[Plan]:
    deadline = started_at + params.time_limit_s - min(_RESERVE_S, params.time_limit_s / 10)
    plans: list[Plan] = []
    errors: list[str] = []

    def report(message: tuple[Any, ...]) -> None:
        if message[0] == "progress":
            best(message[1], message[2])
        elif message[0] == "plan":
            plans.append(message[1])
        elif message[0] == "error":
            log.warning("routing engine %s failed: %s", message[1], message[2])
            errors.append(f"{message[1]}: {message[2]}")

    workers = min(params.workers, len(runs))
    if multiprocessing.current_process().daemon:
        workers = 1  # a daemonic process may not have children: run here, one run after another
    if workers == 1:
        _execute(problem, runs, params, deadline, started_at, report)
        return _outcome(plans, errors)

    context = multiprocessing.get_context(START_METHOD)
    channel = context.Queue()
    shares = _shares(runs, workers)
    children = [
        context.Process(
            target=_child,
            args=(problem, share, params, deadline, started_at, channel),
            name=f"gongpei-routing-{'+'.join(r.engine for r in share)}",
            daemon=True,
        )
        for share in shares
    ]
    for child in children:
        child.start()
    finished = 0
    try:
        while finished < len(children):
            if time.monotonic() > deadline + _GRACE_S:
                log.warning(
                    "routing portfolio: %d run(s) still busy after the deadline", len(children) - finished
                )
                break
            try:
                message = channel.get(timeout=0.05)
            except queue_module.Empty:
                if all(not c.is_alive() for c in children) and channel.empty():
                    break
                continue
            if message[0] == "done":
                finished += 1
            else:
                report(message)
    finally:
        for child in children:
            if child.is_alive():
                child.terminate()
            child.join(timeout=1.0)
        channel.close()
    return _outcome(plans, errors)


def _shares(runs: Sequence[EngineRun], workers: int) -> list[Sequence[EngineRun]]:
    """Runs per worker, in order and contiguous; the last workers take one more when they do not divide
    evenly (so ``pyvrp, vroom, pyvrp`` on two workers is ``[pyvrp]`` and ``[vroom, pyvrp]``)."""
    base, extra = divmod(len(runs), workers)
    shares: list[Sequence[EngineRun]] = []
    start = 0
    for w in range(workers):
        size = base + (1 if w >= workers - extra else 0)
        shares.append(runs[start : start + size])
        start += size
    return shares


def _outcome(plans: list[Plan], errors: list[str]) -> list[Plan]:
    """The plans; raises when there is none, rather than explain stops by a plan no engine made."""
    if plans:
        return plans
    if errors:
        raise RuntimeError("every routing engine failed: " + "; ".join(errors))
    raise RoutingError("time_limit_s", "no engine returned a plan in time; allow more time")


@dataclass(frozen=True, slots=True)
class _Judged:
    solution: Solution
    valid: bool
    key: tuple[int, int]
    """(required stops unserved, objective in milli-fen): smaller is better."""


def _assemble(problem: Problem, plan: Plan, set_aside: dict[str, Unassigned]) -> _Judged:
    realised = realise(problem, plan)
    if realised.removed:
        log.warning("routing: %s plan broke limits; took off %s", plan.engine, ", ".join(realised.removed))
    routed = {v.stop_id for r in realised.routes for t in r.trips for v in t.visits}
    left = [s.id for s in problem.stops if s.id not in routed and s.id not in set_aside]
    reasons = dict(set_aside)
    reasons.update((u.stop_id, u) for u in explain(problem, realised.routes, left))
    unassigned = tuple(reasons[s.id] for s in problem.stops if s.id in reasons)
    stops = {s.id: s for s in problem.stops}
    vehicles = {v.id: v for v in problem.vehicles}
    penalties_fen = sum(
        stops[u.stop_id].drop_penalty_fen for u in unassigned if not stops[u.stop_id].required
    )
    objective = sum(route_cost_milli(vehicles[r.vehicle_id], r.distance_m) for r in realised.routes)
    objective += MILLI * penalties_fen
    solution = Solution(
        routes=realised.routes,
        unassigned=unassigned,
        cost_fen=sum(r.cost_fen for r in realised.routes) + penalties_fen,
        distance_m=sum(r.distance_m for r in realised.routes),
        feasible=False,
        engine=plan.engine,
    )
    errors = check(problem, solution, require_all=False)
    if errors:
        log.error("routing: the checker rejects the %s plan: %s", plan.engine, "; ".join(errors[:5]))
    missing = sum(1 for u in unassigned if stops[u.stop_id].required)
    return _Judged(solution, not errors, (missing, objective))


def solve(problem: Problem, params: SolveParams) -> Solution:
    """Plan routes for ``problem`` within ``params.time_limit_s`` seconds (plus a little for starting
    processes and checking) and return the best plan the checker accepts.

    Every stop is either on a route or in ``unassigned`` with a reason; ``feasible`` is False when a
    required stop is left out; ``engine`` is ``none`` when no stop was servable and no engine ran.
    Raises ``RoutingError`` for a problem or parameters that cannot mean anything (see
    ``Problem.validate`` and ``SolveParams.validate``) and when no engine returned a plan before the
    time limit; ``RuntimeError`` when every engine failed or the checker rejects every plan (bugs, logged
    per engine and per plan)."""
    started_at = time.monotonic()
    problem.validate()
    params.validate()

    set_aside: dict[str, Unassigned] = {}
    for stop in problem.stops:
        reason = solo_reason(problem, stop)
        if reason is not None:
            set_aside[stop.id] = reason
    servable = tuple(s for s in problem.stops if s.id not in set_aside)
    best = _Best(params.on_progress)

    if servable:
        reduced = dataclasses.replace(problem, stops=servable)
        runs = plan_runs(reduced, params)
        judged = [
            _assemble(problem, plan, set_aside)
            for plan in _portfolio(reduced, runs, params, started_at, best)
        ]
        valid = [c for c in judged if c.valid]
        if not valid:  # realise and the checker disagree: a bug, never to be hidden behind an empty plan
            raise RuntimeError("the checker rejects every engine's plan (see the log for why)")
    else:
        valid = [_assemble(problem, Plan(engine="none", routes=()), set_aside)]
    chosen = min(valid, key=lambda c: c.key)
    feasible = not check(problem, chosen.solution)
    return dataclasses.replace(chosen.solution, feasible=feasible, progress=tuple(best.points))
