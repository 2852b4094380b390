"""Address matching on the labelled set: ours against jionlp's parse_location, in one run.

    .venv/bin/python -m benchmarks.match [--gazetteer ../shared/data/liaoning] [--labelled FILE]

For each matcher: village-level precision (of the village codes it gives, the share that are right —
a wrong village costs a wasted trip) and recall (of the addresses that name a real village, the share
resolved to it), township- and county-level accuracy, addresses per second on one core (CPU time of
the matching loop, best of three), and peak RSS of a fresh process that loads the whole-province
gazetteer and matches the set. jionlp returns names, not codes: its county, town and village names are
joined to NBS codes through the same gazetteer (county by name in the province, town by name in that
county, village by any written form of its name in that town); it takes no operator county or sort hint.
Targets (ours): precision ≥ 99.5 %, recall ≥ 97 %, ≥ 10,000 addresses/s, ≤ 150 MB RSS.
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
LABELLED = REPO / "tests" / "matching" / "data" / "labelled_addresses.csv"

Resolved = tuple[str | None, str | None, str | None]  # county, township, village codes


def load_labelled(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def ours(gazetteer_dir: Path) -> Callable[[str, str | None, str | None], Resolved]:
    from dispatch.matching.engine import Matcher
    from dispatch.matching.gazetteer import load_dir

    matcher = Matcher(load_dir(gazetteer_dir))

    def run(address: str, county: str | None, sort_hint: str | None) -> Resolved:
        result = matcher.match(address, county_hint=county, sort_hint=sort_hint)
        return result.county_code, result.township_code, result.village_code

    return run


def jionlp_peer(gazetteer_dir: Path) -> Callable[[str, str | None, str | None], Resolved]:
    import jionlp

    from dispatch.matching.gazetteer import load_dir
    from dispatch.matching.normalise import village_forms

    gazetteer = load_dir(gazetteer_dir)
    counties = {d.name: d.code for d in gazetteer.counties()}
    towns = {(d.county_code, d.name): d.code for d in gazetteer.townships() if not d.retired}
    villages: dict[tuple[str, str], str] = {}
    for v in gazetteer.villages():
        for form in village_forms(v.name)[0]:
            villages.setdefault((v.township_code or "", form), v.code)

    def run(address: str, county: str | None, sort_hint: str | None) -> Resolved:
        try:
            parsed = jionlp.parse_location(address, town_village=True)
        except Exception:  # noqa: BLE001 - a peer's crash counts as no answer
            return None, None, None
        county_code = counties.get(parsed.get("county") or "")
        town_code = towns.get((county_code or "", parsed.get("town") or "")) if county_code else None
        village_code = villages.get((town_code or "", parsed.get("village") or "")) if town_code else None
        return county_code, town_code, village_code

    return run


def score(rows: list[dict[str, str]], answers: list[Resolved]) -> dict[str, Any]:
    given = right = named = found = 0
    township_right = township_total = county_right = county_total = 0
    wrong: list[dict[str, str | None]] = []
    for row, (county, township, village) in zip(rows, answers, strict=True):
        expected_village = row["expected_village_code"] or None
        if village:
            given += 1
            if village == expected_village:
                right += 1
            elif len(wrong) < 10:
                wrong.append({"address": row["address"], "got": village, "expected": expected_village})
        if row["expected_status"] == "village":
            named += 1
            found += village == expected_village
        if row["expected_township_code"] and row["expected_status"] in ("village", "township"):
            township_total += 1
            township_right += township == row["expected_township_code"]
        if row["expected_county_code"] and row["expected_status"] != "unmatched":
            county_total += 1
            county_right += county == row["expected_county_code"]
    return {
        "village_precision_pct": round(100 * right / given, 2) if given else None,
        "village_recall_pct": round(100 * found / named, 2) if named else None,
        "villages_given": given,
        "wrong_villages": given - right,
        "township_accuracy_pct": round(100 * township_right / township_total, 2) if township_total else None,
        "county_accuracy_pct": round(100 * county_right / county_total, 2) if county_total else None,
        "examples_of_wrong_villages": wrong,
    }


def measure(name: str, gazetteer_dir: Path, labelled: Path) -> dict[str, Any]:
    rows = load_labelled(labelled)
    build_started = time.perf_counter()
    run = ours(gazetteer_dir) if name == "gongpei" else jionlp_peer(gazetteer_dir)
    build_s = time.perf_counter() - build_started
    answers = [run(r["address"], r["operator_county"] or None, r["sort_hint"] or None) for r in rows]
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        for r in rows:
            run(r["address"], r["operator_county"] or None, r["sort_hint"] or None)
        best = min(best, time.process_time() - started)
    return {
        **score(rows, answers),
        "addresses": len(rows),
        "addresses_per_s": int(len(rows) / best) if best else None,
        "load_s": round(build_s, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--gazetteer", type=Path, default=REPO.parent / "shared" / "data" / "liaoning")
    parser.add_argument("--labelled", type=Path, default=LABELLED)
    parser.add_argument("--only", choices=["gongpei", "jionlp"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.only:  # one matcher in a fresh process, so its RSS is its own
        print(json.dumps(measure(args.only, args.gazetteer, args.labelled), ensure_ascii=False))
        return 0
    out: dict[str, Any] = {}
    for name in ("gongpei", "jionlp"):
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.match",
                "--only",
                name,
                "--gazetteer",
                str(args.gazetteer),
                "--labelled",
                str(args.labelled),
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            out[name] = {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "failed"}
            continue
        out[name] = json.loads(proc.stdout.strip().splitlines()[-1])
        print(
            f"[match] {name}: {out[name]['village_precision_pct']} % precision, "
            f"{out[name]['village_recall_pct']} % recall, {out[name]['addresses_per_s']:,}/s, "
            f"{out[name]['peak_rss_mb']} MB",
            file=sys.stderr,
        )
    print(json.dumps(out, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
