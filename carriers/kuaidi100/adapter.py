"""kuaidi100 (快递100): subscription pushes in, our events out as kuaidi100 ``data[]`` entries."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from carriers.base import (
    CarrierPayloadError,
    Severity,
    beijing,
    declared_site_type,
    digest_matches,
    failure_of,
    form_field,
    is_form,
    json_field,
    load_form,
    load_json,
    md5_hex,
    parse_time,
    pickup_code_in,
    present,
    text,
)
from carriers.common import (
    Adapter,
    FieldProblem,
    event_waybill,
    field_value,
    read_problem,
    verify_form,
)
from carriers.kuaidi100 import codes, schema
from carriers.unified import FAILURE_STATUSES, FailureReason, ParcelStatus, SiteType, TrackingEvent

_OLDER = "_older"  # set on entries that are not the newest of their push
_NO_STATUS = "older entry has no status; lastResult.state belongs to the newest entry only"


class Kuaidi100Adapter(Adapter):
    code = "kuaidi100"
    label = "kuaidi100"
    field_names = schema.FIELD_NAMES
    manifest_columns = schema.MANIFEST_COLUMNS
    tracking_only = True

    # ---- events ----------------------------------------------------------------------------------------
    def trace_records(self, raw: bytes, content_type: str) -> list[Any]:
        if is_form(content_type):
            payload = json_field(form_field(load_form(raw), "param"), "param")
        else:
            payload = load_json(raw)
            if isinstance(payload, dict) and "param" in payload and "lastResult" not in payload:
                payload = json_field(payload["param"], "param")
        if isinstance(payload, dict) and "lastResult" in payload:
            result = payload["lastResult"]
            if not isinstance(result, dict):
                raise CarrierPayloadError("lastResult must be an object", field="lastResult")
            com = text(result.get("com"))
            if text(payload.get("autoCheck")) == "1" and text(payload.get("comNew")):
                com = text(payload.get("comNew"))
            return _entries(result, com)
        if isinstance(payload, dict) and "data" in payload and "nu" in payload:
            return _entries(payload, text(payload.get("com")))
        if isinstance(payload, dict):
            return [payload]
        if isinstance(payload, list):
            return payload
        raise CarrierPayloadError("expected the push param, lastResult, or data[] entries", field="param")

    def to_event(self, trace: dict[str, Any]) -> TrackingEvent:
        waybill = event_waybill(trace.get("nu"), "nu")
        status_text = text(trace.get("status"))
        implied: FailureReason | None = None
        if status_text:
            known = codes.STATUS_TEXT.get(status_text)
            if known is None:
                raise FieldProblem("status", f"unknown kuaidi100 status {status_text[:20]!r}")
            status, implied = known
            raw_code = status_text
        else:
            state = text(trace.get("state"))
            if not state and trace.get(_OLDER):
                raise FieldProblem("status", _NO_STATUS, severity=Severity.WARNING)
            if not state:
                raise FieldProblem("status", "required")
            found = codes.STATE.get(state)
            if found is None:
                raise FieldProblem("state", f"unknown kuaidi100 state {state[:20]!r}")
            status, raw_code = found, state
        time_field = "ftime" if text(trace.get("ftime")) else "time"
        occurred = field_value(time_field, parse_time, trace.get(time_field))

        context = text(trace.get("context"))
        fail_text = text(trace.get("failReason"))
        failure: FailureReason | None = None
        note: str | None = None
        if status in FAILURE_STATUSES:  # 疑难 says little: the carrier's text may say more
            status, failure, note = read_problem(
                status,
                codes.FAILURES,
                stated=fail_text,
                implied=implied,
                implied_name=status_text,
                context=context,
            )
        com = text(trace.get("com"))
        return TrackingEvent(
            waybill_no=waybill,
            status=status,
            occurred_at=occurred,
            raw_code=raw_code,
            raw_namespace=f"{codes.NAMESPACE}:{com}"[:32] if com else codes.NAMESPACE,
            description=context,
            site_no=text(trace.get("siteNo")),
            site_name=text(trace.get("siteName")),
            site_type=_site_type(trace.get("siteType"), status, status_text),
            city=text(trace.get("areaName")),
            failure_reason=failure,
            failure_note=note,
            pickup_code=text(trace.get("pickupCode")) or pickup_code_in(context),
            signer=text(trace.get("signer")),
        )

    def render_event(self, event: TrackingEvent) -> dict[str, object]:
        state, status_text = self.outbound(codes.OUTBOUND, event, "state")
        if event.status is ParcelStatus.DELIVERED_AGENT and event.site_type in (
            SiteType.STATION,
            SiteType.LOCKER,
        ):
            status_text = codes.AGENT_AT_SITE_TEXT
        moment = beijing(event.occurred_at)
        entry: dict[str, object] = {
            "time": moment,
            "ftime": moment,
            "context": event.description or "",
            "areaName": event.city or "",
            "status": status_text,
            "state": state,
            "nu": event.waybill_no,
            "siteNo": event.site_no or "",
            "siteName": event.site_name or "",
            "siteType": (event.site_type or SiteType.OTHER).value,
        }
        if event.status in FAILURE_STATUSES:
            entry["failReason"] = codes.FAILURES.write(failure_of(event), event.failure_note)
        entry.update(present(pickupCode=event.pickup_code, signer=event.signer))
        return entry

    def verify_signature(
        self, raw: bytes, content_type: str, headers: Mapping[str, str], secret: str
    ) -> bool | None:
        """``sign = MD5(param + salt)`` in hex, compared without regard to case; None for a JSON body."""

        def matches(form: dict[str, str], given: str) -> bool:
            return digest_matches(md5_hex(form.get("param", "") + secret).upper(), given.upper())

        return verify_form(raw, content_type, "sign", matches)


def _entries(result: dict[str, Any], com: str | None) -> list[Any]:
    data = result.get("data")
    if data is None:
        return []  # e.g. an ``abort`` push: no trace yet
    if not isinstance(data, list):
        raise CarrierPayloadError("lastResult.data must be an array", field="data")
    newest = _newest(data)
    entries: list[Any] = []
    for index, entry in enumerate(data):
        if not isinstance(entry, dict):
            entries.append(entry)
            continue
        merged = dict(entry)
        merged.setdefault("nu", result.get("nu"))
        if com:
            merged.setdefault("com", com)
        if index == newest:
            merged.setdefault("state", result.get("state"))
        else:
            merged[_OLDER] = True
        entries.append(merged)
    return entries


def _newest(data: list[Any]) -> int:
    best: tuple[datetime, int] | None = None
    for index, entry in enumerate(data):
        if not isinstance(entry, dict):
            continue
        try:
            moment = parse_time(entry.get("ftime") or entry.get("time"))
        except ValueError:
            continue
        if best is None or moment > best[0]:
            best = (moment, index)
    return best[1] if best else 0


def _site_type(declared: Any, status: ParcelStatus, status_text: str | None) -> SiteType | None:
    if site_type := declared_site_type(declared):
        return site_type
    if status is ParcelStatus.AT_STATION or status_text == codes.AGENT_AT_SITE_TEXT:
        return SiteType.STATION
    if status is ParcelStatus.OUT_FOR_DELIVERY:
        return SiteType.VEHICLE
    return None


ADAPTER = Kuaidi100Adapter()
