"""J&T (极兔) trace nodes, scan-type names and problem codes <-> canonical statuses (CARRIER-FACTS.md, J&T).

A trace detail names its scan by ``scanType`` (the Chinese name) and, in some regional documents, by the
node number in ``scanTypeCode``/``traceNode`` (1–14). The name wins when it is known: J&T's operations
system uses other numbers (10 揽收, 100 签收 …) that could arrive in ``scanTypeCode``, and node 10 would then
be misread. JMS numbers are not accepted.

Choices where the facts are silent (ours):
- 7 代理点收入扫描 (an agent point took the parcel in on the recipient's behalf) is ``delivered_agent``;
  6 入库扫描 (驿站/柜) is ``at_station``; 9 出库扫描 (collected with the pickup code) and 10 快件签收 are
  ``delivered_recipient``.
- 8 快件取出扫描 (the courier took the parcel back out of a station or locker) is ``exception``: no longer
  at the station and not delivered.
- 2 入仓扫描 (retired), 12 安检扫描 and 13 其他扫描 are scans inside J&T's network: in transit
  (``hub_received``). 14 退件扫描 is ``returned``.
- 11 问题件扫描 takes its status and failure reason from ``problemType`` (``PROBLEMS``): refusals are
  ``refused``, failed contact/address/time problems ``failed_attempt``, the rest ``exception``; with no
  or an unknown problem code it is ``exception``. The reason can be refined by the text in ``failReason``
  (ours, after the PDD trace template), which is how we tell nobody-home (A10 + 收件人不在家) from an
  unanswered phone (A9).
"""

from __future__ import annotations

from carriers.base import FailureTexts
from carriers.unified import FailureReason, ParcelStatus

PROBLEM_NODE = "11"

# node number -> (Chinese scanType name, status)
NODES: dict[str, tuple[str, ParcelStatus]] = {
    "1": ("快件揽收", ParcelStatus.PICKED_UP),
    "2": ("入仓扫描", ParcelStatus.HUB_RECEIVED),
    "3": ("发件扫描", ParcelStatus.LOADED),
    "4": ("到件扫描", ParcelStatus.HUB_RECEIVED),
    "5": ("出仓扫描", ParcelStatus.OUT_FOR_DELIVERY),
    "6": ("入库扫描", ParcelStatus.AT_STATION),
    "7": ("代理点收入扫描", ParcelStatus.DELIVERED_AGENT),
    "8": ("快件取出扫描", ParcelStatus.EXCEPTION),
    "9": ("出库扫描", ParcelStatus.DELIVERED_RECIPIENT),
    "10": ("快件签收", ParcelStatus.DELIVERED_RECIPIENT),
    "11": ("问题件扫描", ParcelStatus.EXCEPTION),
    "12": ("安检扫描", ParcelStatus.HUB_RECEIVED),
    "13": ("其他扫描", ParcelStatus.HUB_RECEIVED),
    "14": ("退件扫描", ParcelStatus.RETURNED),
}

# Chinese scanType name (and short forms seen in trace texts) -> node number
NAMES: dict[str, str] = {name: node for node, (name, _status) in NODES.items()}
NAMES.update(
    {
        "揽收": "1",
        "揽件": "1",
        "发件": "3",
        "到件": "4",
        "派件": "5",
        "派件扫描": "5",
        "出仓": "5",
        "入库": "6",
        "快件取出": "8",
        "出库": "9",
        "签收": "10",
        "问题件": "11",
        "退件": "14",
    }
)

# problemType -> (status, failure reason) for node 11
PROBLEMS: dict[str, tuple[ParcelStatus, FailureReason]] = {
    "A1": (ParcelStatus.CANCELLED, FailureReason.OTHER),  # 客户取消寄件-网点
    "A2": (ParcelStatus.REFUSED, FailureReason.REFUSED),  # 客户拒收
    "A3": (ParcelStatus.EXCEPTION, FailureReason.OTHER),  # 更改派送地址
    "A4": (ParcelStatus.EXCEPTION, FailureReason.OTHER),  # 退回件-网点
    "A7": (ParcelStatus.EXCEPTION, FailureReason.OTHER),  # 异常件提醒
    "A8": (ParcelStatus.EXCEPTION, FailureReason.DAMAGED),  # 包裹异常-网点
    "A9": (ParcelStatus.FAILED_ATTEMPT, FailureReason.UNREACHABLE),  # 收件人联系不上
    "A10": (ParcelStatus.FAILED_ATTEMPT, FailureReason.UNREACHABLE),  # 收件人联系不上
    "A11": (ParcelStatus.FAILED_ATTEMPT, FailureReason.OTHER),  # 多次派件失败
    "A12": (ParcelStatus.FAILED_ATTEMPT, FailureReason.OTHER),  # 收件人信息错误
    "A13": (ParcelStatus.FAILED_ATTEMPT, FailureReason.RESCHEDULED),  # 更改派送时间
    "A14": (ParcelStatus.REFUSED, FailureReason.REFUSED),  # 客户拒收
    "A15": (ParcelStatus.FAILED_ATTEMPT, FailureReason.ADDRESS_NOT_FOUND),  # 收件地址不详
    "A16": (ParcelStatus.FAILED_ATTEMPT, FailureReason.ADDRESS_NOT_FOUND),  # 收件地址错误
    "A17": (ParcelStatus.EXCEPTION, FailureReason.OTHER),  # 包裹存放至网点
    "A18": (ParcelStatus.EXCEPTION, FailureReason.OTHER),  # 包裹存放至网点
    "A19": (ParcelStatus.EXCEPTION, FailureReason.OUT_OF_AREA),  # 收件地址禁止
    "A20": (ParcelStatus.EXCEPTION, FailureReason.DAMAGED),  # 包裹异常
    "A21": (ParcelStatus.EXCEPTION, FailureReason.OTHER),  # 包裹暂存网点
    "A23": (ParcelStatus.EXCEPTION, FailureReason.OTHER),  # 包裹延迟-节假日
    "A24": (ParcelStatus.EXCEPTION, FailureReason.DAMAGED),  # 包裹异常-中心
    "A25": (ParcelStatus.EXCEPTION, FailureReason.OTHER),  # 退回件-中心
    "A26": (ParcelStatus.CANCELLED, FailureReason.OTHER),  # 客户取消寄件-中心
    "A27": (ParcelStatus.EXCEPTION, FailureReason.OTHER),  # 异常天气
    "A28": (ParcelStatus.EXCEPTION, FailureReason.OTHER),  # 自然灾害
    "A29": (ParcelStatus.REFUSED, FailureReason.REFUSED),  # 代收/到付结算异议拒付
    "A30": (ParcelStatus.EXCEPTION, FailureReason.OTHER),  # 货未到齐
    "A31": (ParcelStatus.CANCELLED, FailureReason.OTHER),  # 作废件
    "A32": (ParcelStatus.EXCEPTION, FailureReason.OTHER),  # 未录进仓编码
    "A33": (ParcelStatus.EXCEPTION, FailureReason.OTHER),  # 政府管制
    "A34": (ParcelStatus.EXCEPTION, FailureReason.OUT_OF_AREA),  # 乡镇件
    "A35": (ParcelStatus.REFUSED, FailureReason.REFUSED),  # 发票问题客户拒收
}

# Our status -> node we send back (problems are node 11 with a code from PROBLEM_CODES).
OUTBOUND: dict[ParcelStatus, str] = {
    ParcelStatus.PICKED_UP: "1",
    ParcelStatus.HUB_RECEIVED: "4",
    ParcelStatus.SORTED: "4",
    ParcelStatus.LOADED: "3",
    ParcelStatus.OUT_FOR_DELIVERY: "5",
    ParcelStatus.AT_STATION: "6",
    ParcelStatus.DELIVERED_AGENT: "7",
    ParcelStatus.DELIVERED_RECIPIENT: "10",
    ParcelStatus.FAILED_ATTEMPT: PROBLEM_NODE,
    ParcelStatus.EXCEPTION: PROBLEM_NODE,
    ParcelStatus.REFUSED: PROBLEM_NODE,
    ParcelStatus.RETURNED: "14",
}
PICKUP_CODE_SIGNED = "9"  # delivered_recipient with a pickup code: 出库扫描 (凭取件码签收)

# (status, reason) -> problemType; each code maps back to the same status in PROBLEMS.
PROBLEM_CODES: dict[ParcelStatus, dict[FailureReason, str]] = {
    ParcelStatus.FAILED_ATTEMPT: {
        FailureReason.UNREACHABLE: "A9",
        FailureReason.NOBODY_HOME: "A10",
        FailureReason.ADDRESS_NOT_FOUND: "A15",
        FailureReason.RESCHEDULED: "A13",
    },
    ParcelStatus.EXCEPTION: {
        FailureReason.DAMAGED: "A8",
        FailureReason.OUT_OF_AREA: "A34",
    },
    ParcelStatus.REFUSED: {},
}
DEFAULT_PROBLEM: dict[ParcelStatus, str] = {
    ParcelStatus.FAILED_ATTEMPT: "A11",
    ParcelStatus.EXCEPTION: "A7",
    ParcelStatus.REFUSED: "A2",
}

# Failure reasons as we write them in ``failReason``; read back by prefix, then by the keywords below.
FAILURE_TEXT: dict[FailureReason, str] = {
    FailureReason.REFUSED: "客户拒收",
    FailureReason.ADDRESS_NOT_FOUND: "收件地址不详",
    FailureReason.NOBODY_HOME: "收件人不在家",
    FailureReason.UNREACHABLE: "收件人联系不上",
    FailureReason.DAMAGED: "包裹破损",
    FailureReason.WRONG_SORT: "错分件",
    FailureReason.OUT_OF_AREA: "超区件",
    FailureReason.OVERDUE_AT_STATION: "驿站滞留超时",
    FailureReason.RESCHEDULED: "更改派送时间",
    FailureReason.OTHER: "其他原因",
}

# Checked in order: the more specific words first.
FAILURE_KEYWORDS: tuple[tuple[str, FailureReason], ...] = (
    ("拒", FailureReason.REFUSED),
    ("破损", FailureReason.DAMAGED),
    ("错分", FailureReason.WRONG_SORT),
    ("超区", FailureReason.OUT_OF_AREA),
    ("滞留", FailureReason.OVERDUE_AT_STATION),
    ("超时未取", FailureReason.OVERDUE_AT_STATION),
    ("不在家", FailureReason.NOBODY_HOME),
    ("无人在家", FailureReason.NOBODY_HOME),
    ("联系不上", FailureReason.UNREACHABLE),
    ("电话", FailureReason.UNREACHABLE),
    ("改期", FailureReason.RESCHEDULED),
    ("派送时间", FailureReason.RESCHEDULED),
    ("地址", FailureReason.ADDRESS_NOT_FOUND),
)

FAILURES = FailureTexts(FAILURE_TEXT, FAILURE_KEYWORDS)
