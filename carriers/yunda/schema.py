"""Yunda (韵达) wire formats.

Signature: every body is JSON, sent with headers ``app-key``, ``req-time`` (epoch ms) and
``sign = MD5hex(body + "_" + appSecret)`` (lower-case hex over the exact body bytes). Pushes to us are
assumed to be signed the same way as Yunda's open-platform requests.

Push (轨迹推送). Yunda publishes the subscription call (``/openapi/outer/logictis/subscribe
{orders[{orderid, mailno}]}``) but no example of the push body, so the body is modelled on the query reply
(``data{mailno, status, steps[{time, action, description, city}]}``) and the subscription's ``orders``::

    {"orders": [{"orderid": "…", "mailno": "…", "status": "TRANSIT", "steps": [step, …]}]}

Also accepted: the query reply itself (``{"result", "code", "message", "data": {…}}``), one order object,
an array of orders, and bare steps that carry their own ``mailno`` (what ``render_event`` writes). Each
step is one record; issue indices count steps across the whole body in order.

Step fields: ``time`` (yyyy-MM-dd HH:mm:ss Beijing), ``action`` (codes.py), ``description``, ``city`` from
the query reply; and ours, named in the snake_case of Yunda's order API, since Yunda shows none:
``station_no``, ``station_name`` (the scanning site), ``station_type`` (``county_center``, ``hub``,
``station``, ``locker``, ``vehicle``, ``other``; or the words 网点/中转/分拨/驿站/代收点/快递柜),
``reason`` (why an attempt failed, text as in codes.FAILURE_TEXT), ``signer``, ``signer_type``
(``recipient`` | ``agent``), ``pickup_code`` (取件码), ``step_id`` (for dropping repeated pushes).

Parcels (JSON): after Yunda's order API (电子面单下单) — ``{"orders": [order, …]}``, a bare array or one
order, each ``{mailno, order_serial_no, receiver{name, mobile | phone, province, city, county, address,
company}, weight (kg), value (declared value, yuan), collection_value (代收货款, yuan), position}``;
``position`` is the 大头笔/三段码 printed on the label (named after the label data; our choice).
"""

from __future__ import annotations

STEP_FIELDS = (
    "mailno",
    "time",
    "action",
    "description",
    "city",
    "station_no",
    "station_name",
    "station_type",
    "reason",
    "signer",
    "signer_type",
    "pickup_code",
    "step_id",
)

# unified field -> Yunda field name, for issues in Yunda's vocabulary
FIELD_NAMES = {
    "waybill_no": "mailno",
    "recipient.name": "receiver.name",
    "recipient.phone": "receiver.mobile",
    "address": "receiver.address",
    "weight_g": "weight",
    "sort_hint": "position",
    "cod_fen": "collection_value",
    "declared_value_fen": "value",
}

# extra manifest column names Yunda's 到件清单 uses
MANIFEST_COLUMNS: dict[str, tuple[str, ...]] = {
    "waybill_no": ("韵达单号", "韵达运单号"),
    "sort_hint": ("大头笔信息", "三段码信息"),
}
