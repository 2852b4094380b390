"""Idempotent request execution, keyed per carrier account.

The key, the business rows and the stored response commit in one transaction: a request that fails or
is cut off stores nothing and may simply be sent again. A second request with the same key waits for
the first to commit (PostgreSQL blocks on the unique key) and then replays its response; if it has
waited longer than the lock timeout it gets 409.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from dispatch.db import dialect_insert, is_postgres, utcnow
from dispatch.errors import IdempotencyKeyInFlight, IdempotencyKeyMissing, IdempotencyKeyReused
from dispatch.models import IdempotencyRecord

_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
_LOCK_NOT_AVAILABLE = "55P03"


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status: int
    body: dict[str, Any]
    replayed: bool


def check_key(key: str | None) -> str:
    if key is None or key == "":
        raise IdempotencyKeyMissing(
            "POST requests that create data need an Idempotency-Key header (a UUID is a good key).",
            errors=[{"field": "Idempotency-Key", "reason": "header is required"}],
        )
    if not _KEY.fullmatch(key):
        raise IdempotencyKeyMissing(
            "Idempotency-Key must be 1 to 255 visible ASCII characters.",
            errors=[{"field": "Idempotency-Key", "reason": "must be 1-255 visible ASCII characters"}],
        )
    return key


def fingerprint(method: str, path: str, body: Any) -> str:
    """SHA-256 over method, path and the body as canonical JSON (key order and spacing do not matter)."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{method.upper()}\n{path}\n{canonical}".encode()).hexdigest()


def _is_lock_timeout(exc: DBAPIError) -> bool:
    return getattr(exc.orig, "sqlstate", None) == _LOCK_NOT_AVAILABLE


def execute_once(
    session: Session,
    *,
    carrier_id: uuid.UUID,
    key: str,
    method: str,
    path: str,
    request_fingerprint: str,
    ttl: timedelta,
    lock_timeout_ms: int,
    run: Callable[[], tuple[int, dict[str, Any]]],
) -> StoredResponse:
    """Run ``run`` once per (carrier, key) and store its response; replay it for a repeat of the request."""
    if is_postgres(session):
        session.execute(text(f"SET LOCAL lock_timeout = '{int(lock_timeout_ms)}ms'"))
    insert = dialect_insert(session)
    now = utcnow()
    for _attempt in range(2):
        stmt = (
            insert(IdempotencyRecord)
            .values(
                id=uuid.uuid4(),
                carrier_id=carrier_id,
                key=key,
                method=method,
                path=path,
                fingerprint=request_fingerprint,
                response_status=0,
                response_body="",
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["carrier_id", "key"])
            .returning(IdempotencyRecord.id)
        )
        try:
            record_id = session.execute(stmt).scalar_one_or_none()
        except DBAPIError as exc:
            if _is_lock_timeout(exc):
                raise IdempotencyKeyInFlight(
                    "Another request with this Idempotency-Key is still running; retry shortly.",
                    headers={"Retry-After": "1"},
                ) from exc
            raise
        if record_id is not None:
            status, body = run()
            session.execute(
                update(IdempotencyRecord)
                .where(IdempotencyRecord.id == record_id)
                .values(response_status=status, response_body=json.dumps(body, ensure_ascii=False))
            )
            return StoredResponse(status=status, body=body, replayed=False)

        existing = session.execute(
            select(IdempotencyRecord).where(
                IdempotencyRecord.carrier_id == carrier_id, IdempotencyRecord.key == key
            )
        ).scalar_one()
        if existing.created_at < now - ttl:
            session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.id == existing.id))
            continue
        if existing.fingerprint != request_fingerprint or existing.method != method or existing.path != path:
            raise IdempotencyKeyReused(
                "This Idempotency-Key was used for a different request; use a new key for new content.",
                errors=[{"field": "Idempotency-Key", "reason": "already used with a different body"}],
            )
        if existing.response_status == 0:
            # Only visible if the writer committed without a response, which execute_once never does.
            raise IdempotencyKeyInFlight(headers={"Retry-After": "1"})
        return StoredResponse(
            status=existing.response_status, body=json.loads(existing.response_body), replayed=True
        )
    raise IdempotencyKeyInFlight(headers={"Retry-After": "1"})


def prune(session: Session, *, ttl: timedelta) -> int:
    """Forget keys older than ``ttl``; returns how many were removed."""
    result = session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.created_at < utcnow() - ttl))
    return int(getattr(result, "rowcount", 0) or 0)
