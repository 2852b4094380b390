"""The reconciler: PostgreSQL is the record of work, Redis only carries jobs — and RQ can lose them. Every
``GONGPEI_RECONCILE_EVERY_S`` it finds work stuck in a non-terminal state and hands it to the queue again:

* scheduled waves (``GONGPEI_AUTO_PLAN_WAVES``): a wave whose cut-off has just passed gets its plan;
* plans queued with no job, or solving without a heartbeat (their worker died);
* file imports still queued, or processing past their stale time;
* operators with parcels still pending a match;
* settlement runs queued with no job, or running with no word (their worker died);
* carrier callbacks and driver messages due.

Every job is idempotent (it claims its row first), so re-enqueueing work that was merely slow does nothing.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from dispatch.callbacks.service import next_due
from dispatch.config import Settings, get_settings
from dispatch.db import Database, make_engine, utcnow
from dispatch.jobs.callbacks import schedule_callbacks
from dispatch.jobs.imports import schedule_file_import
from dispatch.jobs.matching import schedule_matching
from dispatch.jobs.notifications import schedule_notifications
from dispatch.jobs.plans import schedule_plan
from dispatch.jobs.queue import redis_client
from dispatch.jobs.settlements import schedule_settlement
from dispatch.models import DriverNotification, FileImport, ImportStatus, NotificationStatus, Parcel
from dispatch.observability import log
from dispatch.plans.service import due_wave_plans, stale_plans
from dispatch.settlements.runs import stale_runs

QUEUE = "default"
JOB_ID = "gongpei-reconciler"


def reconcile(database: Database, settings: Settings) -> dict[str, int]:
    """Hand stuck work to the queue again (or, without Redis, do it here); returns what it found."""
    now = utcnow()
    cutoff = now - timedelta(seconds=settings.plan_stale_s)
    with database.session_scope() as session:
        waves = due_wave_plans(session, settings=settings, now=now) if settings.auto_plan_waves else []
    with database.session_scope() as session:
        plans = stale_plans(session, settings=settings, now=now)
        imports = list(
            session.execute(
                select(FileImport.id).where(
                    ((FileImport.status == ImportStatus.QUEUED) & (FileImport.created_at < cutoff))
                    | ((FileImport.status == ImportStatus.PROCESSING) & (FileImport.started_at < cutoff))
                )
            ).scalars()
        )
        operators = list(
            session.execute(
                select(Parcel.operator_id)
                .where(Parcel.match_status.is_(None), Parcel.station_id.is_(None), Parcel.updated_at < cutoff)
                .distinct()
            ).scalars()
        )
        settlements = stale_runs(session, stale_s=settings.plan_stale_s)
        due = next_due(session)
        messages_due = session.execute(
            select(DriverNotification.id)
            .where(
                DriverNotification.status == NotificationStatus.PENDING,
                DriverNotification.next_attempt_at <= now,
            )
            .limit(1)
        ).first()
    for plan_id, limit in [*waves, *plans]:
        schedule_plan(settings, database, plan_id, limit)
    for import_id in imports:
        schedule_file_import(settings, database, import_id)
    for operator_id in operators:
        schedule_matching(settings, database, operator_id)
    for run_id in settlements:
        schedule_settlement(settings, database, run_id)
    callbacks_due = int(due is not None and due <= now)
    if callbacks_due:
        schedule_callbacks(settings, database)
    if messages_due is not None:
        schedule_notifications(settings, database)
    found = {
        "waves_planned": len(waves),
        "plans": len(plans),
        "imports": len(imports),
        "matching": len(operators),
        "settlements": len(settlements),
        "callbacks": callbacks_due,
        "driver_messages": int(messages_due is not None),
    }
    if any(found.values()):
        log.info("reconciled", **found)
    return found


def run_reconciler() -> dict[str, int]:
    """RQ entry point: reconcile, then come back in ``reconcile_every_s`` (the worker's scheduler runs it)."""
    settings = get_settings()
    database = Database(make_engine(settings.database_url, pool_size=2))
    try:
        found = reconcile(database, settings)
    finally:
        database.engine.dispose()
    if settings.redis_url:
        start_reconciler(settings)
    return found


def start_reconciler(settings: Settings) -> None:
    """Schedule the next reconciler run (one id: a second worker starting replaces it, never doubles it)."""
    from rq import Queue

    queue = Queue(QUEUE, connection=redis_client(settings.redis_url or ""))
    queue.enqueue_in(timedelta(seconds=settings.reconcile_every_s), run_reconciler, job_id=JOB_ID)
