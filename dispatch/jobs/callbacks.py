"""Carrier callbacks on a worker: deliver what is due, then come back when the next one falls due.

Without Redis the API process delivers what is due after each batch of driver events (retries then wait
for the next batch or ``gongpei callbacks deliver``)."""

from __future__ import annotations

import httpx

from dispatch.callbacks.service import deliver_all_due, next_due
from dispatch.config import Settings, get_settings
from dispatch.db import Database, make_engine, utcnow
from dispatch.jobs.queue import enqueue, redis_client

QUEUE = "default"
JOB_ID = "carrier-callbacks"


def run_callbacks() -> int:
    """RQ entry point: deliver what is due; schedule itself for the next retry. Returns how many went out."""
    settings = get_settings()
    database = Database(make_engine(settings.database_url, pool_size=2))
    try:
        outcome = deliver_all_due(database)
        with database.session_scope() as session:
            due = next_due(session)
    finally:
        database.engine.dispose()
    if due is not None and settings.redis_url:
        from rq import Queue

        queue = Queue(QUEUE, connection=redis_client(settings.redis_url))
        queue.enqueue_at(max(due, utcnow()), run_callbacks, job_id=f"{JOB_ID}-retry")
    return outcome.delivered


def schedule_callbacks(
    settings: Settings, database: Database, *, transport: httpx.BaseTransport | None = None
) -> None:
    """Deliver new events' callbacks soon: a worker job with Redis, here and now without."""
    if not enqueue(settings, QUEUE, run_callbacks, job_timeout=600):
        deliver_all_due(database, transport=transport)
