"""Plan solves: on an RQ worker when Redis is configured, else in the API process after the response.

The plan row is the record of the work (``queued`` → ``solving`` → ``draft``/``failed``); the job carries
the plan's id only, and running it twice changes nothing (``run_plan`` claims the row first).
"""

from __future__ import annotations

import uuid

from dispatch.config import Settings, get_settings
from dispatch.db import Database, make_engine
from dispatch.jobs.queue import enqueue
from dispatch.plans.service import run_plan

QUEUE = "plans"
_JOB_MARGIN_S = 120
"""A job's timeout is its plan's time limit plus this (building the problem, storing the draft)."""


def run_plan_job(plan_id: str) -> str | None:
    """RQ entry point: solve one plan by id, forking solver processes (a work-horse may)."""
    settings = get_settings()
    database = Database(make_engine(settings.database_url, pool_size=2))
    try:
        status = run_plan(database, uuid.UUID(plan_id), settings=settings, workers=settings.solver_workers)
    finally:
        database.engine.dispose()
    return status.value if status else None


def schedule_plan(settings: Settings, database: Database, plan_id: uuid.UUID, time_limit_s: int) -> None:
    """Hand a committed plan to the queue; without Redis (or when it is down) solve it here, in one
    process (the web process's threads must not fork)."""
    queued = enqueue(
        settings,
        QUEUE,
        run_plan_job,
        str(plan_id),
        job_id=f"plan-{plan_id}",
        job_timeout=time_limit_s + _JOB_MARGIN_S,
        retry=(2, [10, 30]),
    )
    if not queued:
        run_plan(database, plan_id, settings=settings, workers=1)
