"""J&T (极兔): order-API parcels, manifest files, trace pushes, events rendered as J&T trace details."""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from carriers.base import (
    CarrierPayloadError,
    as_list,
    beijing,
    digest_matches,
    is_form,
    load_form,
    load_json,
    md5_base64,
    parse_time,
    text,
)
from carriers.common import Adapter, FieldProblem
from carriers.jt import codes, schema
from carriers.unified import (
    FailureReason,
    ParcelStatus,
    SiteType,
    TrackingEvent,
)

# scanNetworkTypeName we write for each site type; read back by the words in _SITE_WORDS
SITE_TYPE_NAMES: dict[SiteType, str] = {
    SiteType.COUNTY_CENTER: "共配中心",
    SiteType.HUB: "转运中心",
    SiteType.STATION: "驿站",
    SiteType.LOCKER: "快递柜",
    SiteType.VEHICLE: "派件车辆",
    SiteType.OTHER: "其他",
}
_SITE_WORDS: tuple[tuple[str, SiteType], ...] = (
    ("共配", SiteType.COUNTY_CENTER),
    ("柜", SiteType.LOCKER),
    ("驿站", SiteType.STATION),
    ("代理点", SiteType.STATION),
    ("代收点", SiteType.STATION),
    ("服务站", SiteType.STATION),
    ("中心", SiteType.HUB),
    ("网点", SiteType.HUB),
    ("分拨", SiteType.HUB),
    ("车", SiteType.VEHICLE),
    ("其他", SiteType.OTHER),
)
_NODE_SITES: dict[str, SiteType] = {
    "3": SiteType.HUB,
    "4": SiteType.HUB,
    "5": SiteType.VEHICLE,
    "6": SiteType.STATION,
    "7": SiteType.STATION,
    "8": SiteType.STATION,
    "9": SiteType.STATION,
}
_CODE_FIELDS = ("scanType", "scanTypeName", "scanTypeCode", "traceNode")

_CLAMP = Decimal(10**9)  # kg or yuan: far beyond any parcel, small enough to stay exact


def _decimal(value: Any) -> Decimal | None:
    """A finite decimal from a JSON number or numeric text; None for anything else."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def kg_to_grams(value: Any, field: str) -> int:
    """A weight in kilograms (number or text) as whole grams, rounded half up.

    Absurd values are clamped far outside the parcel limits, so the unified validation reports them
    together with the record's other problems. Raises ``FieldProblem`` for a value that is not a number.
    """
    kg = _decimal(value)
    if kg is None:
        raise FieldProblem(field, "must be a weight in kg")
    kg = max(min(kg, _CLAMP), -_CLAMP)
    return int((kg * 1000).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def yuan_to_fen(value: Any, field: str) -> int:
    """An amount in yuan (number or text, at most two decimals) as fen; clamped like ``kg_to_grams``."""
    yuan = _decimal(value)
    if yuan is None:
        raise FieldProblem(field, "must be an amount in yuan")
    fen = max(min(yuan, _CLAMP), -_CLAMP) * 100
    if fen != fen.to_integral_value():
        raise FieldProblem(field, "must be an amount in yuan with at most two decimals")
    return int(fen)


class JtAdapter(Adapter):
    code = "jt"
    label = "J&T"
    waybill_pattern = re.compile(r"JT\d{13}")
    field_names = schema.FIELD_NAMES
    manifest_columns = schema.MANIFEST_COLUMNS

    # ---- parcels ---------------------------------------------------------------------------------------
    def parcel_records(self, payload: Any) -> list[Any]:
        if isinstance(payload, dict):
            if "waybills" in payload:
                payload = payload["waybills"]
            elif "billCode" not in payload:
                raise CarrierPayloadError(
                    'expected {"waybills": [...]} or an array of waybills', field="waybills"
                )
        return as_list(payload, where="waybills")

    def to_unified(self, record: Any) -> dict[str, Any]:
        if not isinstance(record, dict):
            raise FieldProblem("waybill", "must be an object")
        receiver = record.get("receiver")
        if not isinstance(receiver, dict):
            raise FieldProblem("receiver", "required object")
        address = text(receiver.get("address")) or ""
        region = "".join(
            part
            for key in ("prov", "city", "area", "town", "street")
            if (part := text(receiver.get(key))) and part not in address
        )
        unified: dict[str, Any] = {
            "waybill_no": text(record.get("billCode")) or "",
            "recipient": {
                "name": text(receiver.get("name")) or "",
                "phone": text(receiver.get("mobile")) or text(receiver.get("phone")) or "",
            },
            "address": region + address,
        }
        if record.get("weight") in (None, ""):
            raise FieldProblem("weight", "required (kg)")
        unified["weight_g"] = kg_to_grams(record["weight"], "weight")
        if sorting := text(record.get("sortingCode")):
            unified["sort_hint"] = sorting
        if record.get("itemsValue") not in (None, ""):
            unified["cod_fen"] = yuan_to_fen(record["itemsValue"], "itemsValue")
        if record.get("offerFee") not in (None, ""):
            unified["declared_value_fen"] = yuan_to_fen(record["offerFee"], "offerFee")
        return unified

    # ---- events ----------------------------------------------------------------------------------------
    def trace_records(self, raw: bytes, content_type: str) -> list[Any]:
        payload = self._biz_content(raw, content_type)
        records: list[Any] = []
        for bill in as_list(payload, where="bizContent"):
            if not isinstance(bill, dict) or "details" not in bill:
                records.append(bill)  # a bare detail carrying its billCode (or garbage, reported)
                continue
            details = bill["details"]
            if isinstance(details, dict):
                details = [details]
            if not isinstance(details, list):
                records.append(bill)  # to_event reports the bad ``details``
                continue
            for detail in details:
                if isinstance(detail, dict) and "details" not in detail:
                    detail = {**detail}
                    for key in ("billCode", "txlogisticId"):
                        if text(detail.get(key)) is None and key in bill:
                            detail[key] = bill[key]
                records.append(detail)
        return records

    @staticmethod
    def _biz_content(raw: bytes, content_type: str) -> Any:
        if is_form(content_type) or raw.lstrip().startswith(b"bizContent="):
            form = load_form(raw)
            if "bizContent" not in form:
                raise CarrierPayloadError("form has no 'bizContent' field", field="bizContent")
            return load_json(form["bizContent"].encode("utf-8"))
        payload = load_json(raw)
        if isinstance(payload, dict) and "bizContent" in payload and "billCode" not in payload:
            inner = payload["bizContent"]
            return load_json(inner.encode("utf-8")) if isinstance(inner, str) else inner
        return payload

    def to_event(self, trace: dict[str, Any]) -> TrackingEvent:
        if "details" in trace:
            raise FieldProblem("details", "must be an array of detail objects")
        waybill = text(trace.get("billCode"))
        if not waybill:
            raise FieldProblem("billCode", "required")
        node, field, raw_code = _node(trace)
        _name, status = codes.NODES[node]
        try:
            occurred = parse_time(trace.get("scanTime"))
        except ValueError as exc:
            raise FieldProblem("scanTime", str(exc)) from exc
        desc = text(trace.get("desc"))
        fail_text = text(trace.get("failReason"))
        failure: FailureReason | None = None
        namespace = field
        if node == codes.PROBLEM_NODE:
            problem = text(trace.get("problemType"))
            known = codes.PROBLEMS.get(problem.upper()) if problem else None
            if known is not None:
                status, code_reason = known
                failure = codes.failure_from_text(fail_text) or (
                    code_reason
                    if code_reason is not FailureReason.OTHER
                    else codes.failure_from_text(desc) or code_reason
                )
            else:
                failure = codes.failure_from_text(fail_text) or codes.failure_from_text(desc)
                failure = failure or FailureReason.OTHER
            if problem:  # the problem code says more than node 11; keep it as the raw code
                raw_code, namespace = problem, "problemType"
        site_name = text(trace.get("scanNetworkName"))
        return TrackingEvent(
            waybill_no=waybill.upper(),
            status=status,
            occurred_at=occurred,
            raw_code=raw_code,
            raw_namespace=namespace,
            description=desc,
            site_no=text(trace.get("scanNetworkId")),
            site_name=site_name,
            site_type=_site_type(text(trace.get("scanNetworkTypeName")), node),
            city=text(trace.get("scanNetworkCity")),
            failure_reason=failure,
            failure_note=(fail_text or desc) if failure else None,
            pickup_code=text(trace.get("pickupCode")),
            signer=text(trace.get("signerName")),
        )

    def render_event(self, event: TrackingEvent) -> dict[str, object]:
        """Our event as a J&T push body for one bill with one detail (schema.py); raises
        ``CarrierPayloadError`` for a status J&T has no scan for (announced, cancelled)."""
        node = codes.OUTBOUND.get(event.status)
        if node is None:
            raise CarrierPayloadError(f"J&T has no scan type for {event.status.value}", field="status")
        if event.status is ParcelStatus.DELIVERED_RECIPIENT and event.pickup_code:
            node = codes.PICKUP_CODE_SIGNED
        detail: dict[str, object] = {
            "scanTime": beijing(event.occurred_at),
            "desc": event.description or "",
            "scanType": codes.NODES[node][0],
            "scanTypeCode": node,
            "scanNetworkId": event.site_no or "",
            "scanNetworkName": event.site_name or "",
            "scanNetworkTypeName": SITE_TYPE_NAMES[event.site_type or SiteType.OTHER],
            "scanNetworkCity": event.city or "",
        }
        if node == codes.PROBLEM_NODE:
            problem = codes.DEFAULT_PROBLEM[event.status]
            if event.failure_reason is not None:
                problem = codes.PROBLEM_CODES[event.status].get(event.failure_reason, problem)
            detail["problemType"] = problem
        if event.failure_reason is not None:
            note = event.failure_note
            detail["failReason"] = codes.FAILURE_TEXT[event.failure_reason] + (f"：{note}" if note else "")
        if event.pickup_code:
            detail["pickupCode"] = event.pickup_code
        if event.signer:
            detail["signerName"] = event.signer
        return {"billCode": event.waybill_no, "details": [detail]}

    def verify_signature(
        self, raw: bytes, content_type: str, headers: Mapping[str, str], secret: str
    ) -> bool | None:
        """Whether header ``digest`` is ``Base64(MD5(bizContent + secret))``; for a JSON body the whole
        body is the bizContent."""
        given = headers.get("digest")
        if given is None:
            return False
        try:
            if is_form(content_type) or raw.lstrip().startswith(b"bizContent="):
                form = load_form(raw)
                if "bizContent" not in form:
                    return False
                content = form["bizContent"]
            else:
                content = raw.decode("utf-8")
        except (CarrierPayloadError, UnicodeDecodeError):
            return False
        return digest_matches(md5_base64(content, secret), given)


def _node(trace: dict[str, Any]) -> tuple[str, str, str]:
    """The node number of a detail, the field it was read from and the raw value; ``FieldProblem`` when
    no scan field is present or none is known. A known Chinese name wins over a number."""
    given: list[tuple[str, str]] = [(f, v) for f in _CODE_FIELDS if (v := text(trace.get(f))) is not None]
    if not given:
        raise FieldProblem("scanType", "required")
    for field, value in given:
        if value in codes.NAMES:
            return codes.NAMES[value], field, value
    for field, value in given:
        if value in codes.NODES:
            return value, field, value
    field, value = given[0]
    raise FieldProblem(field, f"unknown J&T scan type {value!r}")


def _site_type(declared: str | None, node: str) -> SiteType | None:
    if declared:
        try:
            return SiteType(declared.lower())
        except ValueError:
            for word, kind in _SITE_WORDS:
                if word in declared:
                    return kind
    return _NODE_SITES.get(node)


ADAPTER = JtAdapter()
