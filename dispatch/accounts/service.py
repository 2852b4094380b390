"""Operators, carrier accounts and their API keys."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from carriers.unified import Brand
from dispatch.db import utcnow
from dispatch.errors import NotFound, Unauthorized, ValidationFailed
from dispatch.models import ApiKey, CarrierAccount, Operator

KEY_PREFIX = "gpk_"
PREFIX_CHARS = 12
_COUNTY = re.compile(r"^\d{6}$")


def hash_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class IssuedKey:
    api_key: str  # shown once, never stored
    key_id: uuid.UUID
    prefix: str


@dataclass(frozen=True, slots=True)
class CarrierContext:
    """Who is calling: derived from the API key, never from the request body."""

    carrier_id: uuid.UUID
    operator_id: uuid.UUID
    brand: Brand
    timezone: str
    signing_secret: str = field(default="", repr=False)  # verifies signed pushes; never logged


def create_operator(session: Session, *, name: str, county_code: str, timezone: str) -> Operator:
    name = name.strip()
    if not name:
        raise ValidationFailed("name must not be blank", errors=[{"field": "name", "reason": "blank"}])
    if not _COUNTY.fullmatch(county_code):
        raise ValidationFailed(
            "county code must be the 6-digit NBS division code",
            errors=[{"field": "county", "reason": "must be 6 digits, e.g. 210624"}],
        )
    operator = Operator(name=name, county_code=county_code, timezone=timezone)
    session.add(operator)
    session.flush()
    return operator


def get_operator(session: Session, *, operator_id: uuid.UUID) -> Operator:
    operator = session.get(Operator, operator_id)
    if operator is None:
        raise NotFound(f"operator {operator_id} not found")
    return operator


def _check_callback_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ValidationFailed(
            "callback URL must be an absolute http(s) URL",
            errors=[{"field": "callback_url", "reason": "must be an absolute http(s) URL"}],
        )
    return url


def create_carrier(
    session: Session,
    *,
    operator_id: uuid.UUID,
    brand: Brand,
    name: str | None = None,
    callback_url: str | None = None,
) -> tuple[CarrierAccount, IssuedKey]:
    get_operator(session, operator_id=operator_id)
    carrier = CarrierAccount(
        operator_id=operator_id,
        brand=brand,
        name=name,
        callback_url=_check_callback_url(callback_url) if callback_url else None,
        signing_secret=secrets.token_urlsafe(32),
    )
    session.add(carrier)
    session.flush()
    return carrier, issue_key(session, carrier_id=carrier.id)


def issue_key(session: Session, *, carrier_id: uuid.UUID, expires_at: datetime | None = None) -> IssuedKey:
    """A new 256-bit key; only its SHA-256 and visible prefix are stored."""
    api_key = KEY_PREFIX + secrets.token_urlsafe(32)
    record = ApiKey(
        carrier_id=carrier_id,
        prefix=api_key[:PREFIX_CHARS],
        key_sha256=hash_key(api_key),
        expires_at=expires_at,
    )
    session.add(record)
    session.flush()
    return IssuedKey(api_key=api_key, key_id=record.id, prefix=record.prefix)


def revoke_key(session: Session, *, key_id: uuid.UUID) -> None:
    record = session.get(ApiKey, key_id)
    if record is None:
        raise NotFound(f"API key {key_id} not found")
    record.revoked_at = utcnow()
    session.flush()


def authenticate(session: Session, *, api_key: str) -> CarrierContext:
    """The carrier behind a key; one identical ``Unauthorized`` for unknown, revoked and expired keys."""
    if not api_key.startswith(KEY_PREFIX) or len(api_key) > 128:
        raise Unauthorized()
    digest = hash_key(api_key)
    rows = session.execute(
        select(ApiKey, CarrierAccount, Operator.timezone)
        .join(CarrierAccount, CarrierAccount.id == ApiKey.carrier_id)
        .join(Operator, Operator.id == CarrierAccount.operator_id)
        .where(ApiKey.prefix == api_key[:PREFIX_CHARS])
    ).all()
    now = utcnow()
    for key, carrier, timezone in rows:
        if not hmac.compare_digest(key.key_sha256, digest):
            continue
        if key.revoked_at is not None or (key.expires_at is not None and key.expires_at <= now):
            break
        if not carrier.active:
            break
        return CarrierContext(
            carrier_id=carrier.id,
            operator_id=carrier.operator_id,
            brand=carrier.brand,
            timezone=timezone,
            signing_secret=carrier.signing_secret,
        )
    raise Unauthorized()
