"""Matching after ingestion: on an RQ worker when Redis is configured, else in the API process.

PostgreSQL is the record of this work: a parcel is pending while its ``match_status`` is NULL. A job
only says "this operator has pending parcels"; a lost job loses nothing, because the next job, the review
queue and planning all match what is still pending first.
"""

from __future__ import annotations

import uuid

from dispatch.config import Settings, get_settings
from dispatch.db import Database, make_engine
from dispatch.jobs.queue import enqueue
from dispatch.matching.service import match_all_pending

QUEUE = "matching"


def run_matching(operator_id: str) -> int:
    """RQ entry point (takes the operator's id only; idempotent: nothing pending means nothing to do)."""
    settings = get_settings()
    database = Database(make_engine(settings.database_url, pool_size=2))
    try:
        return match_all_pending(database, uuid.UUID(operator_id))
    finally:
        database.engine.dispose()


def schedule_matching(settings: Settings, database: Database, operator_id: uuid.UUID) -> None:
    """Ask for the operator's pending parcels to be matched; called after the parcels have committed.

    With Redis, a worker does it; without Redis (or when it is down) it runs here and now, after the
    response has been sent.
    """
    if not enqueue(settings, QUEUE, run_matching, str(operator_id), job_timeout=600, retry=(3, [5, 30, 60])):
        match_all_pending(database, operator_id)
