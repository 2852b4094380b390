"""kdniao (快递鸟): trace pushes in, our events out as kdniao ``Traces[]`` entries."""

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
    md5_base64,
    md5_hex_base64,
    parse_time,
    pickup_code_in,
    present,
    received_digests,
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
from carriers.kdniao import codes, schema
from carriers.unified import FAILURE_STATUSES, FailureReason, ParcelStatus, SiteType, TrackingEvent

_OLDER = "_older"  # set on traces that are not the newest of their Data[] item
_BAD_TRACES = "_bad_traces"  # set on a stand-in record for an item whose Traces is not an array
_NO_STATUS = "older trace has no Action; the item's State/StateEx describe the newest trace only"


class KdniaoAdapter(Adapter):
    code = "kdniao"
    label = "kdniao"
    field_names = schema.FIELD_NAMES
    manifest_columns = schema.MANIFEST_COLUMNS
    tracking_only = True

    # ---- events ----------------------------------------------------------------------------------------
    def trace_records(self, raw: bytes, content_type: str) -> list[Any]:
        if is_form(content_type):
            form = load_form(raw)
            _check_request_type(form.get("RequestType"))
            payload = json_field(form_field(form, "RequestData"), "RequestData")
        else:
            payload = load_json(raw)
            if isinstance(payload, dict) and "RequestData" in payload:
                _check_request_type(payload.get("RequestType"))
                payload = json_field(payload["RequestData"], "RequestData")
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
        waybill = event_waybill(trace.get("LogisticCode"), "LogisticCode")
        if trace.get(_BAD_TRACES):
            raise FieldProblem("Traces", "must be an array of traces")
        code_field = next((f for f in ("Action", "StateEx", "State") if text(trace.get(f))), None)
        if code_field is None and trace.get(_OLDER):
            raise FieldProblem("Action", _NO_STATUS, severity=Severity.WARNING)
        if code_field is None:
            raise FieldProblem("Action", "required")
        code = text(trace.get(code_field)) or ""
        known = codes.CODES.get(code)
        if known is None:
            raise FieldProblem(code_field, f"unknown kdniao {code_field} {code[:20]!r}")
        status, implied, name = known
        occurred = field_value("AcceptTime", parse_time, trace.get("AcceptTime"))

        station = text(trace.get("AcceptStation"))
        fail_text = text(trace.get("failReason"))
        failure: FailureReason | None = None
        note: str | None = None
        if status in FAILURE_STATUSES:  # 问题件 says little: the carrier's text may say more
            status, failure, note = read_problem(
                status, codes.FAILURES, stated=fail_text, implied=implied, implied_name=name, context=station
            )
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
            pickup_code=text(trace.get("pickupCode")) or pickup_code_in(station),
            signer=text(trace.get("signer")),
        )

    def render_event(self, event: TrackingEvent) -> dict[str, object]:
        code = self.outbound(codes.OUTBOUND, event, "Action")
        reason = failure_of(event)
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
        if event.status in FAILURE_STATUSES:
            trace["failReason"] = codes.FAILURES.write(reason, event.failure_note)
        trace.update(present(pickupCode=event.pickup_code, signer=event.signer))
        return trace

    def verify_signature(
        self, raw: bytes, content_type: str, headers: Mapping[str, str], secret: str
    ) -> bool | None:
        """``DataSign`` over ``RequestData`` with the AppKey (see ``schema``); None for a JSON body."""

        def matches(form: dict[str, str], given: str) -> bool:
            request_data = form.get("RequestData", "")
            expected = (md5_hex_base64(request_data, secret), md5_base64(request_data, secret))
            return any(digest_matches(e, g) for e in expected for g in received_digests(given))

        return verify_form(raw, content_type, "DataSign", matches)


def _check_request_type(value: Any) -> None:
    request_type = text(value)
    if request_type is not None and request_type not in schema.PUSH_REQUEST_TYPES:
        raise CarrierPayloadError(
            f"RequestType {request_type[:20]!r} is not a tracking push (expected 101 or 102)",
            field="RequestType",
        )


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
    if site_type := declared_site_type(declared):
        return site_type
    if code in ("211", "311"):
        return SiteType.STATION
    if code in ("201", "204", "205", "206"):
        return SiteType.HUB
    if status is ParcelStatus.OUT_FOR_DELIVERY:
        return SiteType.VEHICLE
    return None


ADAPTER = KdniaoAdapter()
