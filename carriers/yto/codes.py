"""YTO (圆通) push track codes (``infoContent``) <-> canonical statuses (CARRIER-FACTS.md, YTO).

Where the facts are silent, the choices are ours and documented here:
- ``SIGNED`` is one code for every signature. A signature by someone standing in for the recipient
  (驿站, 门卫, 家人 …) is told apart by the words YTO writes in ``remark`` or ``signedName`` (代签收, 代收);
  we write those words when we render a ``delivered_agent`` event (see ``AGENT_MARKERS``).
- ``FAILED`` (签收失败) covers every failed or held parcel: it reads as ``exception`` when the reason is one
  of ``carriers.unified.HOLDING_REASONS`` (wrong sort, out of area, damaged, overdue at a station) and as
  ``failed_attempt`` otherwise. A refusal stays a failed attempt with reason ``refused`` (as for ZTO).
- ``NOT_SEND`` (揽收失败) is a failed pick-up attempt; ``FORWARDING`` is read as in transit (loaded);
  ``AIRSEND``/``AIRPICK`` as departure/arrival by air; ``TMS_RETURN`` as returned; ``WITHDRAW`` (取消) as
  cancelled; ``CREATE``/``ACCEPT`` as announced.
"""

from __future__ import annotations

from carriers.base import FailureTexts
from carriers.unified import FailureReason, ParcelStatus

NAMESPACE = "infoContent"

INBOUND: dict[str, ParcelStatus] = {
    "CREATE": ParcelStatus.ANNOUNCED,
    "ACCEPT": ParcelStatus.ANNOUNCED,
    "GOT": ParcelStatus.PICKED_UP,
    "NOT_SEND": ParcelStatus.FAILED_ATTEMPT,
    "DEPARTURE": ParcelStatus.LOADED,
    "AIRSEND": ParcelStatus.LOADED,
    "FORWARDING": ParcelStatus.LOADED,
    "ARRIVAL": ParcelStatus.HUB_RECEIVED,
    "AIRPICK": ParcelStatus.HUB_RECEIVED,
    "SENT_SCAN": ParcelStatus.OUT_FOR_DELIVERY,
    "INBOUND": ParcelStatus.AT_STATION,
    "SIGNED": ParcelStatus.DELIVERED_RECIPIENT,
    "FAILED": ParcelStatus.FAILED_ATTEMPT,
    "TMS_RETURN": ParcelStatus.RETURNED,
    "WITHDRAW": ParcelStatus.CANCELLED,
}

# Order-status codes that say nothing about where the parcel is; a push with one is reported, not guessed.
NOT_TRACKING = frozenset({"UNACCEPT", "UPDATE", "PRINTED", "NOPRINT"})

OUTBOUND: dict[ParcelStatus, str] = {
    ParcelStatus.PICKED_UP: "GOT",
    ParcelStatus.HUB_RECEIVED: "ARRIVAL",
    ParcelStatus.SORTED: "ARRIVAL",
    ParcelStatus.LOADED: "DEPARTURE",
    ParcelStatus.OUT_FOR_DELIVERY: "SENT_SCAN",
    ParcelStatus.AT_STATION: "INBOUND",
    ParcelStatus.DELIVERED_RECIPIENT: "SIGNED",
    ParcelStatus.DELIVERED_AGENT: "SIGNED",
    ParcelStatus.FAILED_ATTEMPT: "FAILED",
    ParcelStatus.EXCEPTION: "FAILED",
    ParcelStatus.REFUSED: "FAILED",
    ParcelStatus.RETURNED: "TMS_RETURN",
    ParcelStatus.CANCELLED: "WITHDRAW",
}

# Words in remark/signedName that mark a signature by an agent rather than the recipient.
AGENT_MARKERS = ("代签收", "代收", "代签")
AGENT_REMARK = "已由{site}代签收"

# Failure reasons as we write them in ``failReason``; read back by prefix.
FAILURE_TEXT: dict[FailureReason, str] = {
    FailureReason.REFUSED: "收件人拒收",
    FailureReason.ADDRESS_NOT_FOUND: "地址不详",
    FailureReason.NOBODY_HOME: "收件人不在",
    FailureReason.UNREACHABLE: "电话无人接听",
    FailureReason.DAMAGED: "快件破损",
    FailureReason.WRONG_SORT: "错分件",
    FailureReason.OUT_OF_AREA: "超派送范围",
    FailureReason.OVERDUE_AT_STATION: "驿站滞留超时",
    FailureReason.RESCHEDULED: "客户要求改期派送",
    FailureReason.OTHER: "其他原因",
}

# Keywords for free-text reasons YTO writes itself, in the order they are tried (电话 before 无人:
# "电话无人接听" is unreachable, not nobody home).
FAILURE_KEYWORDS: tuple[tuple[str, FailureReason], ...] = (
    ("拒", FailureReason.REFUSED),
    ("电话", FailureReason.UNREACHABLE),
    ("联系不上", FailureReason.UNREACHABLE),
    ("空号", FailureReason.UNREACHABLE),
    ("地址", FailureReason.ADDRESS_NOT_FOUND),
    ("不在", FailureReason.NOBODY_HOME),
    ("无人", FailureReason.NOBODY_HOME),
    ("破损", FailureReason.DAMAGED),
    ("错分", FailureReason.WRONG_SORT),
    ("超区", FailureReason.OUT_OF_AREA),
    ("超派", FailureReason.OUT_OF_AREA),
    ("滞留", FailureReason.OVERDUE_AT_STATION),
    ("改期", FailureReason.RESCHEDULED),
    ("另约", FailureReason.RESCHEDULED),
)

FAILURES = FailureTexts(FAILURE_TEXT, FAILURE_KEYWORDS)
