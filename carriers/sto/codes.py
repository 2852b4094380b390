"""STO (申通) trace ``scanType`` names <-> canonical statuses (CARRIER-FACTS.md, STO).

Where the facts are silent, the choices are ours and documented here:
- 驿站代收 / 柜机代收 (a station or locker took the parcel in, the recipient collects it) read as
  ``at_station``; 快件取出 and 驿站出库 (the recipient took it out) as ``delivered_recipient``.
- 签收 is one name for every signature. A signature by someone standing in for the recipient is told
  apart by the words STO writes in ``memo`` or ``signoffPeople`` (代签收, 代收); we write those words when
  we render a ``delivered_agent`` event (see ``AGENT_MARKERS``).
- 问题件 reads as ``exception`` when ``issueName`` names one of ``carriers.unified.HOLDING_REASONS``
  (wrong sort, out of area, damaged, overdue at a station) and as ``failed_attempt`` otherwise; a
  refusal stays a failed attempt with reason ``refused`` (as for ZTO). 改地址件 and the deprecated 留仓件
  read as ``exception``.
- 退回件 reads as ``returned`` (the parcel leaves our hands for the sender). 第三方代派 (a third party
  such as a shared-delivery centre delivers) reads as ``out_for_delivery``; 转邮/转同行 (handed to
  China Post or another carrier) as ``loaded``; the older 装袋 as ``sorted``.
- Deprecated names: 派件入柜 and 第三方代收 read as ``at_station`` (they were replaced by 柜机代收 and
  驿站代收), 代取快递 as ``delivered_recipient`` (replaced by 快件取出).
"""

from __future__ import annotations

from carriers.base import FailureTexts
from carriers.unified import FailureReason, ParcelStatus

NAMESPACE = "scanType"

INBOUND: dict[str, ParcelStatus] = {
    "收件": ParcelStatus.PICKED_UP,
    "装袋": ParcelStatus.SORTED,
    "发件": ParcelStatus.LOADED,
    "转邮": ParcelStatus.LOADED,
    "转同行": ParcelStatus.LOADED,
    "到件": ParcelStatus.HUB_RECEIVED,
    "派件": ParcelStatus.OUT_FOR_DELIVERY,
    "第三方代派": ParcelStatus.OUT_FOR_DELIVERY,
    "驿站代收": ParcelStatus.AT_STATION,
    "柜机代收": ParcelStatus.AT_STATION,
    "派件入柜": ParcelStatus.AT_STATION,
    "第三方代收": ParcelStatus.AT_STATION,
    "快件取出": ParcelStatus.DELIVERED_RECIPIENT,
    "驿站出库": ParcelStatus.DELIVERED_RECIPIENT,
    "代取快递": ParcelStatus.DELIVERED_RECIPIENT,
    "签收": ParcelStatus.DELIVERED_RECIPIENT,
    "客户签收": ParcelStatus.DELIVERED_RECIPIENT,
    "问题件": ParcelStatus.FAILED_ATTEMPT,
    "改地址件": ParcelStatus.EXCEPTION,
    "留仓件": ParcelStatus.EXCEPTION,
    "退回件": ParcelStatus.RETURNED,
}

SIGNATURES = frozenset({"签收", "客户签收"})
LOCKER_SCANS = frozenset({"柜机代收", "派件入柜"})
STATION_SCANS = frozenset({"驿站代收", "第三方代收", "快件取出", "驿站出库", "代取快递"})

OUTBOUND: dict[ParcelStatus, str] = {
    ParcelStatus.PICKED_UP: "收件",
    ParcelStatus.HUB_RECEIVED: "到件",
    ParcelStatus.SORTED: "到件",
    ParcelStatus.LOADED: "发件",
    ParcelStatus.OUT_FOR_DELIVERY: "派件",
    ParcelStatus.AT_STATION: "驿站代收",  # 柜机代收 when the site is a locker
    ParcelStatus.DELIVERED_RECIPIENT: "签收",  # 快件取出 when collected with a pickup code
    ParcelStatus.DELIVERED_AGENT: "签收",
    ParcelStatus.FAILED_ATTEMPT: "问题件",
    ParcelStatus.EXCEPTION: "问题件",
    ParcelStatus.REFUSED: "问题件",
    ParcelStatus.RETURNED: "退回件",
}

# opOrgType: 1 网点/承包区, 2 中转/分拨中心, 3 代收点/门店/柜机
ORG_TYPE_HUB = ("1", "2")
ORG_TYPE_STATION = "3"

# Words in memo/signoffPeople that mark a signature by an agent rather than the recipient.
AGENT_MARKERS = ("代签收", "代收", "代签")
AGENT_MEMO = "已由{site}代签收"

# Failure reasons as STO's 问题件 ``issueName`` words them; read back by prefix.
FAILURE_TEXT: dict[FailureReason, str] = {
    FailureReason.REFUSED: "客户拒收",
    FailureReason.ADDRESS_NOT_FOUND: "地址不详",
    FailureReason.NOBODY_HOME: "客户不在",
    FailureReason.UNREACHABLE: "电话无人接听",
    FailureReason.DAMAGED: "快件破损",
    FailureReason.WRONG_SORT: "错分件",
    FailureReason.OUT_OF_AREA: "超区件",
    FailureReason.OVERDUE_AT_STATION: "驿站滞留超时",
    FailureReason.RESCHEDULED: "客户要求改期派送",
    FailureReason.OTHER: "其他原因",
}

# Keywords for free-text reasons, in the order they are tried (电话 before 无人).
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
