"""The operator's fleet: vehicles, drivers, and drivers' per-shift tokens.

A driver token (``gpt_…``, 256 bits) is shown once and stored as its SHA-256 digest with a visible
prefix, like every key here. It lives one shift (``GONGPEI_DRIVER_TOKEN_HOURS``), is bound to the first
device that presents it, and can be revoked; unknown, expired, revoked and other-device tokens all get
the same ``Unauthorized``.
"""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from dispatch.accounts.service import IssuedKey, get_operator, hash_key, new_key
from dispatch.db import utcnow
from dispatch.errors import NotFound, Unauthorized, ValidationFailed
from dispatch.models import Driver, DriverToken, Vehicle

DRIVER_TOKEN_PREFIX = "gpt_"
MAX_CAPACITY_KG = 50_000
"""Heavier than any van a county shared-delivery company runs: a typo, not a vehicle."""
_MAX_TOKEN_CHARS = 128
_MAX_DEVICE_CHARS = 64


@dataclass(frozen=True, slots=True)
class DriverContext:
    """Which driver is calling: derived from the token, never from the request."""

    driver_id: uuid.UUID
    operator_id: uuid.UUID
    vehicle_id: uuid.UUID | None
    token_id: uuid.UUID


def create_vehicle(
    session: Session,
    *,
    operator_id: uuid.UUID,
    plate: str,
    capacity_kg: float,
    capacity_volume_cm3: int | None = None,
    refrigerated: bool = False,
) -> Vehicle:
    """A vehicle of the operator; raises ``ValidationFailed`` for a blank or overlong plate or a capacity
    not in (0, 50,000] kg, ``NotFound`` for an unknown operator."""
    get_operator(session, operator_id=operator_id)
    plate = plate.strip()
    if not plate or len(plate) > 16:
        raise ValidationFailed.on("plate", "must be 1 to 16 characters")
    if not 0 < capacity_kg <= MAX_CAPACITY_KG:
        raise ValidationFailed.on("capacity_kg", f"must be more than 0 and at most {MAX_CAPACITY_KG:,}")
    if capacity_volume_cm3 is not None and capacity_volume_cm3 <= 0:
        raise ValidationFailed.on("capacity_volume_cm3", "must be positive when given")
    vehicle = Vehicle(
        operator_id=operator_id,
        plate_no=plate,
        capacity_weight_g=round(capacity_kg * 1000),
        capacity_volume_cm3=capacity_volume_cm3,
        refrigerated=refrigerated,
    )
    session.add(vehicle)
    session.flush()
    return vehicle


def create_driver(
    session: Session,
    *,
    operator_id: uuid.UUID,
    name: str,
    vehicle_id: uuid.UUID | None = None,
    token_hours: int,
) -> tuple[Driver, IssuedKey]:
    """A driver of the operator, on one of its vehicles, with a first shift token (returned once).

    Raises ``ValidationFailed`` for a blank name, ``NotFound`` for an unknown operator or a vehicle that
    is not the operator's."""
    get_operator(session, operator_id=operator_id)
    name = name.strip()
    if not name or len(name) > 64:
        raise ValidationFailed.on("name", "must be 1 to 64 characters")
    if vehicle_id is not None:
        vehicle = session.get(Vehicle, vehicle_id)
        if vehicle is None or vehicle.operator_id != operator_id:
            raise NotFound(f"vehicle {vehicle_id} not found")
    driver = Driver(operator_id=operator_id, name=name, vehicle_id=vehicle_id)
    session.add(driver)
    session.flush()
    return driver, issue_driver_token(session, driver_id=driver.id, hours=token_hours)


def issue_driver_token(session: Session, *, driver_id: uuid.UUID, hours: int) -> IssuedKey:
    """A token for the driver's next shift, valid ``hours`` from now; only its digest is stored."""
    if session.get(Driver, driver_id) is None:
        raise NotFound(f"driver {driver_id} not found")
    if not 1 <= hours <= 24:
        raise ValidationFailed.on("hours", "a shift token lives 1 to 24 hours")
    token, prefix, digest = new_key(DRIVER_TOKEN_PREFIX)
    record = DriverToken(
        driver_id=driver_id, prefix=prefix, key_sha256=digest, expires_at=utcnow() + timedelta(hours=hours)
    )
    session.add(record)
    session.flush()
    return IssuedKey(api_key=token, key_id=record.id, prefix=prefix)


def revoke_driver_token(session: Session, *, token_id: uuid.UUID) -> None:
    record = session.get(DriverToken, token_id)
    if record is None:
        raise NotFound(f"driver token {token_id} not found")
    if record.revoked_at is None:
        record.revoked_at = utcnow()


def authenticate_driver(session: Session, *, token: str, device_id: str) -> DriverContext:
    """The driver behind a shift token presented from ``device_id``; the first device to present it is
    bound to it. One identical ``Unauthorized`` for every refusal."""
    device_id = device_id.strip()
    if (
        not token.startswith(DRIVER_TOKEN_PREFIX)
        or len(token) > _MAX_TOKEN_CHARS
        or not 0 < len(device_id) <= _MAX_DEVICE_CHARS
    ):
        raise Unauthorized()
    digest = hash_key(token)
    row = session.execute(
        select(DriverToken, Driver)
        .join(Driver, Driver.id == DriverToken.driver_id)
        .where(DriverToken.key_sha256 == digest)
    ).one_or_none()
    if row is None:
        raise Unauthorized()
    record, driver = row
    if (
        not hmac.compare_digest(record.key_sha256, digest)
        or record.revoked_at is not None
        or record.expires_at <= utcnow()
        or not driver.active
    ):
        raise Unauthorized()
    if record.device_id is None:
        # Bind on first use; a concurrent first use from another device loses the race and is refused.
        result = session.execute(
            update(DriverToken)
            .where(DriverToken.id == record.id, DriverToken.device_id.is_(None))
            .values(device_id=device_id)
        )
        if not getattr(result, "rowcount", 0):
            session.refresh(record)
        else:
            set_committed_value(record, "device_id", device_id)
    if record.device_id is not None and record.device_id != device_id:
        raise Unauthorized()
    return DriverContext(
        driver_id=driver.id, operator_id=driver.operator_id, vehicle_id=driver.vehicle_id, token_id=record.id
    )
