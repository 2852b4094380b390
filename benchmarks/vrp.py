"""Routing quality on the classic instances: ours against PyVRP, VROOM and OR-Tools (plain GLS), in one run.

    .venv/bin/python -m benchmarks.vrp [--time-limits 10 30] [--sets Solomon-C1 X] [--instances C101 …]
                                       [--solvers ours pyvrp vroom ortools] [--seed 0] [--pair-peers]
                                       [--quick] [--out FILE.json]

Every instance listed in /work/shared/benchmarks/bks.csv (or the ``--sets``/``--instances`` chosen) is read
once by ``dispatch.planning.instances`` into integer data under the file's convention (VRPTW: DIMACS
tenths; X: TSPLIB nearest integer), and every solver gets that same data and the same time limit:

* ``ours``: ``routing.solver.solve`` with its default portfolio (two processes, one per core);
* ``pyvrp``: plain ``pyvrp.solve`` with its own default parameters, ``MaxRuntime``, one thread;
* ``vroom``: ``pyvroom`` with exploration level 5, one thread, the time limit as its timeout;
* ``ortools``: a minimal model (capacity, time windows, matrices registered as such),
  PATH_CHEAPEST_ARC + GUIDED_LOCAL_SEARCH, the time limit, one thread.

The fleet is the file's vehicle number (VRPTW) or, for the unbounded X fleets, the bound
``Instance.fleet`` (no shortest plan needs more routes). Each answer is re-costed and checked from the
file's data alone (``check_routes``): an infeasible answer counts as infeasible, never as a gap. Gaps are to
the distance-only BKS (``bks`` column, same rounding convention).

Scheduling, so that no solver is starved: each run is a fresh process (spawned, so imports are not
timed and a crash or hang costs only that run). ``ours`` runs alone, free to use both cores. By default the
peers also run one at a time, each pinned to one core (``os.sched_setaffinity`` in the child). With
``--pair-peers`` two peers run side by side, each pinned to its own core, which saves a third of the wall
time but shares memory bandwidth. Progress goes to stderr; stdout gets the Markdown tables; the full
results (routes included) go to a JSON file under benchmarks/results/ unless ``--out`` says otherwise.
"""

from __future__ import annotations

import argparse
import csv
import importlib
import importlib.metadata
import json
import math
import multiprocessing as mp
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from dispatch.planning.instances import Instance, check_routes, read_instance

REPO = Path(__file__).resolve().parent.parent
BENCHMARKS = Path("/work/shared/benchmarks")
RESULTS = REPO / "benchmarks" / "results"
QUICK_INSTANCES = ("C101", "X-n101-k25")
QUICK_TIME_LIMIT_S = 2.0
DEFAULT_TIME_LIMITS_S = (10.0, 30.0)

SOLVER_NAMES = ("ours", "pyvrp", "vroom", "ortools")
SOLVER_TITLES = {"ours": "ours", "pyvrp": "PyVRP", "vroom": "VROOM", "ortools": "OR-Tools GLS"}
SOLVER_LIBRARIES = {
    "ours": ("routing.solver",),
    "pyvrp": ("pyvrp",),
    "vroom": ("vroom",),
    "ortools": ("ortools",),
}
Routes = list[list[int]]


@dataclass(frozen=True, slots=True)
class Case:
    instance: str
    set: str
    customers: int
    bks: float
    path: Path


@dataclass(slots=True)
class Run:
    instance: str
    set: str
    solver: str
    time_limit_s: float
    bks: float
    cost: float | None = None
    gap_pct: float | None = None
    vehicles: int | None = None
    feasible: bool = False
    violations: tuple[str, ...] = ()
    wall_s: float | None = None
    engine: str | None = None
    error: str | None = None
    routes: Routes | None = None


# --- the solvers, each run inside its own child process ------------------------------------------


def solve_ours(instance: Instance, time_limit_s: float, seed: int) -> tuple[Routes, str]:
    from dispatch.planning.instances import solve_instance

    answer = solve_instance(instance, time_limit_s=time_limit_s, seed=seed)
    return [list(route) for route in answer.routes], answer.engine


def solve_pyvrp(instance: Instance, time_limit_s: float, seed: int) -> tuple[Routes, str]:
    import numpy as np
    import pyvrp
    from pyvrp.stop import MaxRuntime

    unlimited = int(np.iinfo(np.int64).max)  # PyVRP's own "no limit"
    matrices: list[Any] = [np.asarray(instance.distance, dtype=np.int64)]
    coords = instance.coords or tuple((0.0, 0.0) for _ in range(instance.size))
    start, end = instance.depot_window if instance.windows is not None else (0, unlimited)
    windows = instance.windows or tuple((0, unlimited) for _ in range(instance.size))
    customers = instance.customers
    clients = [
        pyvrp.Client(
            location=i,
            delivery=[instance.demand[i]],
            service_duration=instance.service[i],
            tw_early=windows[i][0],
            tw_late=windows[i][1],
        )
        for i in customers
    ]
    depot = pyvrp.Depot(location=instance.depot, tw_early=start, tw_late=end)
    vehicle_type = pyvrp.VehicleType(
        num_available=instance.fleet,
        capacity=[instance.capacity],
        tw_early=start,
        tw_late=end,
        shift_duration=unlimited if instance.max_route is None else instance.max_route,
    )
    locations = [pyvrp.Location(x=x, y=y) for x, y in coords]
    data = pyvrp.ProblemData(locations, clients, [depot], [vehicle_type], matrices, matrices)
    result = pyvrp.solve(data, MaxRuntime(time_limit_s), seed=seed, collect_stats=False, display=False)
    routes = [
        [customers[activity.idx] for activity in route if activity.type == pyvrp.ActivityType.CLIENT]
        for route in result.best.routes()
    ]
    return routes, "pyvrp"


def solve_vroom(instance: Instance, time_limit_s: float, seed: int) -> tuple[Routes, str]:
    from datetime import timedelta

    import numpy as np
    import vroom

    del seed  # VROOM's search is deterministic
    matrix = np.asarray(instance.distance, dtype=np.uint32)
    problem = vroom.Input()
    problem.set_durations_matrix("car", matrix)
    problem.set_costs_matrix("car", matrix)
    start, end = instance.depot_window
    windows = instance.windows
    for k in range(instance.fleet):
        problem.add_vehicle(
            vroom.Vehicle(
                id=k,
                start=instance.depot,
                end=instance.depot,
                capacity=[instance.capacity],
                **({} if windows is None else {"time_window": vroom.TimeWindow(start, end)}),
            )
        )
    for i in instance.customers:
        problem.add_job(
            vroom.Job(
                id=i,
                location=i,
                default_service=instance.service[i],
                delivery=[instance.demand[i]],
                **({} if windows is None else {"time_windows": [vroom.TimeWindow(*windows[i])]}),
            )
        )
    solution = problem.solve(exploration_level=5, nb_threads=1, timeout=timedelta(seconds=time_limit_s))
    frame = solution.routes
    jobs = frame[frame["type"] == "job"]
    routes = [[int(j) for j in group["id"]] for _, group in jobs.groupby("vehicle_id", sort=True)]
    return routes, "vroom"


def solve_ortools(instance: Instance, time_limit_s: float, seed: int) -> tuple[Routes, str]:
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    del seed  # the plain model has no seed to set
    size, fleet = instance.size, instance.fleet
    manager = pywrapcp.RoutingIndexManager(size, fleet, instance.depot)
    model = pywrapcp.RoutingModel(manager)
    distance = [list(row) for row in instance.distance]
    arc_cost = model.RegisterTransitMatrix(distance)
    model.SetArcCostEvaluatorOfAllVehicles(arc_cost)
    demand = model.RegisterUnaryTransitVector(list(instance.demand))
    model.AddDimensionWithVehicleCapacity(demand, 0, [instance.capacity] * fleet, True, "Capacity")
    start, end = instance.depot_window
    if instance.windows is not None or instance.max_route is not None:
        travel = [[d + instance.service[i] for d in row] for i, row in enumerate(distance)]
        model.AddDimension(model.RegisterTransitMatrix(travel), end, end, False, "Time")
        time_dimension = model.GetDimensionOrDie("Time")
        if instance.windows is not None:
            for i in instance.customers:
                time_dimension.CumulVar(manager.NodeToIndex(i)).SetRange(*instance.windows[i])
        for v in range(fleet):
            time_dimension.CumulVar(model.Start(v)).SetRange(start, end)
            time_dimension.CumulVar(model.End(v)).SetRange(start, end)
            if instance.max_route is not None:
                time_dimension.SetSpanUpperBoundForVehicle(instance.max_route, v)
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    params.time_limit.FromMilliseconds(max(1, round(time_limit_s * 1000)))
    assignment = model.SolveWithParameters(params)
    routes: Routes = []
    if assignment is None:
        return routes, "ortools"
    for v in range(fleet):
        index = assignment.Value(model.NextVar(model.Start(v)))
        route = []
        while not model.IsEnd(index):
            route.append(manager.IndexToNode(index))
            index = assignment.Value(model.NextVar(index))
        if route:
            routes.append(route)
    return routes, "ortools"


SOLVERS: dict[str, Callable[[Instance, float, int], tuple[Routes, str]]] = {
    "ours": solve_ours,
    "pyvrp": solve_pyvrp,
    "vroom": solve_vroom,
    "ortools": solve_ortools,
}


def _child(conn: Connection, solver: str, path: str, time_limit_s: float, seed: int, cpu: int | None) -> None:
    try:
        if cpu is not None:
            os.sched_setaffinity(0, {cpu})
        for module in SOLVER_LIBRARIES[solver]:
            importlib.import_module(module)
        instance = read_instance(path)
        started = time.perf_counter()
        routes, engine = SOLVERS[solver](instance, time_limit_s, seed)
        wall_s = time.perf_counter() - started
        conn.send(
            {"routes": [[int(c) for c in route] for route in routes], "wall_s": wall_s, "engine": engine}
        )
    except BaseException as exc:  # reported as this run's error; the benchmark goes on
        conn.send({"error": f"{type(exc).__name__}: {exc}"})
    finally:
        conn.close()


# --- running ---------------------------------------------------------------------------------------


def load_cases(sets: Sequence[str] | None, names: Sequence[str] | None) -> list[Case]:
    with (BENCHMARKS / "bks.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    cases = [
        Case(
            instance=row["instance"],
            set=row["set"],
            customers=int(row["customers"]),
            bks=float(row["bks"]),
            path=BENCHMARKS / row["file"],
        )
        for row in rows
        if (not sets or row["set"] in sets) and (not names or row["instance"] in names)
    ]
    unknown = set(names or ()) - {c.instance for c in cases}
    if unknown:
        raise SystemExit(f"not in bks.csv (or not in the chosen sets): {', '.join(sorted(unknown))}")
    return cases


class Scheduler:
    """Starts each run in a fresh spawned process and collects its answer."""

    def __init__(self, seed: int, pair_peers: bool) -> None:
        self.seed = seed
        self.context = mp.get_context("spawn")
        self.cores = sorted(os.sched_getaffinity(0))
        self.pair_peers = pair_peers and len(self.cores) >= 2

    def run_batch(self, case: Case, solvers: Sequence[str], time_limit_s: float) -> list[Run]:
        """Run ``solvers`` side by side (one each on its own core when more than one is given)."""
        started = []
        for slot, solver in enumerate(solvers):
            cpu = None if solver == "ours" else self.cores[slot % len(self.cores)]
            receiver, sender = self.context.Pipe(duplex=False)
            process = self.context.Process(
                target=_child,
                args=(sender, solver, str(case.path), time_limit_s, self.seed, cpu),
                name=f"vrp-{solver}-{case.instance}",
            )
            process.start()
            sender.close()
            started.append((solver, process, receiver))
        deadline = time.monotonic() + 3 * time_limit_s + 120
        runs = []
        for solver, process, receiver in started:
            reply: dict[str, Any] | None = None
            if receiver.poll(max(0.0, deadline - time.monotonic())):
                try:
                    reply = receiver.recv()
                except EOFError:
                    reply = None
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
                process.join()
            if reply is None:
                reply = {"error": f"no answer (exit code {process.exitcode})"}
            runs.append(self._judge(case, solver, time_limit_s, reply))
        return runs

    def schedule(self, solvers: Sequence[str]) -> list[list[str]]:
        """``ours`` alone; the peers one at a time, or two at a time with ``--pair-peers``."""
        batches = [["ours"]] if "ours" in solvers else []
        peers = [s for s in solvers if s != "ours"]
        step = 2 if self.pair_peers else 1
        batches += [peers[k : k + step] for k in range(0, len(peers), step)]
        return batches

    @staticmethod
    def _judge(case: Case, solver: str, time_limit_s: float, reply: dict[str, Any]) -> Run:
        run = Run(case.instance, case.set, solver, time_limit_s, case.bks)
        if "error" in reply:
            run.error = str(reply["error"])
            return run
        instance = read_instance(case.path)
        routes: Routes = reply["routes"]
        check = check_routes(instance, routes)
        run.routes = routes
        run.cost = float(check.cost)
        run.vehicles = check.vehicles
        run.feasible = check.feasible
        run.violations = check.violations[:5]
        run.wall_s = round(float(reply["wall_s"]), 3)
        run.engine = str(reply["engine"])
        if check.feasible:
            run.gap_pct = round(100 * (run.cost - case.bks) / case.bks, 3)
        return run


def _progress(message: str) -> None:
    print(f"[vrp] {message}", file=sys.stderr, flush=True)


def _describe(run: Run) -> str:
    if run.error:
        return f"{run.solver}: error {run.error}"
    if not run.vehicles:
        return f"{run.solver}: no plan ({run.violations[0] if run.violations else 'nothing to serve'})"
    verdict = f"{run.gap_pct:+.2f} %" if run.gap_pct is not None else "INFEASIBLE"
    return f"{run.solver}: {run.cost:g} ({verdict}), {run.vehicles} routes, {run.wall_s:.1f} s"


# --- reporting -------------------------------------------------------------------------------------


def summarise(runs: Sequence[Run], solvers: Sequence[str]) -> list[dict[str, Any]]:
    """Per time limit, set (and all sets together) and solver: mean gap over feasible answers and counts."""
    rows = []
    limits = sorted({r.time_limit_s for r in runs})
    sets = list(dict.fromkeys(r.set for r in runs))
    for limit in limits:
        for group in [*sets, "all"]:
            for solver in solvers:
                chosen = [
                    r
                    for r in runs
                    if r.time_limit_s == limit and r.solver == solver and (group == "all" or r.set == group)
                ]
                if not chosen:
                    continue
                gaps = [r.gap_pct for r in chosen if r.gap_pct is not None]
                rows.append(
                    {
                        "time_limit_s": limit,
                        "set": group,
                        "solver": solver,
                        "instances": len(chosen),
                        "feasible": len(gaps),
                        "infeasible": sum(1 for r in chosen if r.error is None and not r.feasible),
                        "errors": sum(1 for r in chosen if r.error is not None),
                        "mean_gap_pct": round(statistics.fmean(gaps), 3) if gaps else None,
                        "mean_vehicles": round(
                            statistics.fmean(r.vehicles or 0 for r in chosen if r.feasible), 2
                        )
                        if gaps
                        else None,
                    }
                )
    return rows


def _cell(row: dict[str, Any] | None) -> str:
    if row is None:
        return "–"
    text = "–" if row["mean_gap_pct"] is None else f"{row['mean_gap_pct']:.2f} %"
    notes = []
    if row["infeasible"]:
        notes.append(f"{row['infeasible']} infeasible")
    if row["errors"]:
        notes.append(f"{row['errors']} failed")
    return f"{text} ({', '.join(notes)})" if notes else text


def markdown(runs: Sequence[Run], summary: Sequence[dict[str, Any]], solvers: Sequence[str]) -> str:
    titles = [SOLVER_TITLES[s] for s in solvers]
    lines: list[str] = []
    by_key = {(r["time_limit_s"], r["set"], r["solver"]): r for r in summary}
    for limit in sorted({r["time_limit_s"] for r in summary}):
        lines += [
            f"Mean gap to the distance-only BKS, {limit:g} s per instance "
            "(feasible answers only; infeasible and failed runs counted apart):",
            "",
            "| set | instances | " + " | ".join(titles) + " |",
            "|---|---:|" + "---:|" * len(titles),
        ]
        groups = list(dict.fromkeys(r["set"] for r in summary if r["time_limit_s"] == limit))
        for group in groups:
            count = max(
                by_key[(limit, group, s)]["instances"] for s in solvers if (limit, group, s) in by_key
            )
            cells = [_cell(by_key.get((limit, group, s))) for s in solvers]
            label = f"**{group}**" if group == "all" else group
            lines.append(f"| {label} | {count} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += ["Per instance (cost, gap to BKS; ✗ = infeasible):", ""]
    lines += [
        "| instance | limit | BKS | " + " | ".join(titles) + " |",
        "|---|---:|---:|" + "---:|" * len(titles),
    ]
    table: dict[tuple[str, float], dict[str, Run]] = {}
    for run in runs:
        table.setdefault((run.instance, run.time_limit_s), {})[run.solver] = run
    for (instance, limit), by_solver in table.items():
        cells = []
        for solver in solvers:
            found = by_solver.get(solver)
            if found is None:
                cells.append("–")
            elif found.error is not None:
                cells.append("failed")
            elif not found.vehicles:
                cells.append("no plan ✗")
            elif found.gap_pct is None:
                cells.append(f"{found.cost:g} ✗")
            else:
                cells.append(f"{found.cost:g} ({found.gap_pct:+.2f} %)")
        bks = next(iter(by_solver.values())).bks
        lines.append(f"| {instance} | {limit:g} s | {bks:g} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for package in ("ortools", "pyvrp", "pyvroom", "vrplib", "numpy"):
        try:
            out[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            out[package] = "missing"
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--time-limits", type=float, nargs="+", help="seconds per run (default 10 30)")
    parser.add_argument("--sets", nargs="+", help="sets as in bks.csv, e.g. Solomon-C1 GH200 X")
    parser.add_argument("--instances", nargs="+", help="instance names as in bks.csv, e.g. C101 X-n101-k25")
    parser.add_argument("--solvers", nargs="+", choices=SOLVER_NAMES, default=list(SOLVER_NAMES))
    parser.add_argument("--seed", type=int, default=0, help="seed for ours and PyVRP")
    parser.add_argument("--pair-peers", action="store_true", help="two single-thread peers side by side")
    parser.add_argument(
        "--quick", action="store_true", help=f"smoke run: {', '.join(QUICK_INSTANCES)} at 2 s unless given"
    )
    parser.add_argument("--out", type=Path, help="results JSON (default benchmarks/results/vrp-<time>.json)")
    args = parser.parse_args(argv)

    limits = args.time_limits or ([QUICK_TIME_LIMIT_S] if args.quick else list(DEFAULT_TIME_LIMITS_S))
    if any(not (math.isfinite(t) and t > 0) for t in limits):
        parser.error("time limits must be positive")
    names = args.instances or (list(QUICK_INSTANCES) if args.quick else None)
    cases = load_cases(args.sets, names)
    solvers = [s for s in SOLVER_NAMES if s in args.solvers]
    scheduler = Scheduler(seed=args.seed, pair_peers=args.pair_peers)
    batches = scheduler.schedule(solvers)
    started_at = datetime.now(UTC)
    wall_per_case = sum(limits) * len(batches)
    _progress(
        f"{len(cases)} instances × {len(solvers)} solvers × limits {limits} s; batches {batches}; "
        f"about {len(cases) * wall_per_case / 60:.0f} min"
    )

    runs: list[Run] = []
    for limit in limits:
        for number, case in enumerate(cases, start=1):
            for batch in batches:
                for run in scheduler.run_batch(case, batch, limit):
                    runs.append(run)
                    _progress(f"{limit:g} s [{number}/{len(cases)}] {case.instance} {_describe(run)}")

    summary = summarise(runs, solvers)
    out = args.out or RESULTS / f"vrp-{started_at:%Y%m%d-%H%M%S}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "started_at": started_at.isoformat(),
        "time_limits_s": limits,
        "seed": args.seed,
        "solvers": solvers,
        "schedule": {
            "batches": batches,
            "cores": scheduler.cores,
            "note": "ours alone on all cores; peers pinned to one core each "
            + ("(two side by side)" if scheduler.pair_peers else "(one at a time)"),
        },
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "versions": _versions(),
        "summary": summary,
        "runs": [asdict(run) for run in runs],
    }
    out.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    _progress(f"results written to {out}")
    sys.stdout.write(markdown(runs, summary, solvers))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
