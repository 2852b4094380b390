"""kuaidi100 (快递100): subscription pushes in, our events out as kuaidi100 ``data[]`` entries."""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from carriers.base import (
    CarrierPayloadError,
    ParseResult,
    Severity,
    beijing,
    digest_matches,
    is_form,
    load_form,
    load_json,
    parse_time,
    text,
)
from carriers.common import Adapter, FieldProblem
from carriers.kuaidi100 import codes, schema
from carriers.unified import FailureReason, ParcelStatus, SiteType, TrackingEvent

_WAYBILL = re.compile(r"[A-Z0-9][A-Z0-9-]{3,39}")
_PICKUP_CODE = re.compile(r"(?:取件码|取货码|提货码|取件号)[：:\s]*([A-Za-z0-9][A-Za-z0-9-]{0,31})")
_OLDER = "_older"  # set on entries that are not the newest of their push
_NO_STATUS = "older entry has no status; lastResult.state belongs to the newest entry only"
_FAILURES = (ParcelStatus.FAILED_ATTEMPT, ParcelStatus.EXCEPTION, ParcelStatus.REFUSED)


class Kuaidi100Adapter(Adapter):
    code = "kuaidi100"
    label = "kuaidi100"
    field_names = schema.FIELD_NAMES
    manifest_columns = schema.MANIFEST_COLUMNS

    def parse_parcels(self, raw: bytes, content_type: str) -> ParseResult:
        """Always ``CarrierPayloadError``: an aggregator carries tracking, never parcels or manifests."""
        raise CarrierPayloadError("kuaidi100 carries tracking only", field="kind")

    def parse_events(self, raw: bytes, content_type: str) -> ParseResult:
        """Events of a push; an older entry without a status is a warning (its status is not in the push)."""
        result = super().parse_events(raw, content_type)
        issues = tuple(
            dataclasses.replace(issue, severity=Severity.WARNING) if issue.reason == _NO_STATUS else issue
            for issue in result.issues
        )
        return dataclasses.replace(result, issues=issues)

    # ---- events ----------------------------------------------------------------------------------------
    def trace_records(self, raw: bytes, content_type: str) -> list[Any]:
        if is_form(content_type):
            form = load_form(raw)
            if "param" not in form:
                raise CarrierPayloadError("form has no 'param' field", field="param")
            payload = _param_json(form["param"])
        else:
            payload = load_json(raw)
            if isinstance(payload, dict) and "param" in payload and "lastResult" not in payload:
                payload = _param_json(payload["param"])
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
        waybill = text(trace.get("nu"))
        if not waybill:
            raise FieldProblem("nu", "required")
        waybill = waybill.upper()
        if not _WAYBILL.fullmatch(waybill):
            raise FieldProblem("nu", "must be 4 to 40 letters, digits or hyphens")
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
            if not state:
                raise FieldProblem("status", _NO_STATUS if trace.get(_OLDER) else "required")
            found = codes.STATE.get(state)
            if found is None:
                raise FieldProblem("state", f"unknown kuaidi100 state {state[:20]!r}")
            status, raw_code = found, state
        time_field = "ftime" if text(trace.get("ftime")) else "time"
        try:
            occurred = parse_time(trace.get(time_field))
        except ValueError as exc:
            raise FieldProblem(time_field, str(exc)) from exc

        context = text(trace.get("context"))
        fail_text = text(trace.get("failReason"))
        failure: FailureReason | None = None
        note: str | None = None
        if status in _FAILURES:
            failure = (
                codes.failure_from_text(fail_text)
                or implied
                or (FailureReason.REFUSED if status is ParcelStatus.REFUSED else None)
                or codes.failure_from_text(context)
                or FailureReason.OTHER
            )
            note = fail_text or (status_text if implied else None)
            if status is ParcelStatus.EXCEPTION and implied is None and fail_text is None:
                status = _refined(failure)  # 疑难 says little; the carrier's text may say more
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
            pickup_code=text(trace.get("pickupCode")) or _pickup_code_in(context),
            signer=text(trace.get("signer")),
        )

    def render_event(self, event: TrackingEvent) -> dict[str, object]:
        found = codes.OUTBOUND.get(event.status)
        if found is None:
            raise CarrierPayloadError(f"kuaidi100 has no state for {event.status.value}", field="status")
        state, status_text = found
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
        if event.status in _FAILURES:
            reason = event.failure_reason or (
                FailureReason.REFUSED if event.status is ParcelStatus.REFUSED else FailureReason.OTHER
            )
            entry["failReason"] = codes.FAILURE_TEXT[reason] + (
                f"：{event.failure_note}" if event.failure_note else ""
            )
        if event.pickup_code:
            entry["pickupCode"] = event.pickup_code
        if event.signer:
            entry["signer"] = event.signer
        return entry

    def verify_signature(
        self, raw: bytes, content_type: str, headers: Mapping[str, str], secret: str
    ) -> bool | None:
        """``sign = MD5(param + salt)`` in hex, compared without regard to case; None for a JSON body."""
        if not is_form(content_type):
            return None
        form = load_form(raw)
        given = form.get("sign")
        if given is None:
            return False
        expected = hashlib.md5((form.get("param", "") + secret).encode("utf-8")).hexdigest().upper()
        return digest_matches(expected, given.upper())


def _refined(reason: FailureReason) -> ParcelStatus:
    if reason is FailureReason.REFUSED:
        return ParcelStatus.REFUSED
    if reason in codes.ATTEMPT_REASONS:
        return ParcelStatus.FAILED_ATTEMPT
    return ParcelStatus.EXCEPTION


def _param_json(value: Any) -> Any:
    if isinstance(value, dict):
        return value
    if not isinstance(value, str):
        raise CarrierPayloadError("param must be JSON text", field="param")
    try:
        return load_json(value.encode("utf-8"))
    except CarrierPayloadError as exc:
        raise CarrierPayloadError(f"param: {exc.reason}", field="param") from exc


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
    value = text(declared)
    if value:
        try:
            return SiteType(value)
        except ValueError:
            pass
    if status is ParcelStatus.AT_STATION or status_text == codes.AGENT_AT_SITE_TEXT:
        return SiteType.STATION
    if status is ParcelStatus.OUT_FOR_DELIVERY:
        return SiteType.VEHICLE
    return None


def _pickup_code_in(value: str | None) -> str | None:
    if not value:
        return None
    match = _PICKUP_CODE.search(value)
    return match.group(1) if match else None


ADAPTER = Kuaidi100Adapter()
