"""China Post (中国邮政) trace vocabulary: the EMS open platform's, shared from ``carriers.ems.codes``.

China Post parcels (邮政快递包裹) and registered items are traced on the same platform (api.ems.com.cn) with
the same ``opCode``, ``deliverCode`` and ``attemptDeliveryCode`` tables, so nothing is copied here.
"""

from __future__ import annotations

from carriers.ems.codes import (
    ATTEMPT_CODES,
    DELIVER_CODES,
    FAILURE_TEXT,
    FAILURES,
    INBOUND,
    NAMESPACE,
    OP_NAMES,
    OUTBOUND,
    VOIDS,
)

__all__ = [
    "ATTEMPT_CODES",
    "DELIVER_CODES",
    "FAILURES",
    "FAILURE_TEXT",
    "INBOUND",
    "NAMESPACE",
    "OP_NAMES",
    "OUTBOUND",
    "VOIDS",
]
