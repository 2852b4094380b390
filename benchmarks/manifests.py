"""Manifests and drivers' phones under load, through one API process on PostgreSQL.

    .venv/bin/python -m benchmarks.manifests [--parcels 10000 --vehicles 20 --clients 200 --events 50000]

1. A county (宽甸) with a station per village, ``--vehicles`` vans with drivers and ``--parcels`` parcels at
   the hub, planned in one wave (solved in this process with both cores, ``--time-limit`` seconds).
2. ``POST /v1/plans/{id}/publish`` → every driver's ``GET /v1/driver/manifest`` answered 200: seconds from
   the publish request to the last manifest fetched (target ≤ 5 s).
3. ``--clients`` concurrent phones (each driver's token from its own device id, the clients spread over
   the drivers) polling their manifest for ``--seconds`` as the driver page does: a full (gzipped) fetch,
   then every ``--poll-s`` seconds a revalidation with ``If-None-Match``: p50/p99 latency (target p99
   ≤ 100 ms). Then the same phones asking back to back for full bodies, never revalidating: the process's
   saturation throughput and its latency (reported, no target).
4. ``--events`` driver events (failed attempts and deliveries over the manifests' parcels) posted in
   batches of 500, then every batch posted again: rows stored must equal the events once (0 duplicates).

Figures go to stdout as one JSON object, progress to stderr; exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy import update

from benchmarks.ingest import api_process, libpq, percentile_ms, scratch_database
from carriers.unified import Brand, ParcelStatus
from dispatch import migrate
from dispatch.accounts import service as accounts
from dispatch.config import get_settings
from dispatch.db import Database, make_engine
from dispatch.demo import DEMO_COUNTY, county_villages
from dispatch.divisions.service import import_gazetteer
from dispatch.fleet import service as fleet
from dispatch.imports.service import carrier_context
from dispatch.matching.gazetteer import load_dir
from dispatch.matching.service import match_all_pending
from dispatch.models import Parcel, UserRole
from dispatch.parcels import service as parcels
from dispatch.plans import service as plans
from dispatch.stations.service import seed_village_stations

SERVICE_DAY = date(2026, 11, 30)
RECEIVED = datetime(2026, 11, 29, 23, 0, tzinfo=UTC)  # 07:00 in Asia/Shanghai: wave 1


def log(message: str) -> None:
    print(f"[manifests] {message}", file=sys.stderr, flush=True)


def setup(url: str, options: argparse.Namespace) -> dict[str, Any]:
    settings = get_settings().model_copy(update={"database_url": url, "solver_workers": 2})
    engine = make_engine(url, pool_size=4)
    migrate.upgrade(engine)
    database = Database(engine)
    rng = random.Random(options.seed)
    villages = county_villages(settings.gazetteer_dir, DEMO_COUNTY)
    with database.session_scope() as session:
        import_gazetteer(session, load_dir(settings.gazetteer_dir))
        operator = accounts.create_operator(
            session, name="基准共配", county_code=DEMO_COUNTY, timezone="Asia/Shanghai"
        )
        seed_village_stations(session, operator_id=operator.id)
        desk_user, desk_key = accounts.create_desk_user(session, operator_id=operator.id, username="bench")
        carriers = [
            accounts.create_carrier(session, operator_id=operator.id, brand=b)[0]
            for b in (Brand.ZTO, Brand.YTO, Brand.STO)
        ]
        drivers = []
        for k in range(options.vehicles):
            vehicle = fleet.create_vehicle(
                session, operator_id=operator.id, plate=f"辽F·B{k:04d}", capacity_kg=1500
            )
            driver, token = fleet.create_driver(
                session, operator_id=operator.id, name=f"司机{k:02d}", vehicle_id=vehicle.id, token_hours=14
            )
            drivers.append((str(driver.id), token.api_key))
        operator_id, carrier_ids = operator.id, [c.id for c in carriers]
    log(f"posting {options.parcels:,} parcels")
    for start in range(0, options.parcels, 1000):
        with database.session_scope() as session:
            context = carrier_context(session, carrier_ids[(start // 1000) % len(carrier_ids)])
            records = []
            for _ in range(min(1000, options.parcels - start)):
                township, village = rng.choice(villages)
                records.append(
                    {
                        "waybill_no": f"7{rng.randrange(10**12, 10**13)}",
                        "recipient": {"name": "王秀英", "phone": f"139{rng.randrange(10**8):08d}"},
                        "address": f"辽宁省丹东市宽甸满族自治县{township}{village}{rng.randrange(1, 12)}组",
                        "weight_g": rng.randrange(200, 8000),
                    }
                )
            parcels.ingest(session, carrier=context, records=records)
    match_all_pending(database, operator_id)
    with database.session_scope() as session:
        session.execute(
            update(Parcel)
            .where(Parcel.operator_id == operator_id)
            .values(status=ParcelStatus.HUB_RECEIVED, created_at=RECEIVED)
        )
        desk = accounts.DeskContext(
            user_id=desk_user.id, operator_id=operator_id, role=UserRole.DISPATCHER, timezone="Asia/Shanghai"
        )
        plan_id = plans.create_plan(
            session,
            desk=desk,
            settings=settings,
            service_date=SERVICE_DAY,
            wave=1,
            time_limit_s=options.time_limit,
        ).id
    log(f"solving the wave ({options.time_limit} s, {settings.solver_workers} processes)")
    started = time.monotonic()
    plans.run_plan(database, plan_id, settings=settings, workers=settings.solver_workers)
    solve_s = time.monotonic() - started
    with database.session_scope() as session:
        plan = plans.get_plan(session, desk=desk, plan_id=plan_id)
        result = plan.result or {}
    engine.dispose()
    return {
        "plan_id": str(plan_id),
        "desk_key": desk_key.api_key,
        "drivers": drivers,
        "routes": len(result.get("routes", [])),
        "parcels_planned": result.get("parcels", 0),
        "unassigned_stops": len(result.get("unassigned", [])),
        "solve_s": round(solve_s, 1),
        "status": plan.status.value,
    }


async def _get(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str, headers: dict[str, str]
) -> tuple[int, dict[str, str], int]:
    """One HTTP/1.1 GET on a kept-alive connection: (status, headers, body bytes), the body read whole."""
    head = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in headers.items()
    )
    writer.write((head + "\r\n").encode("latin-1"))
    await writer.drain()
    status = int((await reader.readline()).split()[1])
    fields: dict[str, str] = {}
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        fields[name.strip().lower()] = value.strip()
    length = int(fields.get("content-length", "0"))
    if length:
        await reader.readexactly(length)
    return status, fields, length


async def fetch_phase(
    port: int,
    headers: list[dict[str, str]],
    clients: int,
    seconds: float,
    every_s: float,
    *,
    revalidate: bool,
) -> dict[str, Any]:
    """``clients`` phones (spread over the drivers' tokens) asking for their manifest for ``seconds``, each
    on its own kept-alive connection, accepting gzip: each waits ``every_s`` between requests (starting at
    a random point of the first wait) and, when ``revalidate``, sends the ETag it last got, as the driver
    page does. One event loop speaking HTTP/1.1 directly (a general-purpose client's own overhead at 200
    connections was larger than the server's); latency from sending the request to the last body byte."""
    latencies: list[float] = []
    first: list[float] = []
    statuses: dict[int, int] = {}
    sent_bytes = [0]
    rng = random.Random(7)
    loop = asyncio.get_running_loop()
    stop_at = loop.time() + seconds

    async def phone(k: int) -> None:
        mine = {**headers[k % len(headers)], "Accept-Encoding": "gzip"}
        etag: str | None = None
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            if every_s:
                await asyncio.sleep(rng.uniform(0, every_s))
            while loop.time() < stop_at:
                asked = mine if etag is None or not revalidate else {**mine, "If-None-Match": etag}
                t0 = time.perf_counter()
                status, fields, length = await _get(reader, writer, "/v1/driver/manifest", asked)
                elapsed = time.perf_counter() - t0
                (first if etag is None else latencies).append(elapsed)
                etag = fields.get("etag", etag)
                statuses[status] = statuses.get(status, 0) + 1
                sent_bytes[0] += length
                if every_s:
                    await asyncio.sleep(every_s)
        finally:
            writer.close()

    await asyncio.gather(*(phone(k) for k in range(clients)))
    every = first + latencies
    return {
        "clients": clients,
        "every_s": every_s,
        "revalidate": revalidate,
        "requests": len(every),
        "per_s": round(len(every) / seconds),
        "p50_ms": percentile_ms(every, 50),
        "p99_ms": percentile_ms(every, 99),
        "first_fetch_p99_ms": percentile_ms(first, 99),
        "mean_bytes": round(sent_bytes[0] / max(1, len(every))),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
    }


def run(options: argparse.Namespace) -> dict[str, Any]:
    report: dict[str, Any] = {"parcels": options.parcels, "vehicles": options.vehicles}
    with (
        tempfile.TemporaryDirectory(prefix="gongpei-bench-") as tmp,
        scratch_database(options.admin_url) as url,
    ):
        db_url = url.render_as_string(hide_password=False)
        made = setup(db_url, options)
        report["plan"] = {
            k: made[k] for k in ("status", "routes", "parcels_planned", "unassigned_stops", "solve_s")
        }
        with (
            api_process(url, options.port, Path(tmp) / "api.log", None),
            httpx.Client(
                base_url=f"http://127.0.0.1:{options.port}",
                timeout=60,
                limits=httpx.Limits(max_connections=options.clients),
            ) as client,
        ):
            desk = {"Authorization": f"Bearer {made['desk_key']}"}
            started = time.monotonic()
            published = client.post(f"/v1/plans/{made['plan_id']}/publish", headers=desk)
            published.raise_for_status()
            on_route = {m["driver_id"] for m in published.json()["manifests"]}
            phones = {
                driver_id: {"Authorization": f"Bearer {token}", "X-Device-Id": f"phone-{driver_id[:8]}"}
                for driver_id, token in made["drivers"]
                if driver_id in on_route
            }
            with ThreadPoolExecutor(max_workers=len(phones) or 1) as pool:
                fetched = list(
                    pool.map(lambda h: client.get("/v1/driver/manifest", headers=h), phones.values())
                )
            report["publish_to_all_fetched_s"] = round(time.monotonic() - started, 3)
            report["manifests"] = {
                "published": len(on_route),
                "fetched_200": sum(r.status_code == 200 for r in fetched),
            }
            manifests = {d: r.json() for d, r in zip(phones, fetched, strict=True) if r.status_code == 200}

            headers = list(phones.values())
            log(
                f"{options.clients} phones polling their manifest every {options.poll_s} s with"
                f" If-None-Match for {options.seconds} s"
            )
            report["fetch_polling"] = asyncio.run(
                fetch_phase(
                    options.port, headers, options.clients, options.seconds, options.poll_s, revalidate=True
                )
            )
            log(f"{options.clients} phones fetching full manifests back to back for {options.seconds} s")
            report["fetch_under_load"] = asyncio.run(
                fetch_phase(options.port, headers, options.clients, options.seconds, 0.0, revalidate=False)
            )

            log(f"posting {options.events:,} driver events, twice")
            rng = random.Random(options.seed)
            batches: list[tuple[dict[str, str], list[dict[str, Any]]]] = []
            per_driver = [
                (
                    phones[d],
                    [
                        p["waybill_no"]
                        for s in m["stops"]
                        for items in s["deliveries_by_carrier"].values()
                        for p in items
                    ],
                )
                for d, m in manifests.items()
            ]
            events: list[tuple[dict[str, str], dict[str, Any]]] = []
            base = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
            while len(events) < options.events:
                for headers_k, waybills in per_driver:
                    for waybill in waybills:
                        if len(events) >= options.events:
                            break
                        kind = rng.choice(("failed", "delivered"))
                        events.append(
                            (
                                headers_k,
                                {
                                    "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                                    "waybill_no": waybill,
                                    "type": kind,
                                    "occurred_at": (base + timedelta(seconds=len(events))).isoformat(),
                                    **({"reason": "nobody_home"} if kind == "failed" else {}),
                                },
                            )
                        )
            grouped: dict[str, list[dict[str, Any]]] = {}
            auth: dict[str, dict[str, str]] = {}
            for headers_k, event in events:
                key = headers_k["Authorization"]
                grouped.setdefault(key, []).append(event)
                auth[key] = headers_k
            for key, items in grouped.items():
                for start in range(0, len(items), 500):
                    batches.append((auth[key], items[start : start + 500]))
            sums = {"recorded": 0, "duplicate": 0, "rejected": 0, "retried_409": 0}
            lock = threading.Lock()

            def post(batch: tuple[dict[str, str], list[dict[str, Any]]]) -> httpx.Response:
                for _attempt in range(10):  # a phone retries a 409 (a concurrent batch held the rows)
                    response = client.post("/v1/driver/events", json={"events": batch[1]}, headers=batch[0])
                    if response.status_code != 409:
                        return response
                    with lock:
                        sums["retried_409"] += 1
                    time.sleep(0.05)
                return response

            started = time.monotonic()
            by_phone: dict[str, list[tuple[dict[str, str], list[dict[str, Any]]]]] = {}
            for batch in batches:
                by_phone.setdefault(batch[0]["Authorization"], []).append(batch)

            def sync(queue: list[tuple[dict[str, str], list[dict[str, Any]]]]) -> list[dict[str, int]]:
                """A phone syncs its own queue in order; phones sync side by side."""
                out = []
                for batch in queue:
                    response = post(batch)
                    if response.status_code != 200:
                        raise RuntimeError(
                            f"driver events answered {response.status_code}: {response.text[:300]}"
                        )
                    out.append(response.json()["summary"])
                return out

            for _round in range(2):
                with ThreadPoolExecutor(max_workers=min(8, len(by_phone))) as pool:
                    for summaries in pool.map(sync, by_phone.values()):
                        for summary in summaries:
                            for k in ("recorded", "duplicate", "rejected"):
                                sums[k] += summary[k]
            events_s = time.monotonic() - started
        with psycopg.connect(libpq(url)) as conn:
            row = conn.execute(
                "SELECT count(*), count(DISTINCT (parcel_id, event_key)) FROM parcel_event"
                " WHERE raw_namespace = 'driver'"
            ).fetchone()
        stored, distinct = (int(row[0]), int(row[1])) if row else (0, 0)
        report["driver_events"] = {
            "sent": len(events) * 2,
            "recorded": sums["recorded"],
            "duplicate_answers": sums["duplicate"],
            "rejected": sums["rejected"],
            "retried_after_409": sums["retried_409"],
            "rows_stored": stored,
            "duplicate_rows": stored - distinct,
            "events_per_s": round(len(events) * 2 / events_s),
        }
    report["targets"] = {
        "publish_to_all_fetched_s_max": 5.0,
        "fetch_p99_ms_max": 100.0,
        "duplicate_rows": 0,
    }
    return report


def main(argv: list[str] | None = None) -> int:
    from dispatch.observability import configure_logging

    configure_logging(level="WARNING", json_lines=True)  # stdout carries the report only
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.manifests", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--parcels", type=int, default=10_000)
    parser.add_argument("--vehicles", type=int, default=20)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--poll-s", type=float, default=2.0, help="a phone's wait between two fetches")
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--time-limit", type=int, default=30)
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--admin-url",
        default=os.environ.get(
            "GONGPEI_BENCH_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
        ),
    )
    options = parser.parse_args(argv)
    report = run(options)
    print(json.dumps(report, ensure_ascii=False, indent=2))
    ok = (
        report.get("publish_to_all_fetched_s", 99) <= 5.0
        and (report["fetch_polling"]["p99_ms"] or 1e9) <= 100.0
        and report["driver_events"]["duplicate_rows"] == 0
        and report["driver_events"]["rows_stored"] == report["driver_events"]["recorded"]
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
