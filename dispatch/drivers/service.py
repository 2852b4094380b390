"""Drivers' scans from the phone: deliveries, failed attempts, hand-overs to a station or locker and
produce picked up, each judged on its own.

* An event names a parcel on the driver's **current** manifest by waybill; any other parcel is rejected
  on its own (a driver never touches another route's parcels).
* ``event_id`` is a UUID the phone made: the event is stored once (``driver:<event_id>`` is its key on the
  parcel), so a phone that syncs the same queue twice changes nothing the second time.
* A hand-over to a station or locker needs the recipient's consent (快递市场管理办法, in force since
  1 March 2024): the parcel's delivery preference naming that station or locker kind is consent on file;
  otherwise, without ``consent: true`` the event is rejected, naming the field.
* The parcel's status moves only forward in event time, as for carrier scans.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from carriers.unified import Direction, FailureReason, ParcelStatus
from dispatch.callbacks import service as callbacks
from dispatch.db import dialect_insert, utcnow
from dispatch.errors import NotFound, ValidationFailed
from dispatch.fleet.service import DriverContext
from dispatch.manifests import service as manifests
from dispatch.models import DeliveryPhoto, EventKind, Manifest, ManifestParcel, Parcel, ParcelEvent
from dispatch.tracking import service as tracking

FUTURE_TOLERANCE = timedelta(minutes=10)
"""Phones' clocks drift; an event further ahead than this is refused."""
MAX_EVENTS = 500


class Proof(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pickup_code: str | None = Field(None, max_length=32, description="The code the recipient showed.")
    signature_sha256: str | None = Field(
        None, pattern=r"^[0-9a-f]{64}$", description="Digest of the signature image."
    )
    photo_sha256: str | None = Field(
        None, pattern=r"^[0-9a-f]{64}$", description="Digest of the photo taken."
    )


class Handover(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: Literal["recipient", "station", "locker"] = "recipient"
    consent: bool = Field(False, description="The recipient agreed to collect it at the station or locker.")


class DriverEventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event_id: uuid.UUID = Field(description="A UUID the phone made; sending it again is a no-op.")
    waybill_no: str | None = Field(None, min_length=1, max_length=40, description="Not for route events.")
    type: Literal["delivered", "failed", "picked_up", "route_start", "route_end"]
    occurred_at: datetime = Field(description="Device time, ISO 8601 with offset.")
    reason: FailureReason | None = Field(None, description="Why a delivery failed (type failed).")
    proof: Proof | None = None
    handover: Handover | None = None


def _status(
    event: DriverEventIn, preference: str | None = None
) -> tuple[ParcelStatus | None, str | None, str | None]:
    """(status, field, reason): the canonical status of a valid event, else the field and reason.
    ``preference`` is the parcel's delivery preference: the same kind of hand-over is consent on file."""
    if event.type == "failed":
        if event.reason is None:
            return None, "reason", "a failed attempt needs its reason"
        return ParcelStatus.FAILED_ATTEMPT, None, None
    if event.type == "picked_up":
        return ParcelStatus.PICKED_UP, None, None
    handover = event.handover or Handover()
    if handover.to == "recipient":
        return ParcelStatus.DELIVERED_RECIPIENT, None, None
    if not handover.consent and preference != handover.to:
        return (
            None,
            "handover.consent",
            "leaving a parcel at a station or locker needs the recipient's consent",
        )
    return ParcelStatus.AT_STATION, None, None


def record_events(
    session: Session, *, driver: DriverContext, events: list[Any], now: datetime | None = None
) -> dict[str, Any]:
    """Record the driver's events; returns ``accepted`` (index, waybill, status, ``recorded`` or
    ``duplicate``), ``rejected`` (index, field, reason) and a summary."""
    now = now or utcnow()
    on_manifest: dict[str, list[Parcel]] = {}
    for parcel in session.execute(
        select(Parcel)
        .join(ManifestParcel, ManifestParcel.parcel_id == Parcel.id)
        .join(Manifest, Manifest.id == ManifestParcel.manifest_id)
        .where(Manifest.driver_id == driver.driver_id, Manifest.superseded_at.is_(None))
    ).scalars():
        on_manifest.setdefault(parcel.waybill_no, []).append(parcel)

    rejected: list[dict[str, Any]] = []
    pending: list[tuple[int, DriverEventIn, Parcel, ParcelStatus]] = []
    routes: list[tuple[int, DriverEventIn]] = []
    for index, raw in enumerate(events):
        try:
            event = DriverEventIn.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            rejected.append(
                {
                    "index": index,
                    "field": ".".join(str(p) for p in first["loc"]) or "event",
                    "reason": first["msg"],
                }
            )
            continue
        if event.type in ("route_start", "route_end"):
            routes.append((index, event))
            continue
        if event.waybill_no is None:
            rejected.append(
                {"index": index, "field": "waybill_no", "reason": "a parcel event names its waybill"}
            )
            continue
        candidates = on_manifest.get(event.waybill_no, [])
        if len(candidates) != 1:
            reason = (
                "not on your current manifest" if not candidates else "two parcels on your manifest share it"
            )
            rejected.append({"index": index, "field": "waybill_no", "reason": reason})
            continue
        parcel = candidates[0]
        if event.occurred_at.tzinfo is None:
            rejected.append({"index": index, "field": "occurred_at", "reason": "needs a UTC offset"})
            continue
        if event.occurred_at > now + FUTURE_TOLERANCE:
            rejected.append({"index": index, "field": "occurred_at", "reason": "event time is in the future"})
            continue
        if (event.type == "picked_up") != (parcel.direction is Direction.PICKUP):
            wrong = (
                "picked_up is for produce to collect"
                if event.type == "picked_up"
                else "this parcel is a pickup"
            )
            rejected.append({"index": index, "field": "type", "reason": wrong})
            continue
        status, bad_field, why = _status(event, parcel.delivery_preference)
        if status is None:
            rejected.append({"index": index, "field": bad_field, "reason": why})
            continue
        pending.append((index, event, parcel, status))

    rows = [
        {
            "parcel_id": parcel.id,
            "carrier_id": parcel.carrier_id,
            "kind": EventKind.SCAN,
            "status": status,
            "raw_code": event.type,
            "raw_namespace": "driver",
            "event_key": f"driver:{event.event_id}",
            "occurred_at": event.occurred_at,
            "recorded_at": now,
            "failure_reason": event.reason,
            "pickup_code": event.proof.pickup_code if event.proof else None,
            "description": _proof_text(event),
            "actor": f"driver:{driver.driver_id}",
            "changed_fields": None,
        }
        for _index, event, parcel, status in sorted(pending, key=lambda p: (str(p[2].id), str(p[1].event_id)))
    ]
    inserted: set[tuple[Any, str]] = set()
    if rows:
        stmt = (
            dialect_insert(session)(ParcelEvent)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["parcel_id", "event_key"])
            .returning(ParcelEvent.id, ParcelEvent.parcel_id, ParcelEvent.event_key)
        )
        new_rows = list(session.execute(stmt))
        inserted = {(r.parcel_id, r.event_key) for r in new_rows}
        carriers = {parcel.id: parcel for _i, _e, parcel, _s in pending}
        # The carriers hear of each new scan: queued in this transaction, sent after it (in event order).
        callbacks.enqueue(
            session,
            events=[
                (r.id, carriers[r.parcel_id].operator_id, carriers[r.parcel_id].carrier_id, r.parcel_id)
                for r in sorted(new_rows, key=lambda r: r.id)
            ],
        )
    accepted: list[dict[str, Any]] = []
    latest: dict[uuid.UUID, tuple[datetime, ParcelStatus]] = {}
    done: dict[uuid.UUID, datetime] = {}
    for index, event, parcel, status in pending:
        key = (parcel.id, f"driver:{event.event_id}")
        fresh = key in inserted
        inserted.discard(key)
        accepted.append(
            {
                "index": index,
                "event_id": str(event.event_id),
                "waybill_no": event.waybill_no,
                "status": status.value,
                "result": "recorded" if fresh else "duplicate",
            }
        )
        if fresh and (parcel.id not in latest or event.occurred_at >= latest[parcel.id][0]):
            latest[parcel.id] = (event.occurred_at, status)
        if fresh and status in tracking.DONE_STATUSES:
            done[parcel.id] = min(done.get(parcel.id, event.occurred_at), event.occurred_at)
    tracking.move_statuses(session, latest, now=now, done=done)
    for index, event in routes:
        outcome = _route_event(session, driver=driver, event=event, now=now)
        if isinstance(outcome, str):
            accepted.append(
                {
                    "index": index,
                    "event_id": str(event.event_id),
                    "waybill_no": None,
                    "status": event.type,
                    "result": outcome,
                }
            )
        else:
            rejected.append({"index": index, "field": outcome[0], "reason": outcome[1]})
    accepted.sort(key=lambda a: a["index"])
    rejected.sort(key=lambda r: r["index"])
    recorded = sum(a["result"] == "recorded" for a in accepted)
    return {
        "accepted": accepted,
        "rejected": rejected,
        "summary": {
            "received": len(events),
            "recorded": recorded,
            "duplicate": len(accepted) - recorded,
            "rejected": len(rejected),
        },
    }


def _proof_text(event: DriverEventIn) -> str | None:
    parts = []
    if event.handover is not None and event.handover.to != "recipient":
        given = "consent" if event.handover.consent else "consent on file (their delivery preference)"
        parts.append(f"left at the {event.handover.to} with the recipient's {given}")
    if event.proof is not None:
        if event.proof.signature_sha256:
            parts.append(f"signature sha256:{event.proof.signature_sha256}")
        if event.proof.photo_sha256:
            parts.append(f"photo sha256:{event.proof.photo_sha256}")
    return "; ".join(parts)[:500] or None


def _route_event(
    session: Session, *, driver: DriverContext, event: DriverEventIn, now: datetime
) -> str | tuple[str, str]:
    """Record the start or end of the driver's current route: ``recorded``, ``duplicate`` (already set to
    this time), or (field, reason) when it cannot be."""
    if event.occurred_at.tzinfo is None:
        return "occurred_at", "needs a UTC offset"
    if event.occurred_at > now + FUTURE_TOLERANCE:
        return "occurred_at", "event time is in the future"
    try:
        manifest = manifests.current_manifest(session, driver=driver)
    except NotFound:
        return "type", "no manifest is published for you"
    column = "started_at" if event.type == "route_start" else "ended_at"
    current = getattr(manifest, column)
    if current is not None:
        return (
            "duplicate"
            if current == event.occurred_at
            else ("type", f"the route was already {column[:-3]}ed")
        )
    if column == "ended_at" and manifest.started_at is not None and event.occurred_at < manifest.started_at:
        return "occurred_at", "the route cannot end before it started"
    setattr(manifest, column, event.occurred_at)
    session.flush()
    return "recorded"


_IMAGE_MAGIC = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)


def image_type(data: bytes) -> str | None:
    """``image/jpeg``, ``image/png`` or ``image/webp`` by the file's own first bytes; None otherwise."""
    for magic, kind in _IMAGE_MAGIC:
        if data.startswith(magic):
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def store_photo(
    session: Session, *, driver: DriverContext, sha256: str, data: bytes, max_bytes: int
) -> tuple[DeliveryPhoto, bool]:
    """Keep a proof-of-delivery photo under its digest; (the row, whether it is new). Uploading the same
    photo again is a no-op. ``ValidationFailed`` naming ``sha256`` when the bytes have another digest,
    ``body`` when they are empty, too large or not a JPEG, PNG or WebP image."""
    sha256 = sha256.lower()
    if not data:
        raise ValidationFailed.on("body", "empty")
    if len(data) > max_bytes:
        raise ValidationFailed.on("body", f"{len(data)} bytes; at most {max_bytes}")
    kind = image_type(data)
    if kind is None:
        raise ValidationFailed.on("body", "not a JPEG, PNG or WebP image")
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256:
        raise ValidationFailed.on("sha256", f"the photo's SHA-256 is {actual}")
    found = session.get(DeliveryPhoto, (driver.operator_id, sha256))
    if found is not None:
        return found, False
    photo = DeliveryPhoto(
        operator_id=driver.operator_id,
        sha256=sha256,
        driver_id=driver.driver_id,
        content_type=kind,
        size_bytes=len(data),
        data=data,
    )
    session.add(photo)
    session.flush()
    return photo, True


def get_photo(session: Session, *, operator_id: uuid.UUID, sha256: str) -> DeliveryPhoto:
    """The operator's photo with this digest; ``NotFound`` otherwise (another operator's included)."""
    photo = session.get(DeliveryPhoto, (operator_id, sha256.lower()))
    if photo is None:
        raise NotFound(f"photo {sha256} not found")
    return photo
