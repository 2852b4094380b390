"""RQ can lose or repeat jobs; PostgreSQL is the record of the work. A real ``gongpei worker`` on a Redis
of the test's own (another port, never the shared one) and a database of its own: the work-horse solving a
plan is SIGKILLed mid-solve, and the plan still ends as one draft — retried by RQ or re-enqueued by the
reconciler — and publishes one manifest per route."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from dispatch import migrate
from dispatch.accounts.service import DeskContext
from dispatch.config import get_settings
from dispatch.db import Database, make_engine
from dispatch.jobs.plans import schedule_plan
from dispatch.manifests import service as manifests
from dispatch.models import Manifest, Plan, PlanStatus, RunStatus, SettlementRun, UserRole
from dispatch.plans import service as plans
from tests.builders import make_desk_user
from tests.conftest import create_database, drop_database, settings_for
from tests.dispatch.test_plans import DAY, _county_day

GONGPEI = str(Path(sys.executable).with_name("gongpei"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
def own_database() -> Iterator[str]:
    url = create_database("gongpei_jobs")
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        drop_database(url)


def _wait(predicate, timeout_s: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found.extend(int(t) for t in text)
    return found


def _work_horse(worker_pid: int) -> int:
    """The worker's newest child: the work-horse forked for the job (the scheduler started before it)."""

    def started(pid: int) -> int:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[19])  # starttime, field 22 of stat

    return max(_children(worker_pid), key=started)


def test_a_killed_work_horse_still_ends_in_one_draft_and_one_manifest_per_route(
    own_database: str, own_redis: str, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GONGPEI_")}
    env.update(
        {
            "GONGPEI_DATABASE_URL": own_database,
            "GONGPEI_REDIS_URL": own_redis,
            "GONGPEI_GAZETTEER_DIR": str(get_settings().gazetteer_dir),
            "GONGPEI_LOG_LEVEL": "WARNING",
            "GONGPEI_SOLVER_WORKERS": "1",
            "GONGPEI_PLAN_HEARTBEAT_S": "0.5",
            "GONGPEI_PLAN_STALE_S": "3",
            "GONGPEI_RECONCILE_EVERY_S": "2",
            "HOME": str(tmp_path),
        }
    )
    database = Database(make_engine(own_database))
    settings = settings_for(own_database, redis_url=own_redis, plan_stale_s=3)
    with database.session_scope() as session:
        desk_user, _, _ = _county_day(session)
        desk = DeskContext(
            user_id=desk_user.user_id,
            operator_id=desk_user.operator_id,
            role=UserRole.DISPATCHER,
            timezone="Asia/Shanghai",
        )
        plan = plans.create_plan(
            session,
            desk=desk,
            settings=settings,
            service_date=date.fromisoformat(DAY),
            wave=1,
            time_limit_s=6,
        )
        plan_id = plan.id
    log_path = Path(os.environ.get("GONGPEI_TEST_WORKER_LOG", str(tmp_path / "worker.log")))
    with log_path.open("wb") as sink:
        worker = subprocess.Popen([GONGPEI, "worker"], env=env, stdout=sink, stderr=subprocess.STDOUT)
    try:
        schedule_plan(settings, database, plan_id, 6)

        def status() -> PlanStatus:
            with database.session_scope() as session:
                row = session.get(Plan, plan_id)
                assert row is not None
                return row.status

        _wait(
            lambda: status() is PlanStatus.SOLVING and len(_children(worker.pid)) >= 2,
            60,
            "the solve to start",
        )
        os.kill(_work_horse(worker.pid), signal.SIGKILL)
        try:
            _wait(lambda: status() is PlanStatus.DRAFT, 120, "the plan to be solved again")
        except AssertionError as exc:
            raise AssertionError(
                f"{exc}; the worker's log:\n{log_path.read_text(errors='replace')[-6000:]}"
            ) from exc
        with database.session_scope() as session:
            published, made = manifests.publish(session, desk=desk, plan_id=plan_id, settings=settings)
            routes = len((published.result or {})["routes"])
        with database.session_scope() as session:
            _, again = manifests.publish(session, desk=desk, plan_id=plan_id, settings=settings)
            count = session.execute(select(func.count()).select_from(Manifest)).scalar_one()
        assert len(made) == routes == count >= 1
        assert {m.id for m in again} == {m.id for m in made}
        assert len({m.driver_id for m in made}) == len(made)  # one manifest per driver
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
        database.engine.dispose()


def test_the_reconciler_re_enqueues_a_plan_whose_job_was_lost(own_database: str) -> None:
    """A plan queued with no job (Redis lost it) is found and solved; a draft is left alone."""
    from dispatch.jobs.reconcile import reconcile

    database = Database(make_engine(own_database))
    settings = settings_for(own_database, plan_stale_s=1, solver_solution_limit=20)
    try:
        with database.session_scope() as session:
            desk_user, _, _ = _county_day(session)
            desk = DeskContext(
                user_id=desk_user.user_id,
                operator_id=desk_user.operator_id,
                role=UserRole.DISPATCHER,
                timezone="Asia/Shanghai",
            )
            plan_id = plans.create_plan(
                session, desk=desk, settings=settings, service_date=date.fromisoformat(DAY), wave=1
            ).id
        time.sleep(1.2)  # older than the stale time: its job is taken as lost
        found = reconcile(database, settings)  # no Redis: the reconciler solves it here
        assert found["plans"] == 1
        with database.session_scope() as session:
            row = session.get(Plan, plan_id)
            assert row is not None
            assert row.status is PlanStatus.DRAFT
        time.sleep(1.2)
        assert reconcile(database, settings)["plans"] == 0
    finally:
        database.engine.dispose()


def test_ingestion_answers_while_redis_is_down_and_nothing_waits_forever(
    own_database: str, tmp_path: Path
) -> None:
    """Redis stops mid-run: posting parcels still answers 200 (matching falls back to the API process);
    Redis comes back and the queue carries the next batches; every parcel ends matched."""
    from fastapi.testclient import TestClient

    from dispatch.main import create_app
    from dispatch.matching.service import pending_count
    from tests.builders import batch, idem, make_tenant, record

    port = _free_port()

    def start() -> subprocess.Popen[bytes]:
        server = subprocess.Popen(
            ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait(lambda: _reachable(port), 10, "redis to start")
        return server

    redis_url = f"redis://127.0.0.1:{port}/0"
    database = Database(make_engine(own_database))
    with database.session_scope() as session:
        tenant = make_tenant(session)
    app = create_app(settings_for(own_database, redis_url=redis_url), database=database)
    server = start()
    try:
        with TestClient(app) as client:
            address = "辽宁省丹东市宽甸满族自治县灌水镇东岔村3组"
            first = client.post(
                "/v1/parcels", json=batch(record(address=address)), headers={**tenant.auth, **idem()}
            )
            assert first.status_code == 200
            server.terminate()
            server.wait(timeout=10)
            during = [
                client.post(
                    "/v1/parcels", json=batch(record(address=address)), headers={**tenant.auth, **idem()}
                )
                for _ in range(3)
            ]
            assert [r.status_code for r in during] == [200, 200, 200]
            server = start()
            after = client.post(
                "/v1/parcels", json=batch(record(address=address)), headers={**tenant.auth, **idem()}
            )
            assert after.status_code == 200
        # The batches posted while Redis was down were matched in the API process; the ones with Redis up
        # wait in the queue for a worker — run what the queue holds, as a worker would.
        from redis import Redis
        from rq import Queue, SimpleWorker

        os.environ["GONGPEI_DATABASE_URL"] = own_database
        try:
            get_settings.cache_clear()
            SimpleWorker(
                [Queue("matching", connection=Redis.from_url(redis_url))],
                connection=Redis.from_url(redis_url),
            ).work(burst=True)
        finally:
            del os.environ["GONGPEI_DATABASE_URL"]
            get_settings.cache_clear()
        with database.session_scope() as session:
            assert pending_count(session, operator_id=tenant.operator_id) == 0
    finally:
        server.terminate()
        server.wait(timeout=10)
        database.engine.dispose()


def _reachable(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


def test_the_reconciler_settles_a_run_whose_job_was_lost(own_database: str) -> None:
    """A settlement run queued with no job (Redis lost it) is found and done once; a done run is not."""
    from dispatch.jobs.reconcile import reconcile
    from dispatch.settlements.runs import create_run

    database = Database(make_engine(own_database))
    settings = settings_for(own_database, plan_stale_s=1)
    try:
        with database.session_scope() as session:
            desk_user = make_desk_user(session)
            run_id = create_run(
                session,
                operator_id=desk_user.operator_id,
                first=date(2026, 11, 1),
                last=date(2026, 11, 30),
                by="period",
                close=False,
            ).id
        time.sleep(1.2)
        assert reconcile(database, settings)["settlements"] == 1
        with database.session_scope() as session:
            run = session.get(SettlementRun, run_id)
            assert run is not None
            assert run.status is RunStatus.DONE
            assert run.summary is not None
            assert run.summary["statements"] == 0
        time.sleep(1.2)
        assert reconcile(database, settings)["settlements"] == 0
    finally:
        database.engine.dispose()
