"""Yunda (韵达) trace ``action`` codes <-> canonical statuses (CARRIER-FACTS.md, Yunda).

The facts give the vocabulary but not what each code means for a parcel; these choices are ours:
- ``ACCEPT`` (收件扫描) and ``GOT`` (揽件) are both a pick-up; ``ARRIVAL`` (入中转) is hub received and
  ``DEPARTURE`` (出中转) loaded; ``SENT`` (派件中) is out for delivery.
- ``INBOUND`` (第三方代收入库) is at a station. ``OUTBOUND`` (代收点快递员取出) means the courier took the
  parcel back out of the station before the recipient collected it: it is no longer at the station and not
  delivered, so it reads as ``exception`` (kdniao files 快件取出 under its problem codes too).
- ``SIGNED`` is one code for every signature; a station, locker or neighbour signing for the recipient is
  told apart by the trace field ``signer_type = "agent"`` (which we write for ``delivered_agent``) or by
  an agent word in ``signer`` (see ``AGENT_MARKERS``).
- ``SIGNFAIL`` is a failed attempt, ``ISSUE`` (问题件) an exception, ``REJECTION`` (拒收) refused, each with
  the reason read from the trace's ``reason`` text (or its description).
- ``RETURN`` is returned. ``TRANSFER`` (转单: the parcel goes on under another number or carrier) is an
  exception: it leaves this waybill's flow. ``OTHER`` is a scan inside Yunda's network with no finer
  meaning, read as in transit (hub received).
- The cross-border codes ``OVERSEA_*`` and ``CLEARANCE_*`` read as in transit, except ``CLEARANCE_FAIL``.
"""

from __future__ import annotations

from carriers.base import FailureTexts
from carriers.unified import FailureReason, ParcelStatus

NAMESPACE = "action"

INBOUND: dict[str, ParcelStatus] = {
    "ACCEPT": ParcelStatus.PICKED_UP,
    "GOT": ParcelStatus.PICKED_UP,
    "ARRIVAL": ParcelStatus.HUB_RECEIVED,
    "DEPARTURE": ParcelStatus.LOADED,
    "SENT": ParcelStatus.OUT_FOR_DELIVERY,
    "INBOUND": ParcelStatus.AT_STATION,
    "OUTBOUND": ParcelStatus.EXCEPTION,
    "SIGNED": ParcelStatus.DELIVERED_RECIPIENT,
    "SIGNFAIL": ParcelStatus.FAILED_ATTEMPT,
    "RETURN": ParcelStatus.RETURNED,
    "ISSUE": ParcelStatus.EXCEPTION,
    "REJECTION": ParcelStatus.REFUSED,
    "TRANSFER": ParcelStatus.EXCEPTION,
    "OTHER": ParcelStatus.HUB_RECEIVED,
    "OVERSEA_IN": ParcelStatus.HUB_RECEIVED,
    "OVERSEA_OUT": ParcelStatus.LOADED,
    "OVERSEA_ARRIVAL": ParcelStatus.HUB_RECEIVED,
    "OVERSEA_DEPARTURE": ParcelStatus.LOADED,
    "CLEARANCE_START": ParcelStatus.HUB_RECEIVED,
    "CLEARANCE_FINISH": ParcelStatus.HUB_RECEIVED,
    "CLEARANCE_FAIL": ParcelStatus.EXCEPTION,
}

# Codes whose events carry a failure reason (read from ``reason`` or the description).
WITH_REASON = frozenset({"SIGNFAIL", "ISSUE", "REJECTION", "CLEARANCE_FAIL"})

OUTBOUND: dict[ParcelStatus, str] = {
    ParcelStatus.PICKED_UP: "GOT",
    ParcelStatus.HUB_RECEIVED: "ARRIVAL",
    ParcelStatus.SORTED: "ARRIVAL",
    ParcelStatus.LOADED: "DEPARTURE",
    ParcelStatus.OUT_FOR_DELIVERY: "SENT",
    ParcelStatus.AT_STATION: "INBOUND",
    ParcelStatus.DELIVERED_RECIPIENT: "SIGNED",
    ParcelStatus.DELIVERED_AGENT: "SIGNED",
    ParcelStatus.FAILED_ATTEMPT: "SIGNFAIL",
    ParcelStatus.EXCEPTION: "ISSUE",
    ParcelStatus.REFUSED: "REJECTION",
    ParcelStatus.RETURNED: "RETURN",
}

SIGNER_AGENT = "agent"
SIGNER_RECIPIENT = "recipient"
AGENT_MARKERS = ("代收", "代签", "驿站", "快递柜", "丰巢", "门卫", "物业", "超市", "服务站")

# Failure reasons as we write them in ``reason``; read back by prefix, then by the keywords below.
FAILURE_TEXT: dict[FailureReason, str] = {
    FailureReason.REFUSED: "收件人拒收",
    FailureReason.ADDRESS_NOT_FOUND: "地址不详",
    FailureReason.NOBODY_HOME: "收件人不在家",
    FailureReason.UNREACHABLE: "电话无人接听",
    FailureReason.DAMAGED: "快件破损",
    FailureReason.WRONG_SORT: "错分件",
    FailureReason.OUT_OF_AREA: "超区件",
    FailureReason.OVERDUE_AT_STATION: "代收点滞留超时",
    FailureReason.RESCHEDULED: "客户要求改期派送",
    FailureReason.OTHER: "其他原因",
}

# Checked in order: the more specific words first ("电话无人接听" must not read as nobody home).
FAILURE_KEYWORDS: tuple[tuple[str, FailureReason], ...] = (
    ("拒", FailureReason.REFUSED),
    ("破损", FailureReason.DAMAGED),
    ("错分", FailureReason.WRONG_SORT),
    ("超区", FailureReason.OUT_OF_AREA),
    ("滞留", FailureReason.OVERDUE_AT_STATION),
    ("超时未取", FailureReason.OVERDUE_AT_STATION),
    ("改期", FailureReason.RESCHEDULED),
    ("另约", FailureReason.RESCHEDULED),
    ("电话", FailureReason.UNREACHABLE),
    ("联系不上", FailureReason.UNREACHABLE),
    ("不在家", FailureReason.NOBODY_HOME),
    ("无人", FailureReason.NOBODY_HOME),
    ("地址", FailureReason.ADDRESS_NOT_FOUND),
)

FAILURES = FailureTexts(FAILURE_TEXT, FAILURE_KEYWORDS)
