"""ZTO (中通) push actions and query scan types <-> canonical statuses (CARRIER-FACTS.md, ZTO)."""

from __future__ import annotations

from carriers.base import FailureTexts
from carriers.unified import FailureReason, ParcelStatus

NAMESPACE = "action"

# Push `action` and query `scanType` (Chinese and numeric after 转单) -> our status.
INBOUND: dict[str, ParcelStatus] = {
    "GOT": ParcelStatus.PICKED_UP,
    "收件": ParcelStatus.PICKED_UP,
    "1": ParcelStatus.PICKED_UP,
    "DEPARTURE": ParcelStatus.LOADED,
    "发件": ParcelStatus.LOADED,
    "2": ParcelStatus.LOADED,
    "ARRIVAL": ParcelStatus.HUB_RECEIVED,
    "到件": ParcelStatus.HUB_RECEIVED,
    "3": ParcelStatus.HUB_RECEIVED,
    "DISPATCH": ParcelStatus.OUT_FOR_DELIVERY,
    "派件": ParcelStatus.OUT_FOR_DELIVERY,
    "4": ParcelStatus.OUT_FOR_DELIVERY,
    "INBOUND": ParcelStatus.AT_STATION,
    "44": ParcelStatus.AT_STATION,  # 第三方进站
    "SIGNED": ParcelStatus.DELIVERED_RECIPIENT,
    "签收": ParcelStatus.DELIVERED_RECIPIENT,
    "5": ParcelStatus.DELIVERED_RECIPIENT,
    "DEPARTURE_SIGNED": ParcelStatus.DELIVERED_RECIPIENT,  # 代收点凭取货码签收
    "45": ParcelStatus.DELIVERED_RECIPIENT,  # 第三方出站
    "HANDOVERSCAN_SIGNED": ParcelStatus.DELIVERED_AGENT,  # 投递至代收点
    "第三方签收": ParcelStatus.DELIVERED_AGENT,
    "7": ParcelStatus.DELIVERED_AGENT,
    "问题件": ParcelStatus.FAILED_ATTEMPT,
    "PROBLEM": ParcelStatus.FAILED_ATTEMPT,
    "退件": ParcelStatus.RETURNED,
    "退件签收": ParcelStatus.RETURNED,
    "RETURN": ParcelStatus.RETURNED,
    "8": ParcelStatus.RETURNED,
}

# Our status -> the push action we send back.
OUTBOUND: dict[ParcelStatus, str] = {
    ParcelStatus.PICKED_UP: "GOT",
    ParcelStatus.HUB_RECEIVED: "ARRIVAL",
    ParcelStatus.SORTED: "ARRIVAL",
    ParcelStatus.LOADED: "DEPARTURE",
    ParcelStatus.OUT_FOR_DELIVERY: "DISPATCH",
    ParcelStatus.AT_STATION: "INBOUND",
    ParcelStatus.DELIVERED_RECIPIENT: "SIGNED",
    ParcelStatus.DELIVERED_AGENT: "HANDOVERSCAN_SIGNED",
    ParcelStatus.FAILED_ATTEMPT: "PROBLEM",
    ParcelStatus.EXCEPTION: "PROBLEM",
    ParcelStatus.REFUSED: "PROBLEM",
    ParcelStatus.RETURNED: "RETURN",
}

# Failure reasons as ZTO's problem descriptions name them.
FAILURE_TEXT: dict[FailureReason, str] = {
    FailureReason.REFUSED: "收件人拒收",
    FailureReason.ADDRESS_NOT_FOUND: "地址不详",
    FailureReason.NOBODY_HOME: "无人签收",
    FailureReason.UNREACHABLE: "电话无人接听",
    FailureReason.DAMAGED: "快件破损",
    FailureReason.WRONG_SORT: "错分件",
    FailureReason.OUT_OF_AREA: "超区件",
    FailureReason.OVERDUE_AT_STATION: "代收点滞留超时",
    FailureReason.RESCHEDULED: "客户要求改期派送",
    FailureReason.OTHER: "其他原因",
}

# Keywords for free-text problem descriptions, in the order they are tried.
FAILURE_KEYWORDS: tuple[tuple[str, FailureReason], ...] = (
    ("拒", FailureReason.REFUSED),
    ("地址", FailureReason.ADDRESS_NOT_FOUND),
    ("无人", FailureReason.NOBODY_HOME),
    ("电话", FailureReason.UNREACHABLE),
    ("破损", FailureReason.DAMAGED),
    ("超区", FailureReason.OUT_OF_AREA),
)

FAILURES = FailureTexts(FAILURE_TEXT, FAILURE_KEYWORDS)
