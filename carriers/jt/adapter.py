"""J&T (极兔): order-API parcels, manifest files, trace pushes, events rendered as J&T trace details."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from carriers.base import (
    CarrierPayloadError,
    as_list,
    beijing,
    declared_site_type,
    digest_matches,
    form_field,
    is_form,
    kg_to_grams,
    load_form,
    load_json,
    md5_base64,
    parse_time,
    present,
    receiver_address,
    text,
    yuan_to_fen,
)
from carriers.common import Adapter, FieldProblem, field_value, object_field, parcel_list, record_object
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


class JtAdapter(Adapter):
    code = "jt"
    label = "J&T"
    waybill_pattern = re.compile(r"JT\d{13}")
    field_names = schema.FIELD_NAMES
    manifest_columns = schema.MANIFEST_COLUMNS

    # ---- parcels ---------------------------------------------------------------------------------------
    def parcel_records(self, payload: Any) -> list[Any]:
        return parcel_list(
            payload, "waybills", single=("billCode",), expected='{"waybills": [...]} or an array of waybills'
        )

    def to_unified(self, record: Any) -> dict[str, Any]:
        record = record_object(record, "waybill")
        receiver = object_field(record, "receiver")
        unified: dict[str, Any] = {
            "waybill_no": text(record.get("billCode")) or "",
            "recipient": {
                "name": text(receiver.get("name")) or "",
                "phone": text(receiver.get("mobile")) or text(receiver.get("phone")) or "",
            },
            "address": receiver_address(receiver, "address", ("prov", "city", "area", "town", "street")),
        }
        if record.get("weight") in (None, ""):
            raise FieldProblem("weight", "required (kg)")
        unified["weight_g"] = field_value("weight", kg_to_grams, record["weight"])
        if sorting := text(record.get("sortingCode")):
            unified["sort_hint"] = sorting
        if record.get("itemsValue") not in (None, ""):
            unified["cod_fen"] = field_value("itemsValue", yuan_to_fen, record["itemsValue"])
        if record.get("offerFee") not in (None, ""):
            unified["declared_value_fen"] = field_value("offerFee", yuan_to_fen, record["offerFee"])
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
            return load_json(form_field(load_form(raw), "bizContent").encode("utf-8"))
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
        occurred = field_value("scanTime", parse_time, trace.get("scanTime"))
        desc = text(trace.get("desc"))
        fail_text = text(trace.get("failReason"))
        failure: FailureReason | None = None
        namespace = field
        if node == codes.PROBLEM_NODE:
            problem = text(trace.get("problemType"))
            known = codes.PROBLEMS.get(problem.upper()) if problem else None
            if known is not None:
                status, code_reason = known
                failure = codes.FAILURES.reason(fail_text) or (
                    code_reason
                    if code_reason is not FailureReason.OTHER
                    else codes.FAILURES.reason(desc) or code_reason
                )
            else:
                failure = codes.FAILURES.reason(fail_text) or codes.FAILURES.reason(desc)
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
        node = self.outbound(codes.OUTBOUND, event, "scan type")
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
            detail["failReason"] = codes.FAILURES.write(event.failure_reason, event.failure_note)
        detail.update(present(pickupCode=event.pickup_code, signerName=event.signer))
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
    if site_type := declared_site_type(declared):
        return site_type
    for word, kind in _SITE_WORDS:
        if declared and word in declared:
            return kind
    return _NODE_SITES.get(node)


ADAPTER = JtAdapter()
