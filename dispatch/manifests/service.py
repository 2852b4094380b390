"""Publishing a draft plan as manifests, and the driver's view of their current manifest.

Publishing is idempotent: the plan row is locked, and a plan already published answers with the manifests
it made (the first committed publish wins). For each route it writes the vehicle's next manifest version
for the service day, superseding the current one, and records the parcels on it; a parcel on a current
manifest is on a published route, and no later plan takes it.

A manifest is what the driver's phone shows: stops in order with ETAs; per stop the parcels grouped by
carrier with the recipient masked (隐私面单), COD to collect, cold-chain flags, produce to pick up; the
loading order (last stop loaded first) and the crate sort plan for the depot.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import threading
import uuid
from collections import OrderedDict, defaultdict
from datetime import date
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from carriers.unified import Direction, Temperature
from dispatch.accounts.service import DeskContext
from dispatch.config import Settings
from dispatch.db import utcnow
from dispatch.errors import Conflict, NotFound
from dispatch.fleet.service import DriverContext
from dispatch.models import Manifest, ManifestParcel, Parcel, Plan, PlanStatus
from dispatch.notifications import service as notifications
from dispatch.privacy import mask_name, mask_phone


def publish(
    session: Session, *, desk: DeskContext, plan_id: uuid.UUID, settings: Settings
) -> tuple[Plan, list[Manifest]]:
    """Turn a draft into manifests (one per route). Raises ``NotFound`` for another operator's or an
    unknown plan, ``Conflict`` for a plan that is not a draft (still solving, failed)."""
    plan = session.get(Plan, plan_id, with_for_update=True)
    if plan is None or plan.operator_id != desk.operator_id:
        raise NotFound(f"plan {plan_id} not found")
    if plan.status is PlanStatus.PUBLISHED:
        made = session.execute(
            select(Manifest).where(Manifest.plan_id == plan.id).order_by(Manifest.created_at)
        )
        return plan, list(made.scalars())
    if plan.status is not PlanStatus.DRAFT or plan.result is None:
        raise Conflict(
            f"plan is {plan.status.value}; only a draft can be published",
            errors=[{"field": "status", "reason": f"is {plan.status.value}, not draft"}],
        )
    now = utcnow()
    wave_key = plan.wave or 0
    routes = plan.result.get("routes", [])
    parcel_ids = [uuid.UUID(p) for r in routes for t in r["trips"] for s in t["stops"] for p in s["parcels"]]
    rows = {str(p.id): p for p in session.execute(select(Parcel).where(Parcel.id.in_(parcel_ids))).scalars()}
    manifests: list[Manifest] = []
    for route in routes:
        vehicle_id = uuid.UUID(route["vehicle_id"])
        same_route = (
            Manifest.vehicle_id == vehicle_id,
            Manifest.service_date == plan.service_date,
            Manifest.wave_key == wave_key,
        )
        current = session.execute(select(func.max(Manifest.version)).where(*same_route)).scalar_one()
        session.execute(
            update(Manifest).where(*same_route, Manifest.superseded_at.is_(None)).values(superseded_at=now)
        )
        version = (current or 0) + 1
        content = manifest_content(plan, route, rows, version=version)
        body = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        manifest = Manifest(
            operator_id=plan.operator_id,
            plan_id=plan.id,
            vehicle_id=vehicle_id,
            driver_id=uuid.UUID(route["driver_id"]) if route.get("driver_id") else None,
            service_date=plan.service_date,
            wave_key=wave_key,
            version=version,
            content=content,
            etag=hashlib.sha256(body.encode()).hexdigest()[:32],
            route_facts=route_facts(route),
            created_at=now,
        )
        session.add(manifest)
        session.flush()
        seq = {stop["stop_id"]: i for i, stop in enumerate(s for t in route["trips"] for s in t["stops"])}
        session.add_all(
            ManifestParcel(manifest_id=manifest.id, parcel_id=uuid.UUID(pid), stop_seq=seq[stop["stop_id"]])
            for trip in route["trips"]
            for stop in trip["stops"]
            for pid in stop["parcels"]
        )
        manifests.append(manifest)
    plan.status, plan.updated_at = PlanStatus.PUBLISHED, now
    session.flush()
    # Each driver is told, in this transaction: the inbox at once, webhook and SMS after the commit.
    notifications.notify(
        session,
        settings=settings,
        operator_id=plan.operator_id,
        messages=[
            (
                m.driver_id,
                m.id,
                {
                    "kind": "manifest",
                    "manifest_id": str(m.id),
                    "version": m.version,
                    "supersedes_earlier": m.version > 1,
                    "plate": m.content["plate"],
                    "service_date": m.service_date.isoformat(),
                    "text": f"{m.service_date.isoformat()} {m.content['plate']} 派送单"
                    + ("已更新" if m.version > 1 else "已发布")
                    + f"(第{m.version}版),请打开司机端查看。",
                },
            )
            for m in manifests
            if m.driver_id is not None
        ],
    )
    return plan, manifests


def route_facts(route: dict[str, Any]) -> dict[str, Any]:
    """What settling a published route needs, from the plan's route: its distance, its stops, and how its
    cost divides among its carriers (the rule and each carrier's weight, fixed when the plan was made)."""
    stops = [s for t in route["trips"] for s in t["stops"]]
    weights, rule = route.get("split_weights"), route.get("split_rule")
    if weights is None:  # a draft made before weights were kept: by pieces
        counts: dict[str, int] = defaultdict(int)
        for stop in stops:
            for carrier_id, pieces in stop.get("parcels_by_carrier", {}).items():
                counts[carrier_id] += pieces
        weights, rule = {carrier_id: str(n) for carrier_id, n in counts.items()}, "per_piece"
    return {
        "distance_m": route["distance_m"],
        "stops": len(stops),
        "split_rule": rule,
        "split_weights": weights,
    }


def manifest_content(
    plan: Plan, route: dict[str, Any], parcels: dict[str, Parcel], *, version: int
) -> dict[str, Any]:
    """The driver's view of one route: no recipient name or phone in the clear, ever."""
    stops_out: list[dict[str, Any]] = []
    seq = 0
    for trip_no, trip in enumerate(route["trips"], start=1):
        for stop in trip["stops"]:
            seq += 1
            by_carrier: dict[str, list[dict[str, Any]]] = defaultdict(list)
            pickups: list[dict[str, Any]] = []
            cod = 0
            for pid in stop["parcels"]:
                parcel = parcels.get(pid)
                if parcel is None:
                    continue
                item = {
                    "waybill_no": parcel.waybill_no,
                    "recipient": {
                        "name": mask_name(parcel.recipient_name),
                        "phone": mask_phone(parcel.recipient_phone),
                    },
                    "pieces": parcel.pieces,
                    "weight_g": parcel.weight_g,
                    "cold_chain": parcel.temperature is not Temperature.AMBIENT,
                    "cod_fen": parcel.cod_fen,
                    "delivery_preference": parcel.delivery_preference,
                    # A station or locker the recipient chose is their consent to leave it there.
                    "consent_on_file": parcel.delivery_preference in ("station", "locker"),
                }
                if parcel.direction is Direction.PICKUP:
                    pickups.append({**item, "brand": parcel.brand.value})
                else:
                    by_carrier[parcel.brand.value].append(item)
                    cod += parcel.cod_fen
            stops_out.append(
                {
                    "seq": seq,
                    "trip": trip_no,
                    "stop_id": stop["stop_id"],
                    "station_id": stop["station_id"],
                    "station_name": stop["station_name"],
                    "eta": stop["eta"],
                    "cold_chain": stop["cold_chain"],
                    "crate": f"T{trip_no}-{seq:02d}",
                    "deliveries_by_carrier": dict(sorted(by_carrier.items())),
                    "pickups": pickups,
                    "cod_to_collect_fen": cod,
                }
            )
    loading = []
    for trip_no in range(1, len(route["trips"]) + 1):
        trip_stops = [s for s in stops_out if s["trip"] == trip_no]
        loading.append({"trip": trip_no, "load_first_to_last": [s["crate"] for s in reversed(trip_stops)]})
    return {
        "plan_id": str(plan.id),
        "service_date": plan.service_date.isoformat(),
        "version": version,
        "vehicle_id": route["vehicle_id"],
        "plate": route["plate"],
        "driver_id": route.get("driver_id"),
        "trips": [
            {"trip": i, "depart": t["depart"], "return": t["return"]} for i, t in enumerate(route["trips"], 1)
        ],
        "stops": stops_out,
        "loading_order": loading,
        "crate_sort_plan": [
            {
                "crate": s["crate"],
                "station_name": s["station_name"],
                "parcels": sum(len(v) for v in s["deliveries_by_carrier"].values()),
            }
            for s in stops_out
        ],
        "cod_to_collect_fen": sum(s["cod_to_collect_fen"] for s in stops_out),
    }


def _newest_current(driver: DriverContext, *columns: Any) -> Any:
    """SELECT ``columns`` of the driver's newest manifest that is not superseded."""
    return (
        select(*columns)
        .where(Manifest.driver_id == driver.driver_id, Manifest.superseded_at.is_(None))
        .order_by(Manifest.service_date.desc(), Manifest.version.desc())
        .limit(1)
    )


def current_manifest(session: Session, *, driver: DriverContext) -> Manifest:
    """The driver's newest current manifest; ``NotFound`` when nothing is published for them."""
    manifest: Manifest | None = session.execute(_newest_current(driver, Manifest)).scalar_one_or_none()
    if manifest is None:
        raise NotFound("no manifest is published for you")
    return manifest


_BODIES: OrderedDict[tuple[uuid.UUID, str], tuple[bytes, bytes]] = OrderedDict()
_BODIES_LOCK = threading.Lock()
_BODIES_MAX = 512
"""Serialised manifests kept per process, by (id, etag), as JSON and gzipped JSON: a manifest never changes
once written (a new version is a new row), so a phone asking again costs a key lookup, not a JSON round
trip, and a rural link carries about a sixth of the bytes."""


def current_manifest_body(session: Session, *, driver: DriverContext) -> tuple[str, bytes, bytes]:
    """(etag, JSON body, the body gzipped) of the driver's current manifest, made once per process."""
    row = session.execute(_newest_current(driver, Manifest.id, Manifest.etag)).one_or_none()
    if row is None:
        raise NotFound("no manifest is published for you")
    key = (row.id, row.etag)
    with _BODIES_LOCK:
        cached = _BODIES.get(key)
        if cached is not None:
            _BODIES.move_to_end(key)
            return row.etag, *cached
    content = session.execute(select(Manifest.content).where(Manifest.id == row.id)).scalar_one()
    body = json.dumps(
        {"manifest_id": str(row.id), **content}, ensure_ascii=False, separators=(",", ":")
    ).encode()
    packed = gzip.compress(body, compresslevel=6, mtime=0)
    with _BODIES_LOCK:
        _BODIES[key] = (body, packed)
        while len(_BODIES) > _BODIES_MAX:
            _BODIES.popitem(last=False)
    return row.etag, body, packed


def on_published_route(parcel_id: Any, *, except_wave: tuple[date, int] | None = None) -> Any:
    """SQL condition: the parcel is on a current (not superseded) manifest, i.e. on a published route —
    other than one of ``except_wave`` (service day, wave key), whose parcels a re-plan of that wave takes
    again (publishing it supersedes those manifests)."""
    stmt = (
        select(ManifestParcel.parcel_id)
        .join(Manifest, Manifest.id == ManifestParcel.manifest_id)
        .where(ManifestParcel.parcel_id == parcel_id, Manifest.superseded_at.is_(None))
    )
    if except_wave is not None:
        day, wave_key = except_wave
        stmt = stmt.where(~((Manifest.service_date == day) & (Manifest.wave_key == wave_key)))
    return stmt.exists()
