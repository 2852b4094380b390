"""JD (京东物流): LOP order-API parcels, manifest files, trace pushes, events rendered as JD push traces."""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from carriers.base import (
    CarrierPayloadError,
    as_list,
    beijing,
    declared_site_type,
    is_form,
    kg_to_grams,
    load_form,
    load_json,
    mentions,
    parse_time,
    pickup_code_in,
    receiver_address,
    signer_in,
    text,
    whole,
    yuan_to_fen,
)
from carriers.common import (
    Adapter,
    FieldProblem,
    decimal_field,
    field_value,
    object_field,
    parcel_list,
    record_object,
)
from carriers.jd import codes, schema
from carriers.unified import FAILURE_STATUSES, FailureReason, ParcelStatus, SiteType, TrackingEvent

_FORM_FIELDS = ("param_json", "data", "content")
_REDELIVERY_STATES = frozenset({"200003", "200031", "200023"})


# ---- push bodies ---------------------------------------------------------------------------------------
def _traces(payload: Any) -> list[Any]:
    if isinstance(payload, dict):
        if "waybillCode" in payload:
            return [payload]
        if "traceDetails" in payload:
            return as_list(payload["traceDetails"], where="traceDetails")
        data = payload.get("data")
        if isinstance(data, dict) and "traceDetails" in data:
            return as_list(data["traceDetails"], where="data.traceDetails")
        if "state" in payload or "category" in payload:
            return [payload]  # a trace without its waybill: reported on the record
        raise CarrierPayloadError(
            'expected a JD trace {"waybillCode", "state", …}, an array of them or {"traceDetails": [...]}',
            field="waybillCode",
        )
    return as_list(payload, where="traces")


class JdAdapter(Adapter):
    code = "jd"
    label = "JD"
    waybill_pattern = re.compile(r"JD[0-9A-Z]{2}\d{11}|JD[A-Z0-9]{11,13}")
    field_names = schema.FIELD_NAMES
    manifest_columns = schema.MANIFEST_COLUMNS

    # ---- parcels ---------------------------------------------------------------------------------------
    def parcel_records(self, payload: Any) -> list[Any]:
        return parcel_list(
            payload,
            "waybills",
            single=("receiverContact",),
            expected='{"waybills": [...]}, an array of orders or one order',
        )

    def to_unified(self, record: Any) -> dict[str, Any]:
        record = record_object(record, "waybill")
        receiver = object_field(record, "receiverContact")
        weight_kg, quantity, volume = _cargo_totals(record.get("cargoes"))
        unified: dict[str, Any] = {
            "waybill_no": text(record.get("waybillCode")) or "",
            "recipient": {
                "name": text(receiver.get("name")) or "",
                "phone": text(receiver.get("mobile")) or text(receiver.get("phone")) or "",
            },
            "address": receiver_address(receiver, "fullAddress", ("province", "city", "county")),
            "weight_g": field_value("cargoes.weight", kg_to_grams, weight_kg),
        }
        if quantity is not None:
            unified["pieces"] = quantity
        if volume is not None:
            unified["volume_cm3"] = whole(volume)
        for product_code, attr, target in (
            (schema.COD_PRODUCT, schema.COD_ATTR, "cod_fen"),
            (schema.INSURANCE_PRODUCT, schema.INSURANCE_ATTR, "declared_value_fen"),
        ):
            amount = _product_attr(record, product_code, attr)
            if amount is not None:
                unified[target] = field_value(schema.FIELD_NAMES[target], yuan_to_fen, amount)
        return unified

    # ---- events ----------------------------------------------------------------------------------------
    def trace_records(self, raw: bytes, content_type: str) -> list[Any]:
        if not is_form(content_type):
            return _traces(load_json(raw))
        form = load_form(raw)
        for key in _FORM_FIELDS:
            value = form.get(key, "").lstrip()
            if value.startswith(("{", "[")):
                return _traces(load_json(value.encode("utf-8")))
        raise CarrierPayloadError(
            "form holds no JD trace JSON in param_json, data or content", field="param_json"
        )

    def to_event(self, trace: dict[str, Any]) -> TrackingEvent:
        waybill = text(trace.get("waybillCode"))
        if not waybill:
            raise FieldProblem("waybillCode", "required")
        state = text(trace.get("state"))
        category = text(trace.get("category"))
        if state is not None and state in codes.STATES:
            status, raw_code, namespace = codes.STATES[state], state, codes.STATE
        elif category is not None and category in codes.CATEGORIES:
            status, raw_code, namespace = codes.CATEGORIES[category], category, codes.CATEGORY
        elif state is not None:
            also = f" (category {category[:20]!r} unknown too)" if category else ""
            raise FieldProblem("state", f"unknown JD state {state[:20]!r}{also}")
        elif category is not None:
            raise FieldProblem("category", f"unknown JD category {category[:20]!r}")
        else:
            raise FieldProblem("state", "required (or category)")
        occurred = field_value("operationTime", parse_time, trace.get("operationTime"))
        remark = text(trace.get("operationRemark"))
        failure: FailureReason | None = None
        note: str | None = None
        if status in FAILURE_STATUSES:
            stated = text(trace.get("failReason"))
            default = FailureReason.RESCHEDULED if state in _REDELIVERY_STATES else FailureReason.OTHER
            failure = codes.FAILURES.reason(stated or remark) or default
            if status is ParcelStatus.REFUSED or failure is FailureReason.REFUSED:
                status, failure = ParcelStatus.REFUSED, FailureReason.REFUSED
            note = remark or stated
        elif status is ParcelStatus.CANCELLED:
            note = text(trace.get("cancelReason"))
        if status is ParcelStatus.DELIVERED_RECIPIENT and mentions(codes.AGENT_MARKERS, remark):
            status = ParcelStatus.DELIVERED_AGENT
        return TrackingEvent(
            waybill_no=waybill.upper(),
            status=status,
            occurred_at=occurred,
            raw_code=raw_code,
            raw_namespace=namespace,
            description=remark or text(trace.get("operationTitle")),
            site_no=text(trace.get("operateSiteId")),
            site_name=text(trace.get("operateSite")),
            site_type=declared_site_type(trace.get("siteType")) or codes.SITE_TYPES.get(state or ""),
            city=text(trace.get("routeCityName")),
            failure_reason=failure,
            failure_note=note,
            pickup_code=text(trace.get("pickupCode")) or pickup_code_in(remark),
            signer=signer_in(remark),
        )

    def render_event(self, event: TrackingEvent) -> dict[str, object]:
        state, title, category = codes.OUTBOUND[event.status]
        reason = event.failure_reason
        if event.status is ParcelStatus.REFUSED:  # a refusal is its own reason, whatever else was noted
            reason = FailureReason.REFUSED
        remark = event.description or title
        if reason is not None:
            remark = codes.FAILURES.write(reason, event.failure_note)
        if event.status is ParcelStatus.DELIVERED_AGENT and not mentions(codes.AGENT_MARKERS, remark):
            remark = f"已由【{event.site_name or '代收点'}】代收" + (
                f"，{event.description}" if event.description else ""
            )
        if event.signer:
            remark = f"{remark} 签收人：{event.signer}"
        trace: dict[str, object] = {
            "waybillCode": event.waybill_no,
            "operationTime": beijing(event.occurred_at),
            "operationTitle": title,
            "operationRemark": remark,
            "category": category,
            "categoryName": codes.CATEGORY_NAMES[category],
            "state": state,
            "operateSite": event.site_name or "",
            "operateSiteId": event.site_no or "",
            "routeCityName": event.city or "",
            "siteType": (event.site_type or SiteType.OTHER).value,
        }
        if reason is not None:
            trace["failReason"] = codes.FAILURES.write(reason)
        if event.status is ParcelStatus.CANCELLED and event.failure_note:
            trace["cancelReason"] = event.failure_note
        if event.pickup_code:
            trace["pickupCode"] = event.pickup_code
        return trace

    def verify_signature(
        self, raw: bytes, content_type: str, headers: Mapping[str, str], secret: str
    ) -> bool | None:
        """None: no JD push signature is known; the endpoint is protected by a secret URL token."""
        return None


def _cargo_totals(cargoes: Any) -> tuple[Decimal, int | None, Decimal | None]:
    """Weight (kg), pieces and volume (cm³) summed over ``cargoes``; pieces/volume None when none given."""
    if isinstance(cargoes, dict):
        cargoes = [cargoes]
    if not isinstance(cargoes, list) or not cargoes:
        raise FieldProblem("cargoes", "required: [{quantity, weight (kg), volume (cm³)}]")
    weight = Decimal(0)
    quantity: int | None = None
    volume: Decimal | None = None
    for position, cargo in enumerate(cargoes):
        where = "cargoes" if len(cargoes) == 1 else f"cargoes[{position}]"
        if not isinstance(cargo, dict):
            raise FieldProblem(where, "must be an object")
        if cargo.get("weight") in (None, ""):
            raise FieldProblem(f"{where}.weight", "required (kg)")
        weight += decimal_field(cargo["weight"], f"{where}.weight", unit="kg")
        if cargo.get("quantity") not in (None, ""):
            count = decimal_field(cargo["quantity"], f"{where}.quantity", unit="pieces")
            if count != count.to_integral_value():
                raise FieldProblem(f"{where}.quantity", "must be a whole number")
            quantity = (quantity or 0) + int(count)
        if cargo.get("volume") not in (None, ""):
            volume = (volume or Decimal(0)) + decimal_field(cargo["volume"], f"{where}.volume", unit="cm³")
    return weight, quantity, volume


def _product_attr(record: dict[str, Any], product_code: str, attr: str) -> Any:
    products = record.get("productsReq")
    added = products.get("addedProducts") if isinstance(products, dict) else None
    if not isinstance(added, list):
        return None
    for product in added:
        if isinstance(product, dict) and text(product.get("productCode")) == product_code:
            attrs = product.get("productAttrs")
            if isinstance(attrs, dict) and attrs.get(attr) not in (None, ""):
                return attrs[attr]
    return None


ADAPTER = JdAdapter()
