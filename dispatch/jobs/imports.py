"""Manifest-file processing, on an RQ worker when Redis is configured, else in the API process."""

from __future__ import annotations

import uuid

from dispatch.config import Settings, get_settings
from dispatch.db import Database, make_engine
from dispatch.jobs.queue import enqueue

QUEUE = "imports"


def run_file_import(import_id: str) -> str | None:
    """RQ entry point: process one import by id (idempotent: a finished import is left alone)."""
    from dispatch.imports.service import process

    settings = get_settings()
    database = Database(make_engine(settings.database_url, pool_size=2))
    try:
        status = process(database, uuid.UUID(import_id))
    finally:
        database.engine.dispose()
    return status.value if status else None


def schedule_file_import(settings: Settings, database: Database, import_id: uuid.UUID) -> None:
    """Hand the import to the queue; without Redis (or when it is down) process it here and now.

    Called after the upload has committed, so a worker always finds the row.
    """
    queued = enqueue(
        settings,
        QUEUE,
        run_file_import,
        str(import_id),
        job_id=f"file-import-{import_id}",
        job_timeout=1800,
        retry=(3, [10, 30, 60]),
    )
    if not queued:
        from dispatch.imports.service import process

        process(database, import_id)
