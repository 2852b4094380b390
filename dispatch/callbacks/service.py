"""Carrier callbacks: every scan we make on a carrier's parcel goes to that carrier's callback URL, in the
carrier's own format (its adapter's ``render_event``), signed, retried with backoff, in order per waybill,
and dead-lettered after the last attempt, where the dispatch desk sees it.

PostgreSQL is the record of the work: ``enqueue`` writes a ``callback_delivery`` row in the transaction that
records the event. ``deliver_due`` sends what is due — the oldest pending delivery of each parcel only, so
a later scan never overtakes an earlier one — and can run from any number of workers (rows are claimed
``FOR UPDATE SKIP LOCKED``). A delivery that keeps failing holds back the parcel's later ones until it is
delivered or dead.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import and_, select
from sqlalchemy.orm import Session, aliased

from carriers import registry
from carriers.unified import TrackingEvent
from dispatch.accounts.service import DeskContext
from dispatch.db import Database, is_postgres, utcnow
from dispatch.models import CallbackDelivery, CallbackStatus, CarrierAccount, Parcel, ParcelEvent
from dispatch.observability import log

MAX_ATTEMPTS = 12
"""Attempts before a delivery is dead-lettered: with the backoff below, about 10 hours of trying."""
BASE_BACKOFF_S = 30
MAX_BACKOFF_S = 3600
BATCH = 200
TIMEOUT_S = 10.0


def backoff(attempts: int) -> timedelta:
    """Wait after the ``attempts``-th failure: 30 s, 60 s, 120 s … capped at an hour."""
    return timedelta(seconds=min(MAX_BACKOFF_S, BASE_BACKOFF_S * 2 ** max(0, attempts - 1)))


def enqueue(session: Session, *, events: list[tuple[int, uuid.UUID, uuid.UUID, uuid.UUID]]) -> int:
    """Queue (parcel_event_id, operator_id, carrier_id, parcel_id) for delivery, in this transaction;
    carriers without a callback URL are skipped. Returns how many were queued."""
    if not events:
        return 0
    with_url = set(
        session.execute(
            select(CarrierAccount.id).where(
                CarrierAccount.id.in_({e[2] for e in events}), CarrierAccount.callback_url.is_not(None)
            )
        ).scalars()
    )
    rows = [
        CallbackDelivery(
            parcel_event_id=event_id, operator_id=operator_id, carrier_id=carrier_id, parcel_id=parcel_id
        )
        for event_id, operator_id, carrier_id, parcel_id in sorted(events)
        if carrier_id in with_url
    ]
    session.add_all(rows)
    session.flush()
    return len(rows)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>`` of HMAC-SHA256 over ``timestamp.body`` with the carrier's signing secret."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def tracking_event(row: ParcelEvent, waybill_no: str) -> TrackingEvent:
    """A stored scan as the unified event the carrier's adapter renders."""
    return TrackingEvent(
        waybill_no=waybill_no,
        status=row.status,
        occurred_at=row.occurred_at,
        raw_code=row.raw_code,
        raw_namespace=row.raw_namespace,
        description=row.description,
        site_name=row.place,
        failure_reason=row.failure_reason,
        pickup_code=row.pickup_code,
        event_id=row.event_key,
    )


@dataclass(frozen=True, slots=True)
class Outcome:
    delivered: int
    retried: int
    dead: int


def deliver_due(
    session: Session,
    *,
    now: datetime | None = None,
    transport: httpx.BaseTransport | None = None,
    limit: int = BATCH,
    clock: Callable[[], float] = time.time,
) -> Outcome:
    """Send the due deliveries (the oldest pending one of each parcel whose time has come) and record
    each outcome; the caller commits."""
    now = now or utcnow()
    earlier = aliased(CallbackDelivery)
    stmt = (
        select(CallbackDelivery)
        .where(
            CallbackDelivery.status == CallbackStatus.PENDING,
            CallbackDelivery.next_attempt_at <= now,
            ~select(earlier.id)
            .where(
                and_(
                    earlier.parcel_id == CallbackDelivery.parcel_id,
                    earlier.id < CallbackDelivery.id,
                    earlier.status == CallbackStatus.PENDING,
                )
            )
            .exists(),
        )
        .order_by(CallbackDelivery.id)
        .limit(limit)
    )
    if is_postgres(session):
        stmt = stmt.with_for_update(skip_locked=True, of=CallbackDelivery)
    due = list(session.execute(stmt).scalars())
    if not due:
        return Outcome(0, 0, 0)
    accounts = {
        a.id: a
        for a in session.execute(
            select(CarrierAccount).where(CarrierAccount.id.in_({d.carrier_id for d in due}))
        ).scalars()
    }
    events = {
        e.id: e
        for e in session.execute(
            select(ParcelEvent).where(ParcelEvent.id.in_([d.parcel_event_id for d in due]))
        ).scalars()
    }
    waybills = {
        row.id: row.waybill_no
        for row in session.execute(
            select(Parcel.id, Parcel.waybill_no).where(Parcel.id.in_({d.parcel_id for d in due}))
        )
    }
    delivered = retried = dead = 0
    with httpx.Client(transport=transport, timeout=TIMEOUT_S, follow_redirects=False) as client:
        for delivery in due:
            account = accounts[delivery.carrier_id]
            error = _send(
                client, account, events[delivery.parcel_event_id], waybills[delivery.parcel_id], clock
            )
            delivery.attempts += 1
            if error is None:
                delivery.status, delivery.delivered_at, delivery.last_error = (
                    CallbackStatus.DELIVERED,
                    now,
                    None,
                )
                delivered += 1
            elif delivery.attempts >= MAX_ATTEMPTS:
                delivery.status, delivery.last_error = CallbackStatus.DEAD, error[:300]
                dead += 1
                log.warning(
                    "callback_dead", delivery_id=delivery.id, carrier_id=str(account.id), error=error[:100]
                )
            else:
                delivery.next_attempt_at, delivery.last_error = now + backoff(delivery.attempts), error[:300]
                retried += 1
    session.flush()
    return Outcome(delivered, retried, dead)


def _send(
    client: httpx.Client,
    account: CarrierAccount,
    event: ParcelEvent,
    waybill_no: str,
    clock: Callable[[], float],
) -> str | None:
    """POST the event in the carrier's format; None when the carrier answered 2xx, else what went wrong."""
    if not account.callback_url:
        return "no callback URL"
    try:
        adapter = registry.get(account.brand.value)
        payload: dict[str, Any] = adapter.render_event(tracking_event(event, waybill_no))
    except (registry.UnknownFormat, NotImplementedError):
        payload = {
            "waybill_no": waybill_no,
            "status": event.status.value,
            "occurred_at": event.occurred_at.isoformat(),
            "event_id": event.event_key,
        }
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    timestamp = str(int(clock()))
    headers = {
        "Content-Type": "application/json",
        "X-Gongpei-Timestamp": timestamp,
        "X-Gongpei-Signature": sign(account.signing_secret, timestamp, body),
        "X-Gongpei-Event": event.event_key or str(event.id),
    }
    try:
        response = client.post(account.callback_url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}"
    if 200 <= response.status_code < 300:
        return None
    return f"HTTP {response.status_code}"


def deliver_all_due(database: Database, *, transport: httpx.BaseTransport | None = None) -> Outcome:
    """Deliver due callbacks in batches, one transaction each, until none is due now."""
    total = Outcome(0, 0, 0)
    while True:
        with database.session_scope() as session:
            outcome = deliver_due(session, transport=transport)
        total = Outcome(
            total.delivered + outcome.delivered, total.retried + outcome.retried, total.dead + outcome.dead
        )
        if not (outcome.delivered or outcome.retried or outcome.dead):
            return total


def next_due(session: Session) -> datetime | None:
    """When the next pending delivery falls due (None: nothing pending)."""
    return session.execute(
        select(CallbackDelivery.next_attempt_at)
        .where(CallbackDelivery.status == CallbackStatus.PENDING)
        .order_by(CallbackDelivery.next_attempt_at)
        .limit(1)
    ).scalar_one_or_none()


def failures(
    session: Session, *, desk: DeskContext, status: CallbackStatus, limit: int
) -> list[dict[str, Any]]:
    """The operator's dead (or still retrying) deliveries for the desk: waybill, carrier, attempts, error."""
    rows = session.execute(
        select(CallbackDelivery, Parcel.waybill_no, CarrierAccount.brand)
        .join(Parcel, Parcel.id == CallbackDelivery.parcel_id)
        .join(CarrierAccount, CarrierAccount.id == CallbackDelivery.carrier_id)
        .where(CallbackDelivery.operator_id == desk.operator_id, CallbackDelivery.status == status)
        .where(CallbackDelivery.attempts > 0)
        .order_by(CallbackDelivery.id)
        .limit(limit)
    )
    return [
        {
            "delivery_id": d.id,
            "waybill_no": waybill_no,
            "brand": brand.value,
            "carrier_id": str(d.carrier_id),
            "status": d.status.value,
            "attempts": d.attempts,
            "last_error": d.last_error,
            "next_attempt_at": d.next_attempt_at.isoformat() if d.status is CallbackStatus.PENDING else None,
        }
        for d, waybill_no, brand in rows
    ]
