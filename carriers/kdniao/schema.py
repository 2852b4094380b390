"""kdniao (快递鸟) trace push (轨迹订阅推送).

Envelope: form fields ``RequestData`` (JSON), ``DataSign``, ``RequestType`` (``101`` plain push, ``102``
value-added push; another value is refused as not a tracking push) and sometimes ``DataType=2``.
``RequestData`` holds ``{EBusinessID, PushTime, Count, Data[{EBusinessID, ShipperCode, LogisticCode,
Success, Reason, OrderCode, State, StateEx, Location, Station, DeliveryMan, …, Traces[{AcceptTime,
AcceptStation, Location, Action, Remark}]}]}`` (misu99/kdniao request/monitor_subscribe_push_request.go).
The subscriber answers ``{"EBusinessID": …, "UpdateTime": …, "Success": true, "Reason": ""}`` (the caller's
job).

Signature, byte for byte as implemented: ``DataSign = URLEncode(Base64(hex))`` where ``hex`` is the
32-character lower-case hexadecimal MD5 of the UTF-8 bytes of ``RequestData + AppKey`` — Base64 over the hex
*text*, not over the 16 raw digest bytes, as kdniao's SDKs do (menduo/kdniao_python kdniao/api.py
``__sign``: ``b64encode(md5(data + app_key).hexdigest())``), so the value is 44 characters ending in ``=``.
``RequestData`` is the form field after form decoding, exactly as sent. The outer URL encoding is undone by
form decoding; a DataSign URL-encoded twice, or with ``+`` sent raw (read back as a space), is accepted too.
Because the public field description only says "Base64(MD5(...))", Base64 of the 16 raw digest bytes
(24 characters) is accepted as well. ``AppKey`` is the carrier account's signing secret.

Each ``Traces[]`` entry is one event for its ``Data[]`` item's ``LogisticCode``; kdniao resends the whole
history (oldest first) on every push. A trace's ``Action`` gives its status (``codes.CODES``); the item's
``StateEx`` (else ``State``) describes the parcel *now*, so it only stands in for the newest trace (latest
``AcceptTime``) when that trace has no ``Action`` (the plain push has none). An older trace without
``Action`` is reported as a warning and skipped. An item with ``Success: false`` and no traces yields
nothing.

The brand: ``ShipperCode`` is kdniao's company code (``ZTO``, ``EMS``, ``YZPY`` …); events keep it in
``raw_namespace`` as ``kdniao:<ShipperCode>``. ``raw_code`` is the ``Action`` (or stand-in state) code,
``description`` is ``AcceptStation`` and ``city`` is ``Location``.

Parcels: kdniao carries tracking only; ``parse_parcels`` refuses every payload, manifest files included.

Rendering our event gives one ``Traces[]`` entry plus ``LogisticCode`` so it can be read back alone;
``ShipperCode`` is left out (an event does not know kdniao's code for its brand). Fields we add, after the
PDD last-mile trace template: ``siteNo``, ``siteName``, ``siteType`` (our ``SiteType`` value), ``failReason``
(``codes.FAILURE_TEXT``), ``pickupCode`` and ``signer``. Such a trace, a list of them, one ``Data[]`` item or
the whole ``RequestData`` object is accepted as a JSON body; a JSON body carries no signature
(``verify_signature`` returns None for it).
"""

from __future__ import annotations

TRACE_FIELDS = ("AcceptTime", "AcceptStation", "Location", "Action", "Remark")
ITEM_FIELDS = ("ShipperCode", "LogisticCode", "Success", "Reason", "State", "StateEx", "Traces")
PUSH_REQUEST_TYPES = ("101", "102")

# unified field -> kdniao field name (events only: kdniao carries no parcels)
FIELD_NAMES = {"waybill_no": "LogisticCode"}

MANIFEST_COLUMNS: dict[str, tuple[str, ...]] = {}
