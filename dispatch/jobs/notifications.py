"""Driver messages on a worker (webhook, SMS), else in the API process after publishing; retries come
back through the reconciler."""

from __future__ import annotations

import httpx

from dispatch.config import Settings, get_settings
from dispatch.db import Database, make_engine
from dispatch.jobs.queue import enqueue
from dispatch.notifications.service import send_all_due

QUEUE = "default"


def run_notifications() -> None:
    """RQ entry point: send the driver messages that are due."""
    settings = get_settings()
    database = Database(make_engine(settings.database_url, pool_size=2))
    try:
        send_all_due(database, settings=settings)
    finally:
        database.engine.dispose()


def schedule_notifications(
    settings: Settings, database: Database, *, transport: httpx.BaseTransport | None = None
) -> None:
    """Send due driver messages soon: a worker job with Redis, here and now without."""
    # A test's transport means "send here", where the test can see it.
    if transport is not None or not enqueue(settings, QUEUE, run_notifications, job_timeout=300):
        send_all_due(database, settings=settings, transport=transport)
