"""Driver messages on a worker (webhook, SMS), else in the API process after publishing; retries come
back through the reconciler."""

from __future__ import annotations

import httpx

from dispatch.config import Settings, get_settings
from dispatch.db import Database, make_engine
from dispatch.notifications.service import send_all_due
from dispatch.observability import log

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
    if settings.redis_url and transport is None:
        try:
            from redis import Redis
            from rq import Queue

            Queue(QUEUE, connection=Redis.from_url(settings.redis_url, socket_connect_timeout=2)).enqueue(
                run_notifications, job_timeout=300
            )
            return
        except Exception as exc:  # noqa: BLE001 - the drivers must still be told; the reason is logged
            log.warning("enqueue_failed_notifying_inline", error_type=type(exc).__name__)
    send_all_due(database, settings=settings, transport=transport)
