"""solve(problem, params) -> Solution: the engines behind one interface."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from routing.problem import Problem, RoutingError, Solution

ProgressCallback = Callable[[float, int], None]
"""Called with (seconds since the solve started, objective in milli-fen) when the best plan improves."""


@dataclass(frozen=True, slots=True)
class SolveParams:
    """Every knob explicit. Tests stop on ``solution_limit`` (or a seed), never on wall time."""

    time_limit_s: float
    seed: int = 0
    solution_limit: int | None = None
    """Stop after this many improving solutions (OR-Tools) / iterations (PyVRP); for tests."""
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
        if not self.time_limit_s > 0:
            raise RoutingError("time_limit_s", "must be more than 0 seconds")
        if self.workers < 1:
            raise RoutingError("workers", "must be at least 1")
        if self.solution_limit is not None and self.solution_limit < 1:
            raise RoutingError("solution_limit", "must be at least 1 when given")


def solve(problem: Problem, params: SolveParams) -> Solution:
    """Plan routes for ``problem``; raises ``RoutingError`` for a problem or parameters that cannot mean
    anything, and otherwise returns a plan whose left-out stops each carry a reason."""
    problem.validate()
    params.validate()
    raise NotImplementedError("engines are being built")
