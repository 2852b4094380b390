"""Telling drivers: a channel interface — the in-app inbox always, a signed webhook to a configured URL and
an SMS through a configurable HTTP gateway when set — with retries and failures the desk can see.

``notify`` writes one row per driver and channel in the transaction that publishes the manifests (the inbox
row is delivered by being written); ``send_due`` sends the webhook and SMS rows after the commit, retrying
with backoff and marking a row ``failed`` after the last attempt. Messages carry ids and the plate, never a
recipient's data.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.accounts.service import DeskContext
from dispatch.config import Settings
from dispatch.db import Database, is_postgres, utcnow
from dispatch.fleet.service import DriverContext
from dispatch.models import Channel, Driver, DriverNotification, NotificationStatus

MAX_ATTEMPTS = 8
BASE_BACKOFF_S = 15
MAX_BACKOFF_S = 900
TIMEOUT_S = 10.0


def channels(settings: Settings) -> list[Channel]:
    """The inbox, plus each outside channel that is configured."""
    found = [Channel.INBOX]
    if settings.driver_webhook_url:
        found.append(Channel.WEBHOOK)
    if settings.sms_gateway_url:
        found.append(Channel.SMS)
    return found


def notify(
    session: Session,
    *,
    settings: Settings,
    operator_id: uuid.UUID,
    messages: list[tuple[uuid.UUID, uuid.UUID, dict[str, Any]]],
) -> int:
    """Queue (driver id, manifest id, body) on every channel, in this transaction; returns rows written."""
    now = utcnow()
    rows = [
        DriverNotification(
            operator_id=operator_id,
            driver_id=driver_id,
            manifest_id=manifest_id,
            channel=channel,
            kind=str(body.get("kind", "manifest")),
            body=body,
            status=NotificationStatus.SENT if channel is Channel.INBOX else NotificationStatus.PENDING,
            sent_at=now if channel is Channel.INBOX else None,
            next_attempt_at=now,
        )
        for driver_id, manifest_id, body in messages
        for channel in channels(settings)
    ]
    session.add_all(rows)
    session.flush()
    return len(rows)


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(MAX_BACKOFF_S, BASE_BACKOFF_S * 2 ** max(0, attempts - 1)))


def _send(
    client: httpx.Client,
    settings: Settings,
    row: DriverNotification,
    driver: Driver,
    clock: Callable[[], float],
) -> str | None:
    if row.channel is Channel.WEBHOOK:
        body = json.dumps({"driver_id": str(row.driver_id), **row.body}, ensure_ascii=False).encode()
        timestamp = str(int(clock()))
        secret = (settings.driver_webhook_secret or "").encode()
        signature = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        url = settings.driver_webhook_url or ""
        headers = {
            "Content-Type": "application/json",
            "X-Gongpei-Timestamp": timestamp,
            "X-Gongpei-Signature": f"sha256={signature}",
        }
        request = client.build_request("POST", url, content=body, headers=headers)
    else:
        if not driver.phone:
            return "the driver has no phone number"
        text = f"【共配】{row.body.get('text', '')}"
        request = client.build_request(
            "POST", settings.sms_gateway_url or "", json={"to": driver.phone, "text": text}
        )
    try:
        response = client.send(request)
    except httpx.HTTPError as exc:
        return type(exc).__name__
    return None if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"


def send_due(
    session: Session,
    *,
    settings: Settings,
    now: datetime | None = None,
    transport: httpx.BaseTransport | None = None,
    clock: Callable[[], float] = time.time,
) -> tuple[int, int]:
    """Send the webhook and SMS messages that are due; returns (sent, failed for good). The caller commits."""
    now = now or utcnow()
    stmt = (
        select(DriverNotification)
        .where(
            DriverNotification.status == NotificationStatus.PENDING,
            DriverNotification.next_attempt_at <= now,
        )
        .order_by(DriverNotification.created_at)
        .limit(200)
    )
    if is_postgres(session):
        stmt = stmt.with_for_update(skip_locked=True)
    due = list(session.execute(stmt).scalars())
    if not due:
        return 0, 0
    drivers = {
        d.id: d
        for d in session.execute(select(Driver).where(Driver.id.in_({r.driver_id for r in due}))).scalars()
    }
    sent = failed = 0
    with httpx.Client(transport=transport, timeout=TIMEOUT_S, follow_redirects=False) as client:
        for row in due:
            error = _send(client, settings, row, drivers[row.driver_id], clock)
            row.attempts += 1
            if error is None:
                row.status, row.sent_at, row.last_error = NotificationStatus.SENT, now, None
                sent += 1
            elif row.attempts >= MAX_ATTEMPTS or error == "the driver has no phone number":
                row.status, row.last_error = NotificationStatus.FAILED, error[:300]
                failed += 1
            else:
                row.next_attempt_at, row.last_error = now + _backoff(row.attempts), error[:300]
    session.flush()
    return sent, failed


def send_all_due(
    database: Database, *, settings: Settings, transport: httpx.BaseTransport | None = None
) -> None:
    while True:
        with database.session_scope() as session:
            sent, failed = send_due(session, settings=settings, transport=transport)
        if not (sent or failed):
            return


def inbox(session: Session, *, driver: DriverContext, limit: int = 50) -> list[dict[str, Any]]:
    """The driver's in-app messages, newest first."""
    rows = session.execute(
        select(DriverNotification)
        .where(DriverNotification.driver_id == driver.driver_id, DriverNotification.channel == Channel.INBOX)
        .order_by(DriverNotification.created_at.desc())
        .limit(limit)
    ).scalars()
    return [{"id": str(r.id), "kind": r.kind, "created_at": r.created_at.isoformat(), **r.body} for r in rows]


def problems(session: Session, *, desk: DeskContext, limit: int = 100) -> list[dict[str, Any]]:
    """Messages that failed for good, or are being retried, for the desk."""
    rows = session.execute(
        select(DriverNotification, Driver.name)
        .join(Driver, Driver.id == DriverNotification.driver_id)
        .where(
            DriverNotification.operator_id == desk.operator_id,
            DriverNotification.channel != Channel.INBOX,
            DriverNotification.attempts > 0,
            DriverNotification.status != NotificationStatus.SENT,
        )
        .order_by(DriverNotification.created_at)
        .limit(limit)
    )
    return [
        {
            "id": str(n.id),
            "driver_id": str(n.driver_id),
            "driver_name": name,
            "channel": n.channel.value,
            "status": n.status.value,
            "attempts": n.attempts,
            "last_error": n.last_error,
        }
        for n, name in rows
    ]
