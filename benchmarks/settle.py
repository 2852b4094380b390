"""Settlement: a month's statements for 300,000 parcels on PostgreSQL, and the exact Shapley split.

    .venv/bin/python -m benchmarks.settle [--parcels 300000] [--carriers 8] [--stations 190]
                                          [--vehicles 20] [--seed 20261130] [--month 2026-11]

A scratch PostgreSQL database (``GONGPEI_BENCH_ADMIN_URL``, default the local server) gets the schema and one
operator with ``--carriers`` carrier accounts (each with a contract: weight tiers in two township zones, COD
and cold fees, a monthly minimum; half of them share route costs), ``--stations`` stations under one default
keeper contract, ``--vehicles`` drivers under one default pay contract, and a month of work written straight
into the tables with COPY: ``--parcels`` parcels done on seeded random days and hours of the month (9 in 10
deliveries, 1 in 10 produce pickups; 1–3 pieces, 0.2–12 kg, 1 in 8 with COD, 1 in 20 frozen), and two routes a
day per vehicle with their distance, stops and carrier weights.

Timed: ``dispatch.settlements.service.settle`` for the calendar month, one statement per party, closed, and
committed — from reading the parcels to the last item written. Figures: seconds (best of ``--repeat`` runs
on fresh copies of the statements), statements, lines, items, peak RSS; and, from
``benchmarks.settle_shapley``, the exact Shapley split for 8 carriers on a 40-stop route (best of 3).
Targets: month ≤ 10 s; Shapley ≤ 2 s.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import resource
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
from sqlalchemy import URL, delete, func, select

from benchmarks.ingest import libpq, scratch_database
from benchmarks.settle_shapley import best_of, make_route
from carriers.unified import Brand
from dispatch import migrate
from dispatch.accounts import service as accounts
from dispatch.config import get_settings
from dispatch.db import Database, make_engine
from dispatch.fleet import service as fleet
from dispatch.models import (
    Contract,
    PartyKind,
    Plan,
    PlanStatus,
    Statement,
    StatementItem,
    StatementLine,
    Station,
)
from dispatch.settlements import service
from routing.split import SplitRule, allocate

BRANDS = (Brand.ZTO, Brand.YTO, Brand.STO, Brand.YUNDA, Brand.JT, Brand.EMS, Brand.SF, Brand.JD)
TOWNSHIPS = [f"211104{n:03d}" for n in range(100, 112)]


def log(message: str) -> None:
    print(f"[settle] {message}", file=sys.stderr, flush=True)


def carrier_terms(rng: random.Random, shares: bool) -> dict[str, Any]:
    near = TOWNSHIPS[: len(TOWNSHIPS) // 2]
    return {
        "zone_by": "township",
        "zones": [{"zone": "near", "townships": near}],
        "delivery_fees": [
            {
                "zone": "near",
                "tiers": [
                    {"up_to_g": 1000, "fee_fen": 80 + rng.randrange(40)},
                    {"up_to_g": 3000, "fee_fen": 120 + rng.randrange(40)},
                    {"up_to_g": None, "fee_fen": 200 + rng.randrange(80)},
                ],
            },
            {
                "zone": "*",
                "tiers": [
                    {"up_to_g": 1000, "fee_fen": 110 + rng.randrange(40)},
                    {"up_to_g": 3000, "fee_fen": 160 + rng.randrange(40)},
                    {"up_to_g": None, "fee_fen": 260 + rng.randrange(80)},
                ],
            },
        ],
        "pickup_fee_fen": 60,
        "cod_rate_bp": 50,
        "cold_surcharge_fen": 300,
        "monthly_minimum_fen": 500_000,
        "share_route_cost": shares,
    }


def setup(url: URL, options: argparse.Namespace, first: date, last: date) -> dict[str, Any]:
    engine = make_engine(url.render_as_string(hide_password=False), pool_size=2)
    migrate.upgrade(engine)
    database = Database(engine)
    rng = random.Random(options.seed)
    with database.session_scope() as session:
        operator = accounts.create_operator(
            session, name="基准共配", county_code="211104", timezone="Asia/Shanghai"
        )
        carriers = [
            accounts.create_carrier(session, operator_id=operator.id, brand=BRANDS[i % len(BRANDS)])[0]
            for i in range(options.carriers)
        ]
        for i, carrier in enumerate(carriers):
            session.add(
                Contract(
                    operator_id=operator.id,
                    party_kind=PartyKind.CARRIER,
                    party_id=carrier.id,
                    party_key=str(carrier.id),
                    version=1,
                    valid_from=first - timedelta(days=60),
                    terms=carrier_terms(rng, shares=i % 2 == 0),
                )
            )
        for kind, terms in (
            (PartyKind.STATION, {"delivered_fen": 50, "picked_up_fen": 30}),
            (PartyKind.DRIVER, {"route_fixed_fen": 8_000, "per_km_fen": 120, "per_stop_fen": 150}),
        ):
            session.add(
                Contract(
                    operator_id=operator.id,
                    party_kind=kind,
                    party_key="*",
                    version=1,
                    valid_from=first - timedelta(days=60),
                    terms=terms,
                )
            )
        stations = []
        for n in range(options.stations):
            station = Station(operator_id=operator.id, name=f"第{n + 1}村服务站", village_code=None)
            session.add(station)
            stations.append(station)
        vehicles, drivers = [], []
        for n in range(options.vehicles):
            vehicle = fleet.create_vehicle(
                session, operator_id=operator.id, plate=f"辽K·B{n:04d}", capacity_kg=1500
            )
            driver, _ = fleet.create_driver(
                session, operator_id=operator.id, name=f"司机{n + 1}", vehicle_id=vehicle.id, token_hours=1
            )
            vehicles.append(vehicle)
            drivers.append(driver)
        session.flush()
        plans = {}
        day = first
        while day <= last:
            plan = Plan(
                operator_id=operator.id, service_date=day, time_limit_s=30, status=PlanStatus.PUBLISHED
            )
            session.add(plan)
            plans[day] = plan
            day += timedelta(days=1)
        session.flush()
        ids = {
            "operator": operator.id,
            "carriers": [(c.id, c.brand.value) for c in carriers],
            "stations": [s.id for s in stations],
            "vehicles": [(v.id, d.id, v.plate_no) for v, d in zip(vehicles, drivers, strict=True)],
            "plans": {d: p.id for d, p in plans.items()},
        }
    engine.dispose()
    with psycopg.connect(libpq(url)) as conn:
        copy_parcels(conn, ids, options, first, last, rng)
        copy_manifests(conn, ids, first, last, rng)
        conn.execute("ANALYZE")
    return ids


def copy_parcels(
    conn: psycopg.Connection[Any],
    ids: dict[str, Any],
    options: argparse.Namespace,
    first: date,
    last: date,
    rng: random.Random,
) -> None:
    days = (last - first).days + 1
    start = datetime.combine(first, datetime.min.time(), UTC) - timedelta(hours=8)  # local midnight
    buffer = io.StringIO()
    for n in range(options.parcels):
        carrier_id, brand = rng.choice(ids["carriers"])
        done = start + timedelta(days=rng.randrange(days), seconds=rng.randrange(7 * 3600, 20 * 3600))
        pickup = rng.random() < 0.1
        pieces = rng.choice((1, 1, 1, 1, 2, 3))
        cols = (
            uuid.uuid4(),
            ids["operator"],
            carrier_id,
            brand,
            f"B{n:012d}",
            "pickup" if pickup else "delivery",
            "王秀英",
            "13812345678",
            "大洼区某村",
            rng.choice(TOWNSHIPS),
            rng.choice(ids["stations"]),
            rng.randrange(200, 12_000),
            pieces,
            "frozen" if rng.random() < 0.05 else "ambient",
            rng.randrange(1000, 50_000) if rng.random() < 0.125 else 0,
            "picked_up" if pickup else "delivered_recipient",
            done.isoformat(),
            done.isoformat(),
            done.isoformat(),
            done.isoformat(),
        )
        buffer.write("\t".join(str(c) for c in cols) + "\n")
    with (
        conn.cursor() as cursor,
        cursor.copy(
            "COPY parcel (id, operator_id, carrier_id, brand, waybill_no, direction, recipient_name,"
            " recipient_phone, address_text, township_code, station_id, weight_g, pieces, temperature,"
            " cod_fen, status, status_at, done_at, created_at, updated_at) FROM STDIN"
        ) as copy,
    ):
        copy.write(buffer.getvalue())
    conn.commit()


def copy_manifests(
    conn: psycopg.Connection[Any], ids: dict[str, Any], first: date, last: date, rng: random.Random
) -> None:
    buffer = io.StringIO()
    carriers = [str(c) for c, _ in ids["carriers"]]
    day = first
    while day <= last:
        for vehicle_id, driver_id, plate in ids["vehicles"]:
            for wave in (1, 2):
                on_route = rng.sample(carriers, rng.randrange(2, len(carriers) + 1))
                facts = {
                    "distance_m": rng.randrange(40_000, 160_000),
                    "stops": rng.randrange(6, 24),
                    "split_rule": "shapley",
                    "split_weights": {c: f"{rng.randrange(1, 500)}/{rng.randrange(1, 7)}" for c in on_route},
                }
                content = {"plate": plate, "stops": []}
                cols = (
                    uuid.uuid4(),
                    ids["operator"],
                    ids["plans"][day],
                    vehicle_id,
                    driver_id,
                    day.isoformat(),
                    wave,
                    1,
                    json.dumps(content, ensure_ascii=False),
                    uuid.uuid4().hex,
                    json.dumps(facts),
                    datetime.now(UTC).isoformat(),
                )
                buffer.write("\t".join(str(c) for c in cols) + "\n")
        day += timedelta(days=1)
    with (
        conn.cursor() as cursor,
        cursor.copy(
            "COPY manifest (id, operator_id, plan_id, vehicle_id, driver_id, service_date, wave_key, version,"
            " content, etag, route_facts, created_at) FROM STDIN"
        ) as copy,
    ):
        copy.write(buffer.getvalue())
    conn.commit()


def settle_month(url: str, operator_id: uuid.UUID, first: date, last: date) -> dict[str, Any]:
    settings = get_settings()
    engine = make_engine(url, pool_size=2)
    database = Database(engine)
    with database.session_scope() as session:  # a fresh start: no statements from an earlier repeat
        old = select(StatementLine.id).join(Statement).where(Statement.operator_id == operator_id)
        session.execute(delete(StatementItem).where(StatementItem.line_id.in_(old)))
        session.execute(delete(Statement).where(Statement.operator_id == operator_id))
    started = time.perf_counter()
    with database.session_scope() as session:
        result = service.settle(
            session, operator_id=operator_id, first=first, last=last, close=True, settings=settings
        )
        statements = len(result.statements)
        totals = {k.value: 0 for k in PartyKind}
        for s in result.statements:
            totals[s.party_kind.value] += s.total_fen
    seconds = time.perf_counter() - started
    with database.session_scope() as session:
        lines = session.execute(select(func.count()).select_from(StatementLine)).scalar_one()
        items = session.execute(select(func.count()).select_from(StatementItem)).scalar_one()
        exact = session.execute(
            select(func.count())
            .select_from(Statement)
            .where(
                Statement.total_fen
                != select(func.coalesce(func.sum(StatementLine.amount_fen), 0))
                .where(StatementLine.statement_id == Statement.id)
                .scalar_subquery()
            )
        ).scalar_one()
    engine.dispose()
    return {
        "seconds": round(seconds, 2),
        "statements": statements,
        "lines": lines,
        "items": items,
        "parcels_priced": result.parcels,
        "routes_priced": result.routes,
        "statements_whose_total_is_not_the_sum_of_lines": exact,
        "totals_fen": totals,
        "warnings": result.warnings,
    }


def main(argv: list[str] | None = None) -> int:
    from dispatch.observability import configure_logging

    configure_logging(level="WARNING", json_lines=True)
    parser = argparse.ArgumentParser(prog="python -m benchmarks.settle", description=__doc__.splitlines()[0])
    parser.add_argument("--parcels", type=int, default=300_000)
    parser.add_argument("--carriers", type=int, default=8)
    parser.add_argument("--stations", type=int, default=190)
    parser.add_argument("--vehicles", type=int, default=20)
    parser.add_argument("--month", default="2026-11")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20261130)
    parser.add_argument(
        "--admin-url",
        default=os.environ.get(
            "GONGPEI_BENCH_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
        ),
    )
    options = parser.parse_args(argv)
    first = date.fromisoformat(f"{options.month}-01")
    last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    report: dict[str, Any] = {
        "parcels": options.parcels,
        "carriers": options.carriers,
        "month": options.month,
    }
    with scratch_database(options.admin_url) as url:
        db_url = url.render_as_string(hide_password=False)
        log(
            f"writing {options.parcels} parcels and {options.vehicles * 2 * ((last - first).days + 1)} routes"
        )
        made = setup(url, options, first, last)
        runs = []
        for n in range(options.repeat):
            runs.append(settle_month(db_url, made["operator"], first, last))
            log(f"run {n + 1}: {runs[-1]['seconds']} s")
        best = min(runs, key=lambda r: r["seconds"])
        report["month"] = best | {"all_runs_s": [r["seconds"] for r in runs], "target_seconds": 10.0}
    report["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    route, total = make_route(options.seed, 8)
    shapley_s, allocation = best_of(3, lambda: allocate(route, total, SplitRule.SHAPLEY))
    report["shapley_8_carriers_40_stops"] = {
        "seconds": round(shapley_s, 3),
        "coalitions": len(allocation.shapley.coalitions) if allocation.shapley else None,
        "parts_sum_to_total": sum(allocation.parts_fen.values()) == total,
        "target_seconds": 2.0,
    }
    print(json.dumps(report, ensure_ascii=False, indent=2))
    ok = report["month"]["seconds"] <= 10.0 and shapley_s <= 2.0
    ok = ok and report["month"]["statements_whose_total_is_not_the_sum_of_lines"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
