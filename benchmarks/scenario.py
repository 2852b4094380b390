"""A county's morning wave end to end: 10,000 parcels, one station per village, 12 vehicles (2 refrigerated).

    .venv/bin/python -m benchmarks.scenario [--county 211104 --county 211381] [--parcels 10000]
        [--seed 0] [--time-limit 30] [--gazetteer ../shared/data/liaoning]

Each county runs as ``gongpei scenario`` in a fresh process (so peak RSS is that run's alone): build the
stations (villages placed by the seeded rule the output's ``placement`` states), draw the parcels, batch
them into stops, solve with ``routing.solver.solve`` and check the plan with ``routing.checker.check``.
Reported per county: wall time of the process, build and solve seconds, peak RSS (the process and its
largest solver worker), cost in fen, distance, vehicles used, the checker's verdict, unassigned stops by
reason, and the solver's progress ([seconds, objective] at each improvement).
Targets: ≤ 30 s wall time and ≤ 1 GB peak RSS for 10,000 parcels / ~190 stations (大洼区 211104);
北票市 211381 (298 stations, a larger hill county) is reported against the same limits.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
TARGET_S = 30.0
TARGET_RSS_MB = 1024.0


def run(county: str, *, parcels: int, seed: int, time_limit: float, gazetteer: Path | None) -> dict[str, Any]:
    command = [
        sys.executable,
        "-c",
        "from dispatch.cli import main; main()",
        "scenario",
        "--county",
        county,
        "--parcels",
        str(parcels),
        "--seed",
        str(seed),
        "--time-limit",
        str(time_limit),
    ]
    if gazetteer is not None:
        command += ["--gazetteer", str(gazetteer)]
    started = time.perf_counter()
    proc = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        return {"county": county, "error": proc.stderr.strip()[-2000:] or proc.stdout.strip()[-2000:]}
    report: dict[str, Any] = json.loads(lines[-1])
    rss = report.get("peak_rss_mb", {}).get("peak", 0.0)
    checker = report.get("checker") or {}
    return {
        "county": f"{county} {report['county']['name']}",
        "stations": report["stations"],
        "parcels": report["parcels"]["generated"],
        "batched": report["parcels"]["batched"],
        "stops": report["stops"],
        "vehicles": report["vehicles"]["count"],
        "refrigerated": report["vehicles"]["refrigerated"],
        "wall_s": round(wall, 2),
        "build_s": report.get("build_s"),
        "solve_s": report.get("solve_s"),
        "peak_rss_mb": rss,
        "within_targets": wall <= TARGET_S and rss <= TARGET_RSS_MB,
        "solved": report.get("solved"),
        "engine": report.get("engine"),
        "cost_fen": report.get("cost_fen"),
        "distance_km": round(report["distance_m"] / 1000, 1) if "distance_m" in report else None,
        "vehicles_used": report.get("vehicles_used"),
        "feasible": report.get("feasible"),
        "checker_violations": checker.get("violations"),
        "checker_first": checker.get("first", [])[:5],
        "unassigned": (report.get("unassigned") or {}).get("by_reason"),
        "progress_points": len(report.get("progress") or []),
        "progress": _thin(report.get("progress") or []),
        "error": report.get("error"),
    }


def _thin(progress: list[list[float]], keep: int = 12) -> str:
    """At most ``keep`` of the [seconds, objective] points (the first, the last, evenly between), as
    one line of text so the report stays readable."""
    if len(progress) > keep:
        step = (len(progress) - 1) / (keep - 1)
        progress = [progress[round(k * step)] for k in range(keep)]
    return " ".join(f"{t:g}s:{objective:.0f}" for t, objective in progress)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--county", action="append", help="NBS county code (repeatable).")
    parser.add_argument("--parcels", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--time-limit", type=float, default=TARGET_S)
    parser.add_argument("--gazetteer", type=Path, default=None)
    args = parser.parse_args(argv)
    results = [
        run(
            county,
            parcels=args.parcels,
            seed=args.seed,
            time_limit=args.time_limit,
            gazetteer=args.gazetteer,
        )
        for county in args.county or ["211104", "211381"]
    ]
    print(
        json.dumps(
            {"targets": {"wall_s": TARGET_S, "peak_rss_mb": TARGET_RSS_MB}, "runs": results},
            ensure_ascii=False,
            indent=1,
        )
    )
    return 0 if all("error" not in r or r["error"] is None for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
