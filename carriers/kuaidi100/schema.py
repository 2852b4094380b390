"""kuaidi100 (快递100) subscription push (poll.kuaidi100.com 订阅推送).

Envelope: form fields ``param`` (JSON) and ``sign = MD5(param + salt)`` as hex. kuaidi100 sends upper-case
hex; the comparison ignores case. ``salt`` is the secret the subscriber chose when subscribing, which is the
carrier account's signing secret here. ``param`` holds ``{status (polling | shutdown | abort | updateall),
billstatus, message, autoCheck, comOld, comNew, lastResult{message, state, status, condition, ischeck, com,
nu, data[{time, ftime, context, areaCode, areaName, status}]}}``
(https://apifox.com/apidoc/project-514987/api-8575995). The subscriber acknowledges with
``{"result": true, "returnCode": "200", "message": "成功"}`` (the caller's job).

Each ``data[]`` entry is one event for ``lastResult.nu``; kuaidi100 resends the whole history on every push,
newest first by default, so the event store's de-duplication matters. An entry's own ``status`` text gives
its status (see ``codes.STATUS_TEXT``). ``lastResult.state`` is the parcel's state *now*, so it only stands
in for the newest entry (latest ``ftime``) when that entry has no ``status``. An older entry without
``status`` cannot be placed; it is reported as a warning and skipped (it was the newest of an earlier push).

The brand: ``lastResult.com`` is kuaidi100's company code (``zhongtong``, ``youzhengguonei`` …); when
``autoCheck`` is ``1`` kuaidi100 corrected it and ``comNew`` is used. Events keep it in ``raw_namespace`` as
``kuaidi100:<com>`` (at most 32 characters); ``raw_code`` is the entry's ``status`` text or, where the state
stood in, the ``state`` number. ``description`` keeps ``context`` as written, and ``city`` is ``areaName``.

Parcels: kuaidi100 carries tracking only; ``parse_parcels`` refuses every payload, manifest files included.

Rendering our event gives one ``data[]`` entry plus what it needs to be read back alone: ``nu`` (the waybill
number) and ``state`` (the numeric state for this entry). ``com`` is left out — an event does not know
kuaidi100's code for its brand. ``areaCode`` is left out (no administrative code on our events). Fields we
add, after the PDD last-mile trace template: ``siteNo``, ``siteName``, ``siteType`` (our ``SiteType``
value), ``failReason`` (``codes.FAILURE_TEXT``), ``pickupCode`` and ``signer``. Such an entry, a list of
them, ``lastResult`` alone or the whole ``param`` object is accepted as a JSON body; a JSON body carries no
signature (``verify_signature`` returns None for it).
"""

from __future__ import annotations

ENTRY_FIELDS = ("time", "ftime", "context", "areaCode", "areaName", "status")
ENVELOPE_FIELDS = ("status", "billstatus", "message", "autoCheck", "comOld", "comNew", "lastResult")
LAST_RESULT_FIELDS = ("message", "state", "status", "condition", "ischeck", "com", "nu", "data")

# unified field -> kuaidi100 field name (events only: kuaidi100 carries no parcels)
FIELD_NAMES = {"waybill_no": "nu"}

MANIFEST_COLUMNS: dict[str, tuple[str, ...]] = {}
