"""Small typed builders for tests: tenants (carrier side), desk users and parcel records."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from carriers.unified import Brand
from dispatch.accounts import service as accounts
from dispatch.models import UserRole


@dataclass(frozen=True)
class Tenant:
    operator_id: uuid.UUID
    carrier_id: uuid.UUID
    api_key: str
    brand: Brand
    signing_secret: str = ""

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}


def make_tenant(
    session: Session,
    *,
    brand: Brand = Brand.ZTO,
    operator_id: uuid.UUID | None = None,
    timezone: str = "Asia/Shanghai",
) -> Tenant:
    """An operator (new unless given) with one carrier account and its API key."""
    if operator_id is None:
        operator_id = accounts.create_operator(
            session, name=f"县共配 {uuid.uuid4().hex[:6]}", county_code="210624", timezone=timezone
        ).id
    carrier, key = accounts.create_carrier(session, operator_id=operator_id, brand=brand)
    session.flush()
    return Tenant(
        operator_id=operator_id,
        carrier_id=carrier.id,
        api_key=key.api_key,
        brand=brand,
        signing_secret=carrier.signing_secret,
    )


@dataclass(frozen=True)
class DeskUser:
    operator_id: uuid.UUID
    user_id: uuid.UUID
    api_key: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}


def make_desk_user(
    session: Session,
    *,
    operator_id: uuid.UUID | None = None,
    county_code: str = "210624",
    role: UserRole = UserRole.DISPATCHER,
    timezone: str = "Asia/Shanghai",
) -> DeskUser:
    """A dispatch-desk user with its desk API key, in a new operator of ``county_code`` unless given."""
    if operator_id is None:
        operator_id = accounts.create_operator(
            session, name=f"县共配 {uuid.uuid4().hex[:6]}", county_code=county_code, timezone=timezone
        ).id
    user, key = accounts.create_desk_user(
        session, operator_id=operator_id, username=f"desk-{uuid.uuid4().hex[:8]}", role=role
    )
    session.flush()
    return DeskUser(operator_id=operator_id, user_id=user.id, api_key=key.api_key)


def waybill(rng: random.Random | None = None) -> str:
    r = rng or random
    return f"7{r.choice('3456')}{r.randrange(10**11, 10**12)}"


def record(**overrides: Any) -> dict[str, Any]:
    """A valid unified parcel record with a fresh waybill; keyword overrides replace fields."""
    base: dict[str, Any] = {
        "waybill_no": waybill(),
        "recipient": {"name": "王秀英", "phone": "13812345678"},
        "address": "辽宁省丹东市宽甸满族自治县青山沟镇青山村3组",
        "weight_g": 1200,
    }
    base.update(overrides)
    return base


def batch(*records: dict[str, Any]) -> dict[str, Any]:
    return {"parcels": list(records)}


def idem() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}
