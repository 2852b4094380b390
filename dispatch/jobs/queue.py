"""Handing a job to RQ, or telling the caller to do the work itself."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from redis import Redis

from dispatch.config import Settings
from dispatch.observability import log


@lru_cache(maxsize=4)
def redis_client(url: str) -> Redis:
    """One client (and its connection pool) per URL and process: a job is enqueued after every ingested
    batch, which should not open a connection each time."""
    return Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)


def enqueue(
    settings: Settings,
    queue: str,
    func: Callable[..., Any],
    *args: Any,
    retry: tuple[int, Sequence[int]] | None = None,
    **options: Any,
) -> bool:
    """Put ``func(*args)`` on ``queue``; ``retry`` is (attempts, intervals in seconds). False without Redis,
    or when Redis does not answer (the reason is logged): the caller then does the work itself."""
    if not settings.redis_url:
        return False
    try:
        from rq import Queue, Retry

        if retry is not None:
            options["retry"] = Retry(max=retry[0], interval=list(retry[1]))
        Queue(queue, connection=redis_client(settings.redis_url)).enqueue(func, *args, **options)
        return True
    except Exception as exc:  # noqa: BLE001 - the work must still be done; the reason is logged
        log.warning("enqueue_failed_running_inline", job=func.__name__, error_type=type(exc).__name__)
        return False
