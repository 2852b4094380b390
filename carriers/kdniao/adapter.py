"""kdniao (快递鸟): trace pushes in, our events out as kdniao ``Traces[]`` entries."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import unquote

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
from carriers.kdniao import codes, schema
from carriers.unified import FailureReason, ParcelStatus, SiteType, TrackingEvent

_WAYBILL = re.compile(r"[A-Z0-9][A-Z0-9-]{3,39}")
_PICKUP_CODE = re.compile(r"(?:取件码|取货码|提货码|取件号)[：:\s]*([A-Za-z0-9][A-Za-z0-9-]{0,31})")
_OLDER = "_older"  # set on traces that are not the newest of their Data[] item
_BAD_TRACES = "_bad_traces"  # set on a stand-in record for an item whose Traces is not an array
_NO_STATUS = "older trace has no Action; the item's State/StateEx describe the newest trace only"
_FAILURES = (ParcelStatus.FAILED_ATTEMPT, ParcelStatus.EXCEPTION, ParcelStatus.REFUSED)


def data_sign(request_data: str, app_key: str) -> str:
    """``Base64(lower-case hex MD5(RequestData + AppKey))`` before URL encoding, as kdniao computes it."""
    digest = hashlib.md5((request_data + app_key).encode("utf-8")).hexdigest()
    return base64.b64encode(digest.encode("ascii")).decode("ascii")


class KdniaoAdapter(Adapter):
    code = "kdniao"
    label = "kdniao"
    field_names = schema.FIELD_NAMES
    manifest_columns = schema.MANIFEST_COLUMNS

    def parse_parcels(self, raw: bytes, content_type: str) -> ParseResult:
        """Always ``CarrierPayloadError``: an aggregator carries tracking, never parcels or manifests."""
        raise CarrierPayloadError("kdniao carries tracking only", field="kind")

    def parse_events(self, raw: bytes, content_type: str) -> ParseResult:
        """Events of a push; an older trace without an Action is a warning (its status is not in the push)."""
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
            _check_request_type(form.get("RequestType"))
            if "RequestData" not in form:
                raise CarrierPayloadError("form has no 'RequestData' field", field="RequestData")
            payload = _request_json(form["RequestData"])
        else:
            payload = load_json(raw)
            if isinstance(payload, dict) and "RequestData" in payload:
                _check_request_type(payload.get("RequestType"))
                payload = _request_json(payload["RequestData"])
        if isinstance(payload, dict) and "Data" in payload:
            items = payload["Data"]
            if not isinstance(items, list):
                raise CarrierPayloadError("Data must be an array", field="Data")
            return _flatten(items)
        if isinstance(payload, dict):
            return _flatten([payload])
        if isinstance(payload, list):
            return _flatten(payload)
        raise CarrierPayloadError(
            "expected RequestData, a Data[] item, or Traces[] entries", field="RequestData"
        )

    def to_event(self, trace: dict[str, Any]) -> TrackingEvent:
        waybill = text(trace.get("LogisticCode"))
        if not waybill:
            raise FieldProblem("LogisticCode", "required")
        waybill = waybill.upper()
        if not _WAYBILL.fullmatch(waybill):
            raise FieldProblem("LogisticCode", "must be 4 to 40 letters, digits or hyphens")
        if trace.get(_BAD_TRACES):
            raise FieldProblem("Traces", "must be an array of traces")
        code_field = next((f for f in ("Action", "StateEx", "State") if text(trace.get(f))), None)
        if code_field is None:
            raise FieldProblem("Action", _NO_STATUS if trace.get(_OLDER) else "required")
        code = text(trace.get(code_field)) or ""
        known = codes.CODES.get(code)
        if known is None:
            raise FieldProblem(code_field, f"unknown kdniao {code_field} {code[:20]!r}")
        status, implied, name = known
        try:
            occurred = parse_time(trace.get("AcceptTime"))
        except ValueError as exc:
            raise FieldProblem("AcceptTime", str(exc)) from exc

        station = text(trace.get("AcceptStation"))
        fail_text = text(trace.get("failReason"))
        failure: FailureReason | None = None
        note: str | None = None
        if status in _FAILURES:
            failure = (
                codes.failure_from_text(fail_text)
                or implied
                or codes.failure_from_text(station)
                or FailureReason.OTHER
            )
            note = fail_text or (name if implied else None)
            if status is ParcelStatus.EXCEPTION and implied is None and fail_text is None:
                status = _refined(failure)  # 问题件 says little; the carrier's text may say more
        shipper = text(trace.get("ShipperCode"))
        return TrackingEvent(
            waybill_no=waybill,
            status=status,
            occurred_at=occurred,
            raw_code=code,
            raw_namespace=f"{codes.NAMESPACE}:{shipper}"[:32] if shipper else codes.NAMESPACE,
            description=station,
            site_no=text(trace.get("siteNo")),
            site_name=text(trace.get("siteName")),
            site_type=_site_type(trace.get("siteType"), code, status),
            city=text(trace.get("Location")),
            failure_reason=failure,
            failure_note=note,
            pickup_code=text(trace.get("pickupCode")) or _pickup_code_in(station),
            signer=text(trace.get("signer")),
        )

    def render_event(self, event: TrackingEvent) -> dict[str, object]:
        code = codes.OUTBOUND.get(event.status)
        if code is None:
            raise CarrierPayloadError(f"kdniao has no Action for {event.status.value}", field="status")
        reason = event.failure_reason or (
            FailureReason.REFUSED if event.status is ParcelStatus.REFUSED else FailureReason.OTHER
        )
        if event.status is ParcelStatus.FAILED_ATTEMPT:
            code = codes.FAILED_BY_REASON.get(reason, code)
        elif event.status is ParcelStatus.EXCEPTION:
            code = codes.EXCEPTION_BY_REASON.get(reason, code)
        elif event.status is ParcelStatus.DELIVERED_AGENT and event.site_type in (
            SiteType.STATION,
            SiteType.LOCKER,
        ):
            code = codes.AGENT_AT_SITE
        trace: dict[str, object] = {
            "LogisticCode": event.waybill_no,
            "AcceptTime": beijing(event.occurred_at),
            "AcceptStation": event.description or "",
            "Location": event.city or "",
            "Action": code,
            "siteNo": event.site_no or "",
            "siteName": event.site_name or "",
            "siteType": (event.site_type or SiteType.OTHER).value,
        }
        if event.status in _FAILURES:
            trace["failReason"] = codes.FAILURE_TEXT[reason] + (
                f"：{event.failure_note}" if event.failure_note else ""
            )
        if event.pickup_code:
            trace["pickupCode"] = event.pickup_code
        if event.signer:
            trace["signer"] = event.signer
        return trace

    def verify_signature(
        self, raw: bytes, content_type: str, headers: Mapping[str, str], secret: str
    ) -> bool | None:
        """``DataSign`` over ``RequestData`` with the AppKey (see ``schema``); None for a JSON body."""
        if not is_form(content_type):
            return None
        form = load_form(raw)
        given = form.get("DataSign")
        if given is None:
            return False
        request_data = form.get("RequestData", "")
        raw_digest = hashlib.md5((request_data + secret).encode("utf-8")).digest()
        expected = (data_sign(request_data, secret), base64.b64encode(raw_digest).decode("ascii"))
        given = given.replace(" ", "+")  # a '+' sent without URL encoding arrives as a space
        offered = {given, unquote(given)}  # some senders URL-encode the sign twice
        return any(digest_matches(e, g) for e in expected for g in offered)


def _refined(reason: FailureReason) -> ParcelStatus:
    if reason is FailureReason.REFUSED:
        return ParcelStatus.REFUSED
    if reason in codes.ATTEMPT_REASONS:
        return ParcelStatus.FAILED_ATTEMPT
    return ParcelStatus.EXCEPTION


def _check_request_type(value: Any) -> None:
    request_type = text(value)
    if request_type is not None and request_type not in schema.PUSH_REQUEST_TYPES:
        raise CarrierPayloadError(
            f"RequestType {request_type[:20]!r} is not a tracking push (expected 101 or 102)",
            field="RequestType",
        )


def _request_json(value: Any) -> Any:
    if isinstance(value, dict | list):
        return value
    if not isinstance(value, str):
        raise CarrierPayloadError("RequestData must be JSON text", field="RequestData")
    try:
        return load_json(value.encode("utf-8"))
    except CarrierPayloadError as exc:
        raise CarrierPayloadError(f"RequestData: {exc.reason}", field="RequestData") from exc


def _flatten(items: list[Any]) -> list[Any]:
    """``Data[]`` items (or bare traces) -> one record per trace, each carrying its item's fields."""
    records: list[Any] = []
    for item in items:
        if not isinstance(item, dict) or not _is_item(item):
            records.append(item)  # a bare trace, or not an object (reported by the caller)
            continue
        traces = item.get("Traces")
        context = {k: item.get(k) for k in ("LogisticCode", "ShipperCode") if item.get(k) is not None}
        if traces is None:
            continue
        if not isinstance(traces, list):
            records.append({**context, _BAD_TRACES: True})
            continue
        newest = _newest(traces)
        for index, trace in enumerate(traces):
            if not isinstance(trace, dict):
                records.append(trace)
                continue
            merged = {**context, **trace}
            if index == newest:
                for key in ("StateEx", "State"):
                    if item.get(key) is not None:
                        merged.setdefault(key, item[key])
            else:
                merged[_OLDER] = True
            records.append(merged)
    return records


def _is_item(value: dict[str, Any]) -> bool:
    # A Data[] item holds Traces; one without (Success false, 暂无轨迹) still has Success and no AcceptTime.
    return "Traces" in value or ("Success" in value and "AcceptTime" not in value)


def _newest(traces: list[Any]) -> int:
    best: tuple[datetime, int] | None = None
    for index, trace in enumerate(traces):
        if not isinstance(trace, dict):
            continue
        try:
            moment = parse_time(trace.get("AcceptTime"))
        except ValueError:
            continue
        if best is None or moment >= best[0]:  # ties: the later entry, as traces are oldest first
            best = (moment, index)
    return best[1] if best else len(traces) - 1


def _site_type(declared: Any, code: str, status: ParcelStatus) -> SiteType | None:
    value = text(declared)
    if value:
        try:
            return SiteType(value)
        except ValueError:
            pass
    if code in ("211", "311"):
        return SiteType.STATION
    if code in ("201", "204", "205", "206"):
        return SiteType.HUB
    if status is ParcelStatus.OUT_FOR_DELIVERY:
        return SiteType.VEHICLE
    return None


def _pickup_code_in(value: str | None) -> str | None:
    if not value:
        return None
    match = _PICKUP_CODE.search(value)
    return match.group(1) if match else None


ADAPTER = KdniaoAdapter()
