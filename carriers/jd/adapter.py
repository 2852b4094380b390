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
    decimal_of,
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
    field_value,
    object_field,
    parcel_list,
    record_object,
)
from carriers.jd import codes, schema
from carriers.unified import FAILURE_STATUSES, FailureReason, ParcelStatus, SiteType, TrackingEvent

_FORM_FIELDS = ("param_json", "data", "content")
_REDELIVERY_STATES = frozenset({"200003", "200031", "200023"})
# (productCode, attribute) of the amounts carried by added products: the COD amount, the insured value.
_AMOUNT_PRODUCTS = ((schema.COD_PRODUCT, schema.COD_ATTR), (schema.INSURANCE_PRODUCT, schema.INSURANCE_ATTR))
_COD_FIELD = schema.FIELD_NAMES["cod_fen"]
_DECLARED_FIELD = schema.FIELD_NAMES["declared_value_fen"]
_COUNT_LIMIT = 10**13  # decimal_of refuses numbers this large or larger
_ZERO = Decimal(0)
_AMOUNT_POSITIONS = {code: (position, attr) for position, (code, attr) in enumerate(_AMOUNT_PRODUCTS)}


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
        cod, declared = _product_attrs(record)
        if cod is not None:
            unified["cod_fen"] = field_value(_COD_FIELD, yuan_to_fen, cod)
        if declared is not None:
            unified["declared_value_fen"] = field_value(_DECLARED_FIELD, yuan_to_fen, declared)
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
    weight = _ZERO
    quantity: int | None = None
    volume: Decimal | None = None
    single = len(cargoes) == 1
    for position, cargo in enumerate(cargoes):
        where = "cargoes" if single else f"cargoes[{position}]"
        if not isinstance(cargo, dict):
            raise FieldProblem(where, "must be an object")
        if cargo.get("weight") in (None, ""):
            raise FieldProblem(f"{where}.weight", "required (kg)")
        weight += _cargo_number(cargo, "weight", where, "kg")
        if cargo.get("quantity") not in (None, ""):
            quantity = (quantity or 0) + _cargo_count(cargo, where)
        if cargo.get("volume") not in (None, ""):
            volume = (volume or _ZERO) + _cargo_number(cargo, "volume", where, "cm³")
    return weight, quantity, volume


def _cargo_count(cargo: dict[str, Any], where: str) -> int:
    """``cargo["quantity"]`` as a whole number of pieces; ``FieldProblem`` naming it otherwise."""
    count = cargo["quantity"]
    if type(count) is int and -_COUNT_LIMIT < count < _COUNT_LIMIT:  # what the Decimal route gives, sooner
        return count
    number = _cargo_number(cargo, "quantity", where, "pieces")
    if number != number.to_integral_value():
        raise FieldProblem(f"{where}.quantity", "must be a whole number")
    return int(number)


def _cargo_number(cargo: dict[str, Any], key: str, where: str, unit: str) -> Decimal:
    """``decimal_field`` of ``cargo[key]``, naming the field ``where.key`` only when it is wrong."""
    try:
        return decimal_of(cargo[key], unit=unit)
    except ValueError as exc:
        raise FieldProblem(f"{where}.{key}", str(exc)) from exc


def _product_attrs(record: dict[str, Any]) -> list[Any]:
    """For each of ``_AMOUNT_PRODUCTS``: its attribute in the first added product of its code that has it
    (None when none has), all found in one pass over the added products."""
    found: list[Any] = [None] * len(_AMOUNT_PRODUCTS)
    products = record.get("productsReq")
    added = products.get("addedProducts") if isinstance(products, dict) else None
    if not isinstance(added, list):
        return found
    for product in added:
        if not isinstance(product, dict):
            continue
        wanted = _AMOUNT_POSITIONS.get(text(product.get("productCode")) or "")
        if wanted is None or found[wanted[0]] is not None:
            continue
        position, attr = wanted
        attrs = product.get("productAttrs")
        if isinstance(attrs, dict) and attrs.get(attr) not in (None, ""):
            found[position] = attrs[attr]
    return found


ADAPTER = JdAdapter()
