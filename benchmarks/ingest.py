"""Parcel ingestion throughput: POST /v1/parcels through one API process, against a raw COPY of the rows.

    .venv/bin/python -m benchmarks.ingest [--parcels 100000 --batch 1000 --clients 4 --resend 0.10]

Creates a database of its own, migrates it, starts one uvicorn process (and, as the compose file does,
a Redis of its own on another port with one ``gongpei worker`` that matches the parcels to stations after
they land; ``--no-worker`` leaves matching to the API process) and posts the parcels in batches from
concurrent clients; then it waits until every parcel is matched and reports how long that took. A share
of the batches is sent twice: some replayed with the same key after a success, some cut off mid-request
and sent again until a 2xx. Then it checks the table against every
waybill a 2xx acknowledged, times a psycopg ``COPY`` of the same rows for the ceiling, and drops the
database. Figures go to stdout as one JSON object, progress to stderr; the exit status is 1 when an
acknowledged waybill is missing, a waybill is stored twice, a batch failed or a replay differed.

Batch latency is that of each batch's first send (cut-off re-sends and replays are reported apart).
The ``cpu_s`` block splits the machine's busy time between this client, the API process, the
PostgreSQL backends serving it and everything else, so a run on a shared machine can be judged.
"""

from __future__ import annotations

import argparse
import collections
import json
import math
import os
import queue
import random
import re
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, LiteralString

import httpx
import psycopg
from psycopg import sql
from sqlalchemy.engine import URL, make_url

from carriers.unified import Brand, Direction, ParcelStatus, Temperature
from dispatch import migrate
from dispatch.accounts import service as accounts
from dispatch.config import get_settings
from dispatch.db import Database, make_engine
from dispatch.demo import DEMO_COUNTY, county_villages
from dispatch.models import EventKind
from dispatch.parcels.service import MUTABLE_FIELDS

REPO_ROOT = Path(__file__).resolve().parent.parent
ENDPOINT = "/v1/parcels"
_SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗于郑梁宋唐"
_GIVEN = "秀英桂兰玉兰建华志强海燕春梅国庆明军丽娜淑珍凤霞德福"
_RETRY_STATUSES = frozenset({409, 503})
_MAX_ATTEMPTS = 30
_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Disconnect)\b")
# Columns service.ingest writes for a new parcel; the resolution columns stay NULL until matching runs.
PARCEL_COLUMNS = (
    "id",
    "operator_id",
    "carrier_id",
    "brand",
    "waybill_no",
    "status",
    "created_at",
    "updated_at",
    *MUTABLE_FIELDS.values(),
)
EVENT_COLUMNS = ("parcel_id", "carrier_id", "kind", "status", "occurred_at", "recorded_at", "actor")

Plan = Literal["plain", "replay", "cut_partial", "cut_full"]
Kind = Literal["first", "replay", "after_cut", "retry"]


@dataclass(frozen=True, slots=True)
class Options:
    parcels: int
    batch: int
    clients: int
    resend: float
    port: int
    admin_url: str
    seed: int
    worker: bool


@dataclass(frozen=True, slots=True)
class Account:
    operator_id: uuid.UUID
    carrier_id: uuid.UUID
    brand: Brand
    api_key: str


@dataclass(frozen=True, slots=True)
class Batch:
    index: int
    key: str
    body: bytes  # serialised once, before the clock starts
    waybills: tuple[str, ...]
    plan: Plan


@dataclass
class ClientStats:
    """What one client saw; merged after the run so the clients share no lock while posting."""

    latencies_s: dict[Kind, list[float]] = field(default_factory=lambda: collections.defaultdict(list))
    statuses: collections.Counter[int] = field(default_factory=collections.Counter)
    acked: set[str] = field(default_factory=set)
    replays: dict[Kind, int] = field(default_factory=lambda: collections.defaultdict(int))
    replay_header_missing: int = 0
    replay_body_mismatch: int = 0
    rejected_records: int = 0
    transport_errors: int = 0
    cut_offs: int = 0
    failures: list[str] = field(default_factory=list)

    def merge(self, other: ClientStats) -> None:
        for kind, values in other.latencies_s.items():
            self.latencies_s[kind].extend(values)
        for kind, count in other.replays.items():
            self.replays[kind] += count
        self.statuses.update(other.statuses)
        self.acked |= other.acked
        self.replay_header_missing += other.replay_header_missing
        self.replay_body_mismatch += other.replay_body_mismatch
        self.rejected_records += other.rejected_records
        self.transport_errors += other.transport_errors
        self.cut_offs += other.cut_offs
        self.failures.extend(other.failures)


def log(message: str) -> None:
    print(f"[ingest] {message}", file=sys.stderr, flush=True)


def parse_args(argv: Sequence[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.ingest", description="Parcel ingestion throughput through the API vs COPY."
    )
    parser.add_argument("--parcels", type=int, default=100_000, help="distinct parcels to post")
    parser.add_argument("--batch", type=int, default=1000, help="parcels per POST (server max: 1000)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients, one connection pool each")
    parser.add_argument("--resend", type=float, default=0.10, help="share of batches sent a second time")
    parser.add_argument("--port", type=int, default=8765, help="port for the API process")
    parser.add_argument(
        "--admin-url",
        default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
        help="a database URL allowed to CREATE and DROP DATABASE",
    )
    parser.add_argument("--seed", type=int, default=2026, help="seed for the generated parcels")
    parser.add_argument(
        "--no-worker",
        dest="worker",
        action="store_false",
        help="no Redis and no worker: the API process matches parcels itself after each response",
    )
    args = parser.parse_args(argv)
    if args.parcels < 1 or not 1 <= args.batch <= 1000 or args.clients < 1 or not 0 <= args.resend <= 1:
        parser.error("need --parcels >= 1, 1 <= --batch <= 1000, --clients >= 1, 0 <= --resend <= 1")
    return Options(
        parcels=args.parcels,
        batch=args.batch,
        clients=args.clients,
        resend=args.resend,
        port=args.port,
        admin_url=args.admin_url,
        seed=args.seed,
        worker=args.worker,
    )


# --- data ---------------------------------------------------------------------------------------------


def generate_parcels(count: int, rng: random.Random) -> list[dict[str, Any]]:
    """``count`` valid unified records with distinct waybills, already in the form the API normalises to."""
    villages = county_villages(get_settings().gazetteer_dir, DEMO_COUNTY)
    serials = rng.sample(range(3 * 10**12, 7 * 10**12), count)  # "7" + [3-6] + 12 digits, no repeats
    records: list[dict[str, Any]] = []
    for serial in serials:
        township, village = rng.choice(villages)
        record: dict[str, Any] = {
            "waybill_no": f"7{serial:013d}",
            "recipient": {
                "name": rng.choice(_SURNAMES) + "".join(rng.sample(_GIVEN, rng.choice((1, 2)))),
                "phone": f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}",
            },
            "address": f"辽宁省丹东市宽甸满族自治县{township}{village}{rng.randrange(1, 13)}组",
            "weight_g": rng.randrange(50, 30_000),
        }
        if rng.random() < 0.3:
            record["volume_cm3"] = rng.randrange(500, 60_000)
        if rng.random() < 0.1:
            record["temperature"] = Temperature.CHILLED.value
        if rng.random() < 0.2:
            record["sort_hint"] = f"宽甸 {township}"
        records.append(record)
    return records


def make_batches(records: list[dict[str, Any]], options: Options, rng: random.Random) -> list[Batch]:
    chunks = [records[i : i + options.batch] for i in range(0, len(records), options.batch)]
    resent = rng.sample(range(len(chunks)), round(len(chunks) * options.resend))
    replayed = set(resent[: len(resent) // 2])
    cut = resent[len(resent) // 2 :]
    plans: dict[int, Plan] = dict.fromkeys(replayed, "replay")
    # Half the cut-offs stop inside the body, half send it whole and hang up before the answer.
    plans.update({i: "cut_partial" if n % 2 == 0 else "cut_full" for n, i in enumerate(cut)})
    return [
        Batch(
            index=i,
            key=str(uuid.uuid4()),
            body=json.dumps({"parcels": chunk}, ensure_ascii=False, separators=(",", ":")).encode(),
            waybills=tuple(r["waybill_no"] for r in chunk),
            plan=plans.get(i, "plain"),
        )
        for i, chunk in enumerate(chunks)
    ]


def copy_row(record: dict[str, Any], account: Account, now: datetime) -> tuple[Any, ...]:
    """The parcel row the API would write for ``record``, in ``PARCEL_COLUMNS`` order."""
    recipient = record["recipient"]
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "operator_id": account.operator_id,
        "carrier_id": account.carrier_id,
        "brand": account.brand.value,
        "waybill_no": record["waybill_no"],
        "status": ParcelStatus.ANNOUNCED.value,
        "created_at": now,
        "updated_at": now,
        "direction": record.get("direction", Direction.DELIVERY.value),
        "recipient_name": recipient["name"],
        "recipient_phone": recipient["phone"],
        "address_text": record["address"],
        "weight_g": record["weight_g"],
        "volume_cm3": record.get("volume_cm3"),
        "pieces": record.get("pieces", 1),
        "temperature": record.get("temperature", Temperature.AMBIENT.value),
        "cod_fen": record.get("cod_fen", 0),
        "declared_value_fen": record.get("declared_value_fen"),
        "promised_date": record.get("promised_date"),
        "sort_hint": record.get("sort_hint"),
    }
    return tuple(values[column] for column in PARCEL_COLUMNS)


# --- database and API process -------------------------------------------------------------------------


def libpq(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def scratch_database(admin_url: str) -> Iterator[URL]:
    """A new, empty database, dropped on the way out whatever happened."""
    admin = make_url(admin_url)
    name = f"gongpei_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(libpq(admin), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    log(f"created database {name}")
    try:
        yield admin.set(database=name)
    finally:
        with psycopg.connect(libpq(admin), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        log(f"dropped database {name}")


def prepare(url: URL, accounts_needed: int) -> list[Account]:
    """Migrate, then one operator with ``accounts_needed`` carrier accounts (ZTO first)."""
    engine = make_engine(url.render_as_string(hide_password=False), pool_size=1)
    try:
        migrate.upgrade(engine)
        made: list[Account] = []
        with Database(engine).session_scope() as session:
            operator = accounts.create_operator(
                session, name="基准测试共配中心", county_code=DEMO_COUNTY, timezone="Asia/Shanghai"
            )
            for brand in (Brand.ZTO, Brand.YTO, Brand.STO)[:accounts_needed]:
                carrier, key = accounts.create_carrier(session, operator_id=operator.id, brand=brand)
                made.append(Account(operator.id, carrier.id, brand, key.api_key))
        return made
    finally:
        engine.dispose()


@contextmanager
def api_process(
    url: URL, port: int, server_log: Path, redis_url: str | None
) -> Iterator[subprocess.Popen[bytes]]:
    env = _service_env(url, redis_url)
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "dispatch.main:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    with server_log.open("wb") as sink:
        process = subprocess.Popen(command, env=env, cwd=REPO_ROOT, stdout=sink, stderr=subprocess.STDOUT)
    try:
        try:
            wait_ready(process, f"http://127.0.0.1:{port}/readyz")
        except RuntimeError as exc:
            tail = "\n".join(server_log.read_text(errors="replace").splitlines()[-20:])
            raise RuntimeError(f"{exc}; the API's last log lines:\n{tail}") from exc
        log(f"API process {process.pid} ready on port {port}")
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log(f"API process {process.pid} stopped")


def _service_env(url: URL, redis_url: str | None) -> dict[str, str]:
    env = {
        **os.environ,
        "GONGPEI_DATABASE_URL": url.render_as_string(hide_password=False),
        "GONGPEI_LOG_LEVEL": "WARNING",
    }
    env.pop("GONGPEI_REDIS_URL", None)
    if redis_url:
        env["GONGPEI_REDIS_URL"] = redis_url
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def redis_and_worker(url: URL, tmp: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A Redis of the benchmark's own (another port, nothing kept on disk) and one ``gongpei worker``,
    as the compose file runs them beside the API."""
    port = free_port()
    redis = subprocess.Popen(
        ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no", "--dir", str(tmp)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    redis_url = f"redis://127.0.0.1:{port}/0"
    worker: subprocess.Popen[bytes] | None = None
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        with (tmp / "worker.log").open("wb") as sink:
            worker = subprocess.Popen(
                [sys.executable, "-c", "from dispatch.cli import main; main()", "worker"],
                env=_service_env(url, redis_url),
                cwd=REPO_ROOT,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        log(f"redis on port {port}, worker process {worker.pid}")
        yield redis_url, worker
    finally:
        for process in (worker, redis):
            if process is not None:
                process.terminate()
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def pending_parcels(url: URL) -> int:
    with psycopg.connect(libpq(url)) as conn:
        row = conn.execute("SELECT count(*) FROM parcel WHERE match_status IS NULL").fetchone()
        return int(row[0]) if row else 0


def wait_matched(url: URL, timeout_s: float = 600.0) -> float:
    """Seconds until no parcel is pending a match."""
    started = time.monotonic()
    while pending_parcels(url) and time.monotonic() - started < timeout_s:
        time.sleep(0.2)
    return time.monotonic() - started


def wait_ready(process: subprocess.Popen[bytes], url: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"API process exited with {process.returncode} before it was ready")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"API not ready after {timeout_s:.0f} s")


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a Linux process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def backends_cpu_s(url: URL) -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend connected to the benchmark's database (server on this host)."""
    with psycopg.connect(libpq(url)) as conn:
        pids = [
            int(row[0])
            for row in conn.execute(
                "SELECT pid FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ]
    found: dict[int, float] = {}
    for pid in pids:
        try:
            found[pid] = process_cpu_s(pid)
        except (FileNotFoundError, ProcessLookupError):
            continue
    return found


def machine_busy_s() -> float:
    """CPU seconds all cores spent outside idle and iowait since boot."""
    ticks = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(ticks[:8]) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def own_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def log_events(server_log: Path) -> dict[str, int]:
    """Counts of the server's log lines: ``level:event`` for JSON lines, plus uvicorn lines and exceptions."""
    counts: collections.Counter[str] = collections.Counter()
    for line in server_log.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            if line.startswith(("ERROR:", "WARNING:")):
                counts[f"uvicorn {line[:60]}"] += 1
            elif _EXCEPTION_LINE.match(line):
                counts[f"exception {line.split(':', 1)[0]}"] += 1
            continue
        if isinstance(entry, dict):
            counts[f"{entry.get('level', '?')}:{entry.get('event', '?')}"] += 1
    return dict(counts.most_common())


# --- clients ------------------------------------------------------------------------------------------


class Client:
    """One client: its own connection pool, its own counters."""

    def __init__(self, base_url: str, api_key: str, port: int) -> None:
        self.port = port
        self.api_key = api_key
        self.http = httpx.Client(
            base_url=base_url,
            headers={"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"},
            timeout=httpx.Timeout(120.0, connect=5.0),
        )
        self.stats = ClientStats()

    def close(self) -> None:
        self.http.close()

    def run(self, batch: Batch) -> None:
        if batch.plan in ("cut_partial", "cut_full"):
            self.cut_off(batch, whole_body=batch.plan == "cut_full")
            self.acknowledge(batch, self.post(batch, "after_cut"), "after_cut")
            return
        first = self.acknowledge(batch, self.post(batch, "first"), "first")
        if batch.plan == "replay" and first is not None:
            again = self.post(batch, "replay")
            if again.headers.get("Idempotent-Replayed") != "true":
                self.stats.replay_header_missing += 1
            if self.acknowledge(batch, again, "replay") != first:
                self.stats.replay_body_mismatch += 1

    def post(self, batch: Batch, kind: Kind) -> httpx.Response:
        """POST the batch, retrying on 409/503 and dropped connections with a short backoff."""
        for attempt in range(_MAX_ATTEMPTS):
            started = time.perf_counter()
            try:
                response = self.http.post(
                    ENDPOINT, content=batch.body, headers={"Idempotency-Key": batch.key}
                )
            except httpx.TransportError as exc:
                self.stats.transport_errors += 1
                if attempt == _MAX_ATTEMPTS - 1:
                    raise RuntimeError(f"batch {batch.index}: {exc!r}") from exc
            else:
                self.stats.latencies_s[kind if attempt == 0 else "retry"].append(
                    time.perf_counter() - started
                )
                self.stats.statuses[response.status_code] += 1
                if response.status_code not in _RETRY_STATUSES or attempt == _MAX_ATTEMPTS - 1:
                    return response
            time.sleep(min(1.0, 0.05 * 2**attempt))
        raise AssertionError("unreachable")

    def cut_off(self, batch: Batch, *, whole_body: bool) -> None:
        """Send the request on a raw socket and hang up before reading any answer."""
        head = (
            f"POST {ENDPOINT} HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{self.port}\r\n"
            f"Authorization: Bearer {self.api_key}\r\n"
            f"Idempotency-Key: {batch.key}\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(batch.body)}\r\n"
            "Connection: close\r\n\r\n"
        ).encode()
        sent = batch.body if whole_body else batch.body[: len(batch.body) // 2]
        with socket.create_connection(("127.0.0.1", self.port), timeout=5.0) as sock:
            sock.sendall(head + sent)
        self.stats.cut_offs += 1

    def acknowledge(self, batch: Batch, response: httpx.Response, kind: Kind) -> Any:
        """The parsed body of a 2xx (its accepted waybills recorded), or None after noting the failure."""
        if not response.is_success:
            self.stats.failures.append(
                f"batch {batch.index} ({kind}): {response.status_code} {response.text[:200]}"
            )
            return None
        body = response.json()
        if response.headers.get("Idempotent-Replayed") == "true":
            self.stats.replays[kind] += 1
        self.stats.acked.update(item["waybill_no"] for item in body["accepted"])
        self.stats.rejected_records += len(body["rejected"])
        return body


def post_all(batches: list[Batch], options: Options, api_key: str) -> tuple[ClientStats, float]:
    """Post every batch from ``options.clients`` threads; returns the merged stats and the wall time."""
    pending: queue.SimpleQueue[Batch] = queue.SimpleQueue()
    for batch in batches:
        pending.put(batch)
    done = done_parcels = 0
    done_lock = threading.Lock()
    step = max(1, len(batches) // 10)
    base_url = f"http://127.0.0.1:{options.port}"
    clients = [Client(base_url, api_key, options.port) for _ in range(options.clients)]

    def work(client: Client, started: float) -> None:
        nonlocal done, done_parcels
        while True:
            try:
                batch = pending.get_nowait()
            except queue.Empty:
                return
            client.run(batch)
            with done_lock:
                done += 1
                done_parcels += len(batch.waybills)
                if done % step == 0 or done == len(batches):
                    rate = done_parcels / (time.perf_counter() - started)
                    log(f"posted {done}/{len(batches)} batches, {rate:,.0f} parcels/s so far")

    try:
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=options.clients) as pool:
            futures = [pool.submit(work, client, started) for client in clients]
            for future in futures:
                future.result()
        wall_s = time.perf_counter() - started
    finally:
        for client in clients:
            client.close()
    merged = ClientStats()
    for client in clients:
        merged.merge(client.stats)
    return merged, wall_s


# --- checks and the ceiling ---------------------------------------------------------------------------


def check_database(url: URL, account: Account, acked: set[str], expected: set[str]) -> dict[str, int]:
    """Row counts and the set differences that must be empty after the posting phase."""
    carrier = (account.carrier_id,)
    with psycopg.connect(libpq(url)) as conn:

        def count(query: LiteralString, params: tuple[Any, ...] = ()) -> int:
            row = conn.execute(query, params).fetchone()
            assert row is not None
            return int(row[0])

        stored = {
            row[0] for row in conn.execute("SELECT waybill_no FROM parcel WHERE carrier_id = %s", carrier)
        }
        return {
            "parcel_rows": count("SELECT count(*) FROM parcel WHERE carrier_id = %s", carrier),
            "duplicate_waybill_groups": count(
                "SELECT count(*) FROM (SELECT 1 FROM parcel GROUP BY carrier_id, waybill_no"
                " HAVING count(*) > 1) AS d"
            ),
            "acked_but_missing": len(acked - stored),
            "generated_but_missing": len(expected - stored),
            "stored_but_not_generated": len(stored - expected),
            "event_rows": count("SELECT count(*) FROM parcel_event WHERE carrier_id = %s", carrier),
            "parcels_without_exactly_one_event": count(
                "SELECT count(*) FROM parcel p WHERE p.carrier_id = %s AND"
                " (SELECT count(*) FROM parcel_event e WHERE e.parcel_id = p.id) <> 1",
                carrier,
            ),
            "idempotency_records": count(
                "SELECT count(*) FROM idempotency_record WHERE carrier_id = %s", carrier
            ),
        }


def copy_ceiling(
    url: URL, records: list[dict[str, Any]], account: Account, *, with_events: bool
) -> dict[str, float]:
    """Time ``COPY parcel`` (and ``COPY parcel_event`` too ``with_events``) of the rows, commit included."""
    now = datetime.now(UTC)
    rows = [copy_row(record, account, now) for record in records]
    actor = f"carrier:{account.brand.value}"
    event_rows = [
        (row[0], account.carrier_id, EventKind.CREATED.value, ParcelStatus.ANNOUNCED.value, now, now, actor)
        for row in rows
    ]
    with psycopg.connect(libpq(url)) as conn:
        started = time.perf_counter()
        with conn.cursor() as cursor:
            with cursor.copy(f"COPY parcel ({', '.join(PARCEL_COLUMNS)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            if with_events:
                with cursor.copy(f"COPY parcel_event ({', '.join(EVENT_COLUMNS)}) FROM STDIN") as copy:
                    for event in event_rows:
                        copy.write_row(event)
        conn.commit()
        elapsed = time.perf_counter() - started
    return {"seconds": round(elapsed, 3), "rows_per_s": round(len(rows) / elapsed)}


def percentile_ms(values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile, in milliseconds."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[max(1, math.ceil(pct / 100 * len(ordered))) - 1] * 1000, 1)


# --- main ---------------------------------------------------------------------------------------------


def run(options: Options) -> dict[str, Any]:
    rng = random.Random(options.seed)
    log(f"generating {options.parcels:,} parcels")
    records = generate_parcels(options.parcels, rng)
    batches = make_batches(records, options, rng)
    plans = collections.Counter(b.plan for b in batches)
    with (
        tempfile.TemporaryDirectory(prefix="gongpei-bench-") as tmp,
        scratch_database(options.admin_url) as url,
    ):
        api_account, copy_account, copy_events_account = prepare(url, 3)
        server_log = Path(tmp) / "api.log"
        with ExitStack() as stack:
            redis_url, worker = (
                stack.enter_context(redis_and_worker(url, Path(tmp))) if options.worker else (None, None)
            )
            process = stack.enter_context(api_process(url, options.port, server_log, redis_url))
            backends_before = backends_cpu_s(url)
            worker_before = process_cpu_s(worker.pid) if worker else 0.0
            cpu_before = (own_cpu_s(), process_cpu_s(process.pid), machine_busy_s())
            log(f"posting {len(batches)} batches from {options.clients} clients ({dict(plans)})")
            stats, wall_s = post_all(batches, options, api_account.api_key)
            cpu_after = (own_cpu_s(), process_cpu_s(process.pid), machine_busy_s())
            worker_during = (process_cpu_s(worker.pid) if worker else 0.0) - worker_before
            # A backend that left during the run is missed; the API's pool keeps its connections open.
            backends_after = backends_cpu_s(url)
            log("waiting until every parcel is matched")
            matched_after_s = wait_matched(url)
            pending_left = pending_parcels(url)
        events = log_events(server_log)
        log("checking the table")
        checks = check_database(url, api_account, stats.acked, {r["waybill_no"] for r in records})
        log("timing COPY")
        copy_only = copy_ceiling(url, records, copy_account, with_events=False)
        copy_events = copy_ceiling(url, records, copy_events_account, with_events=True)

    api_rate = options.parcels / wall_s
    client_cpu, api_cpu, busy = (end - start for start, end in zip(cpu_before, cpu_after, strict=True))
    postgres_cpu = sum(cpu - backends_before.get(pid, 0.0) for pid, cpu in backends_after.items())
    first = stats.latencies_s["first"]
    return {
        "parcels": options.parcels,
        "batches": len(batches),
        "batch_size": options.batch,
        "clients": options.clients,
        "plans": dict(plans),
        "matching": {
            "where": "worker process (RQ on Redis)" if options.worker else "API process, after each response",
            "all_matched_s_after_last_ack": round(matched_after_s, 2),
            "pending_left": pending_left,
            "worker_cpu_s_while_posting": round(worker_during, 1),
        },
        "api": {
            "wall_s": round(wall_s, 2),
            "parcels_per_s": round(api_rate),
            "batch_latency_ms": {
                "p50": percentile_ms(first, 50),
                "p99": percentile_ms(first, 99),
                "n": len(first),
            },
            "replay_latency_ms": {"p50": percentile_ms(stats.latencies_s["replay"], 50)},
            "statuses": {str(k): v for k, v in sorted(stats.statuses.items())},
            "responses_5xx": sum(v for k, v in stats.statuses.items() if k >= 500),
            "transport_errors": stats.transport_errors,
            "cut_offs_sent": stats.cut_offs,
            "replays_observed": sum(stats.replays.values()),
            "replays_by_kind": dict(stats.replays),
            "replay_header_missing": stats.replay_header_missing,
            "replay_body_mismatch": stats.replay_body_mismatch,
            "rejected_records": stats.rejected_records,
            "failed_batches": len(stats.failures),
            "acked_waybills": len(stats.acked),
            "cpu_s": {
                "client": round(client_cpu, 1),
                "api_process": round(api_cpu, 1),
                "postgres_backends": round(postgres_cpu, 1),
                # Busy time of everything else on the machine (other users' work skews the figures).
                "worker_process": round(worker_during, 1),
                "other": round(busy - client_cpu - api_cpu - postgres_cpu - worker_during, 1),
                "machine_busy": round(busy, 1),
                "cores": os.cpu_count(),
            },
            "server_log_events": events,
        },
        "database": checks,
        "copy": {
            "parcel_only": copy_only,
            "parcel_and_event": copy_events,
            "api_over_copy": round(api_rate / copy_only["rows_per_s"], 4),
        },
        "failures": stats.failures[:10],
    }


def main(argv: Sequence[str] | None = None) -> int:
    report = run(parse_args(argv))
    print(json.dumps(report, ensure_ascii=False, indent=2))
    db, api = report["database"], report["api"]
    ok = (
        db["duplicate_waybill_groups"] == 0
        and db["acked_but_missing"] == 0
        and db["generated_but_missing"] == 0
        and api["failed_batches"] == 0
        and api["replay_body_mismatch"] == 0
        and api["replay_header_missing"] == 0
        and report["matching"]["pending_left"] == 0
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
