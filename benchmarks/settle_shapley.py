"""Shapley cost split of one shared route: exact for 8 carriers, sampled for 15.

    .venv/bin/python -m benchmarks.settle_shapley [--seed 20261130] [--samples 600]

The route: 40 village stops at seeded random points in a 50 km × 50 km county, the depot near the middle,
distances straight-line × 1.3 (road circuity) in metres. Each carrier has parcels at each stop with
probability 0.3, a station no one drew going to a random carrier (so the van visits all 40), 1–12 pieces of
0.3–5 kg each. The actual route cost to split: the 40-stop tour at 2.50 yuan per km plus a 60-yuan fixed
charge.

Figures: for the exact split (8 carriers), the wall time of the whole ``allocate`` call (a fresh memo each
time), best of 3; the coalitions evaluated and the distinct stop sets solved (exactly / heuristically);
for the Monte-Carlo split (15 carriers, ``--samples`` orders), the same figures and the largest 95 %
simultaneous half-width, in metres, fen and as a share of that carrier's value. As a check on that bound,
the Monte-Carlo estimate is also run on the 8-carrier route and compared with the exact values (the
largest error as a fraction of its half-width: below 1 when the bound held). Target: exact 8-carrier
split ≤ 2 s.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar

import numpy as np

from routing.split import (
    Allocation,
    CarrierStopLoad,
    ShapleyParams,
    SharedRoute,
    SplitRule,
    allocate,
    shapley_values,
)
from routing.tsp import tour_cost

STOPS = 40
SIDE_M = 50_000
CIRCUITY = 1.3
FEN_PER_KM = 250
FIXED_FEN = 6_000

T = TypeVar("T")


def make_route(seed: int, carriers: int) -> tuple[SharedRoute, int]:
    """A seeded 40-stop route shared by ``carriers`` carriers, and its actual cost in fen."""
    rng = random.Random(seed)
    points = [(SIDE_M / 2 + rng.uniform(-2_000, 2_000), SIDE_M / 2 + rng.uniform(-2_000, 2_000))]
    points += [(rng.uniform(0, SIDE_M), rng.uniform(0, SIDE_M)) for _ in range(STOPS)]
    xy = np.asarray(points)
    straight = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
    matrix = np.rint(straight * CIRCUITY).astype(np.int64)
    stops = tuple(range(1, STOPS + 1))
    codes = [f"c{c:02d}" for c in range(carriers)]
    served: dict[str, list[int]] = {code: [s for s in stops if rng.random() < 0.3] for code in codes}
    for stop in stops:  # every station has someone's parcels: the van visits all 40
        if not any(stop in mine for mine in served.values()):
            served[rng.choice(codes)].append(stop)
    loads: list[CarrierStopLoad] = []
    for code in codes:
        for stop in sorted(served[code]):
            pieces = rng.randint(1, 12)
            grams = sum(rng.randint(300, 5_000) for _ in range(pieces))
            loads.append(CarrierStopLoad(code, stop, pieces, grams))
    route = SharedRoute(matrix=matrix, depot=0, stops=stops, loads=tuple(loads))
    route_m = tour_cost(matrix, 0, stops)
    return route, route_m * FEN_PER_KM // 1000 + FIXED_FEN


def best_of(runs: int, work: Callable[[], T]) -> tuple[float, T]:
    best = float("inf")
    result: T | None = None
    for _ in range(runs):
        started = time.perf_counter()
        result = work()
        best = min(best, time.perf_counter() - started)
    assert result is not None
    return best, result


def figures(seconds: float, allocation: Allocation) -> dict[str, object]:
    detail = allocation.shapley
    assert detail is not None
    assert sum(allocation.parts_fen.values()) == allocation.total_fen
    out: dict[str, object] = {
        "seconds": round(seconds, 3),
        "carriers": len(allocation.carriers),
        "method": detail.method,
        "coalitions_evaluated": detail.coalitions_evaluated,
        "stop_sets_solved": detail.stop_sets_solved,
        "tours_exact": detail.exact_tours,
        "tours_heuristic": detail.heuristic_tours,
        "grand_cost_m": detail.grand_cost,
        "total_fen": allocation.total_fen,
        "parts_fen": dict(allocation.parts_fen),
    }
    if detail.half_width:
        scale = allocation.total_fen / detail.grand_cost
        worst = max(detail.half_width, key=lambda c: detail.half_width[c] / float(detail.values[c]))
        out |= {
            "samples": detail.samples,
            "confidence": detail.confidence,
            "max_half_width_m": round(max(detail.half_width.values()), 1),
            "max_half_width_fen": round(max(detail.half_width.values()) * scale, 1),
            "worst_relative_half_width": {
                "carrier": worst,
                "share_of_value": round(detail.half_width[worst] / float(detail.values[worst]), 4),
            },
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seed", type=int, default=20261130)
    parser.add_argument("--samples", type=int, default=600)
    args = parser.parse_args()

    route8, total8 = make_route(args.seed, 8)
    exact_s, exact = best_of(3, lambda: allocate(route8, total8, SplitRule.SHAPLEY))

    params = ShapleyParams(samples=args.samples, seed=args.seed)
    check = shapley_values(route8, replace(params, exact_max_carriers=0))
    assert exact.shapley is not None
    errors = {
        c: abs(float(check.values[c] - v)) / check.half_width[c] for c, v in exact.shapley.values.items()
    }

    route15, total15 = make_route(args.seed, 15)
    sampled_s, sampled = best_of(1, lambda: allocate(route15, total15, SplitRule.SHAPLEY, shapley=params))

    print(
        json.dumps(
            {
                "stops": STOPS,
                "exact_8_carriers": figures(exact_s, exact) | {"target_seconds": 2.0},
                "monte_carlo_on_the_8_carrier_route": {
                    "samples": check.samples,
                    "max_error_over_half_width": round(max(errors.values()), 3),
                },
                "monte_carlo_15_carriers": figures(sampled_s, sampled),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
