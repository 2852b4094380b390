"""ZTO wire formats.

Push (轨迹推送): form fields ``company_id``, ``msg_type=Traces``, ``data`` (JSON: one trace or an array) and
``data_digest = Base64(MD5(data + appSecret))``; a bare JSON body of the ``data`` part is accepted too.
Trace fields: ``billCode, action, actionTime, desc, facilityCode, facilityName, facilityContactPhone,
city, dist, address, courier, courierPhone, nextNodeCode, nextNodeName, nextCity, expressSigner,
comName, comCode``.

Parcels (JSON): field names of ZTO's order and print APIs — ``billCode``, ``receiveInfo{receiverName,
receiverMobile | receiverPhone, receiverProvince, receiverCity, receiverDistrict, receiverAddress}``,
``weight`` (kg), ``quantity``, ``bigMarkInfo{mark}`` (大头笔), ``codAmount`` / ``insuredAmount`` (yuan).
The envelope ``{"waybills": [...]}`` (or a bare array) is ours: ZTO has no public batch hand-over call.
"""

from __future__ import annotations

TRACE_FIELDS = (
    "billCode",
    "action",
    "actionTime",
    "desc",
    "facilityCode",
    "facilityName",
    "facilityContactPhone",
    "city",
    "dist",
    "address",
    "courier",
    "courierPhone",
    "nextNodeCode",
    "nextNodeName",
    "nextCity",
    "expressSigner",
    "comName",
    "comCode",
)

# unified field -> ZTO field name, for issues in ZTO's vocabulary
FIELD_NAMES = {
    "waybill_no": "billCode",
    "recipient.name": "receiveInfo.receiverName",
    "recipient.phone": "receiveInfo.receiverMobile",
    "address": "receiveInfo.receiverAddress",
    "weight_g": "weight",
    "pieces": "quantity",
    "sort_hint": "bigMarkInfo.mark",
    "cod_fen": "codAmount",
    "declared_value_fen": "insuredAmount",
}

# extra manifest column names ZTO's 到件清单 uses
MANIFEST_COLUMNS: dict[str, tuple[str, ...]] = {
    "waybill_no": ("中通单号",),
    "sort_hint": ("大头笔信息", "集包地"),
}
