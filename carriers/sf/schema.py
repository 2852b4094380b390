"""SF (顺丰, 丰桥 open platform) wire formats.

Route push v2 (路由推送): ``POST`` JSON ``{"Body": {"WaybillRoute": [trace, ...]}}``, acknowledged with
``{"return_code": "0000", "return_msg": "成功"}``. The legacy push is XML
``<Request service="RoutePushService"><Body><WaybillRoute id=… mailno=… …/></Body></Request>`` with the trace
fields as attributes; it arrives as ``application/xml`` or form-encoded (the whole body, or one form field
holding the XML). A bare JSON trace object or array is accepted too (what ``render_event`` produces).

Trace fields: ``id`` (the route node's id: our ``event_id``, for dropping repeated pushes), ``mailno`` (may be
a child or 签回单 number), ``orderid``, ``acceptTime`` (``yyyy-MM-dd HH:mm:ss`` Beijing), ``acceptAddress``
(city-level text), ``remark`` (free text; courier name and phone, ``签收人：…`` on delivery, ``取件码…`` at a
station), ``opCode`` (string; table in ``codes.py``), ``reasonCode`` (why a 33/70 delivery failed; SF's
code list is not public, so it is kept on the event's ``failure_note``). SF has no fields for the delivering
site, so events we send back add the PDD last-mile trace template's ``siteNo``, ``siteName``, ``siteType``
(our ``SiteType`` values), ``failReason`` (text, see ``codes.FAILURE_TEXT``) and ``pickupCode``.

Signature: the v2 push carries none (one sandbox report, ?), so ``verify_signature`` returns None; protect the
endpoint with a secret URL token. (SF's *requests* are signed ``Base64(MD5(URLEncode(msgData + timestamp +
checkWord)))``; that belongs to outbound calls, not to this push.)

Parcels (JSON): the order (下单) API's names — ``waybillNo`` (or ``mailno``, or the parent number in
``waybillNoInfoList[{waybillType: 1, waybillNo}]``), ``orderId``, ``contactInfoList[{contactType``
1 = sender, 2 = recipient, ``contact, mobile | tel, province, city, county, address}]``, ``totalWeight``
(kg; else the sum of ``cargoDetails[{weight`` (kg per unit), ``count}]``), ``parcelQty``, ``volume``
(cm³), ``serviceList[{name, value}]`` with ``COD`` (代收货款, yuan) and ``INSURE`` (保价, yuan),
``destRouteLabel`` (路由标签 from the 丰密 label, our sort hint). The batch envelope
``{"waybills": [...]}`` (or a bare array, or one order object) is ours: SF has no public batch
hand-over call.
"""

from __future__ import annotations

TRACE_FIELDS = ("id", "mailno", "orderid", "acceptTime", "acceptAddress", "remark", "opCode", "reasonCode")
OUR_TRACE_FIELDS = ("siteNo", "siteName", "siteType", "failReason", "pickupCode")

RECIPIENT = "contactInfoList[contactType=2]"

# unified field -> SF field name, for issues in SF's vocabulary
FIELD_NAMES = {
    "waybill_no": "waybillNo",
    "recipient.name": f"{RECIPIENT}.contact",
    "recipient.phone": f"{RECIPIENT}.mobile",
    "address": f"{RECIPIENT}.address",
    "weight_g": "totalWeight",
    "pieces": "parcelQty",
    "volume_cm3": "volume",
    "cod_fen": "serviceList[COD].value",
    "declared_value_fen": "serviceList[INSURE].value",
    "sort_hint": "destRouteLabel",
}

# extra manifest column names SF's 到件清单 / 派件清单 exports use
MANIFEST_COLUMNS: dict[str, tuple[str, ...]] = {
    "waybill_no": ("顺丰单号", "运单号码", "母单号"),
    "recipient.name": ("收方联系人", "收件联系人"),
    "recipient.phone": ("收方手机", "收方联系电话", "收件人联系电话"),
    "address": ("收方详细地址", "收件详细地址"),
    "province": ("收方省份", "收方省"),
    "city": ("收方城市", "收方市"),
    "district": ("收方区县", "收方区/县"),
    "weight": ("实际重量(kg)", "计费重量(公斤)", "重量(公斤)"),
    "cod": ("代收货款金额", "代收货款金额(元)"),
    "declared_value": ("声明价值(元)", "保价声明价值"),
    "sort_hint": ("路由标签", "目的地代码"),
}
