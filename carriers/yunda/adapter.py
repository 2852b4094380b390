"""Yunda (韵达): order-API parcels, manifest files, trace pushes, events rendered as Yunda trace steps."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

from carriers.base import (
    as_list,
    beijing,
    declared_site_type,
    digest_matches,
    kg_to_grams,
    load_json,
    mentions,
    parse_time,
    present,
    receiver_address,
    text,
    yuan_to_fen,
)
from carriers.common import Adapter, FieldProblem, field_value, object_field, parcel_list, record_object
from carriers.unified import (
    FailureReason,
    ParcelStatus,
    SiteType,
    TrackingEvent,
)
from carriers.yunda import codes, schema

_SITE_WORDS: tuple[tuple[str, SiteType], ...] = (
    ("共配", SiteType.COUNTY_CENTER),
    ("快递柜", SiteType.LOCKER),
    ("柜", SiteType.LOCKER),
    ("驿站", SiteType.STATION),
    ("代收点", SiteType.STATION),
    ("服务站", SiteType.STATION),
    ("中转", SiteType.HUB),
    ("分拨", SiteType.HUB),
    ("网点", SiteType.HUB),
)


class YundaAdapter(Adapter):
    code = "yunda"
    label = "Yunda"
    waybill_pattern = re.compile(r"[34]\d{14}|5\d{12}|3\d{12}")
    field_names = schema.FIELD_NAMES
    manifest_columns = schema.MANIFEST_COLUMNS

    # ---- parcels ---------------------------------------------------------------------------------------
    def parcel_records(self, payload: Any) -> list[Any]:
        return parcel_list(
            payload, "orders", single=("mailno",), expected='{"orders": [...]} or an array of orders'
        )

    def to_unified(self, record: Any) -> dict[str, Any]:
        record = record_object(record, "order")
        receiver = object_field(record, "receiver")
        unified: dict[str, Any] = {
            "waybill_no": text(record.get("mailno")) or "",
            "recipient": {
                "name": text(receiver.get("name")) or "",
                "phone": text(receiver.get("mobile")) or text(receiver.get("phone")) or "",
            },
            "address": receiver_address(receiver, "address", ("province", "city", "county")),
        }
        if record.get("weight") in (None, ""):
            raise FieldProblem("weight", "required (kg)")
        unified["weight_g"] = field_value("weight", kg_to_grams, record["weight"])
        if position := text(record.get("position")):
            unified["sort_hint"] = position
        if record.get("collection_value") not in (None, ""):
            unified["cod_fen"] = field_value("collection_value", yuan_to_fen, record["collection_value"])
        if record.get("value") not in (None, ""):
            unified["declared_value_fen"] = field_value("value", yuan_to_fen, record["value"])
        return unified

    # ---- events ----------------------------------------------------------------------------------------
    def trace_records(self, raw: bytes, content_type: str) -> list[Any]:
        payload = load_json(raw)
        if isinstance(payload, dict) and "data" in payload and "mailno" not in payload:
            payload = payload["data"]  # the query reply's shape
        if isinstance(payload, dict) and "orders" in payload and "mailno" not in payload:
            payload = payload["orders"]
        records: list[Any] = []
        for order in as_list(payload, where="orders"):
            if not isinstance(order, dict) or "steps" not in order:
                records.append(order)  # a bare step (or garbage, reported per record)
                continue
            steps = order["steps"]
            if not isinstance(steps, list):
                records.append(order)  # to_event reports the bad ``steps``
                continue
            for step in steps:
                if isinstance(step, dict) and "steps" not in step:
                    step = {**step}
                    if text(step.get("mailno")) is None:
                        step["mailno"] = order.get("mailno")
                    if text(step.get("orderid")) is None and "orderid" in order:
                        step["orderid"] = order.get("orderid")
                records.append(step)
        return records

    def to_event(self, trace: dict[str, Any]) -> TrackingEvent:
        if "steps" in trace:
            raise FieldProblem("steps", "must be an array of step objects")
        waybill = text(trace.get("mailno"))
        if not waybill:
            raise FieldProblem("mailno", "required")
        field = "action" if text(trace.get("action")) else "scanType"
        action = text(trace.get(field))
        if not action:
            raise FieldProblem("action", "required")
        code = action.upper()  # matched without case; the raw code is kept as sent
        status = codes.INBOUND.get(code)
        if status is None:
            raise FieldProblem(field, f"unknown Yunda action {action!r}")
        occurred = field_value("time", parse_time, trace.get("time"))
        description = text(trace.get("description")) or text(trace.get("remark"))
        reason_text = text(trace.get("reason"))
        signer = text(trace.get("signer"))
        if status is ParcelStatus.DELIVERED_RECIPIENT and _signed_by_agent(trace, signer):
            status = ParcelStatus.DELIVERED_AGENT
        failure = None
        if code in codes.WITH_REASON:
            failure = codes.FAILURES.reason(reason_text, description) or FailureReason.OTHER
            if status is ParcelStatus.REFUSED:
                failure = FailureReason.REFUSED
        return TrackingEvent(
            waybill_no=waybill.upper(),
            status=status,
            occurred_at=occurred,
            raw_code=action,
            raw_namespace=codes.NAMESPACE,
            description=description,
            site_no=text(trace.get("station_no")),
            site_name=text(trace.get("station_name")),
            site_type=_site_type(text(trace.get("station_type")), code),
            city=text(trace.get("city")),
            failure_reason=failure,
            failure_note=(reason_text or description) if failure else None,
            pickup_code=text(trace.get("pickup_code")),
            signer=signer,
            event_id=text(trace.get("step_id")),
        )

    def render_event(self, event: TrackingEvent) -> dict[str, object]:
        """Our event as one Yunda step carrying its ``mailno`` (schema.py); raises ``CarrierPayloadError``
        for a status Yunda has no action for (announced, cancelled)."""
        action = self.outbound(codes.OUTBOUND, event, "trace action")
        step: dict[str, object] = {
            "mailno": event.waybill_no,
            "action": action,
            "time": beijing(event.occurred_at),
            "description": event.description or "",
            "city": event.city or "",
            "station_no": event.site_no or "",
            "station_name": event.site_name or "",
            "station_type": (event.site_type or SiteType.OTHER).value,
        }
        if event.failure_reason is not None:
            step["reason"] = codes.FAILURES.write(event.failure_reason, event.failure_note)
        if action == "SIGNED":
            agent = event.status is ParcelStatus.DELIVERED_AGENT
            step["signer_type"] = codes.SIGNER_AGENT if agent else codes.SIGNER_RECIPIENT
        step.update(present(signer=event.signer, pickup_code=event.pickup_code, step_id=event.event_id))
        return step

    def verify_signature(
        self, raw: bytes, content_type: str, headers: Mapping[str, str], secret: str
    ) -> bool | None:
        """Whether header ``sign`` is ``MD5hex(body + "_" + secret)`` over the exact body bytes."""
        given = headers.get("sign")
        if given is None:
            return False
        expected = hashlib.md5(raw + b"_" + secret.encode("utf-8")).hexdigest()
        return digest_matches(expected, given.lower())


def _signed_by_agent(trace: dict[str, Any], signer: str | None) -> bool:
    kind = text(trace.get("signer_type"))
    if kind is not None:
        return kind.lower() == codes.SIGNER_AGENT
    return mentions(codes.AGENT_MARKERS, signer)


def _site_type(declared: str | None, action: str) -> SiteType | None:
    if site_type := declared_site_type(declared):
        return site_type
    for word, kind in _SITE_WORDS:
        if declared and word in declared:
            return kind
    if action in ("INBOUND", "OUTBOUND"):
        return SiteType.STATION
    if action in ("ARRIVAL", "DEPARTURE"):
        return SiteType.HUB
    if action == "SENT":
        return SiteType.VEHICLE
    return None


ADAPTER = YundaAdapter()
