"""Settlement runs: on an RQ worker when Redis is configured, else in the API process after the response.

The run row is the record of the work (``queued`` → ``running`` → ``done``/``failed``); the job carries the
run's id only, and running it twice changes nothing (``run_settlement`` claims the row first).
"""

from __future__ import annotations

import uuid

from dispatch.config import Settings, get_settings
from dispatch.db import Database, make_engine
from dispatch.jobs.queue import enqueue
from dispatch.settlements.runs import run_settlement

QUEUE = "default"
JOB_TIMEOUT_S = 1800


def run_settlement_job(run_id: str) -> str | None:
    """RQ entry point: settle one run by id."""
    settings = get_settings()
    database = Database(make_engine(settings.database_url, pool_size=2))
    try:
        return run_settlement(database, uuid.UUID(run_id), settings=settings)
    finally:
        database.engine.dispose()


def schedule_settlement(settings: Settings, database: Database, run_id: uuid.UUID) -> None:
    """Hand a committed run to the queue; without Redis (or when it is down) settle it here."""
    queued = enqueue(
        settings,
        QUEUE,
        run_settlement_job,
        str(run_id),
        job_id=f"settlement-{run_id}",
        job_timeout=JOB_TIMEOUT_S,
        retry=(2, [10, 30]),
    )
    if not queued:
        run_settlement(database, run_id, settings=settings)
