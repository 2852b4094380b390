"""Operators, carrier accounts, dispatch-desk users and their API keys.

Two kinds of key, told apart by prefix and kept in separate tables: ``gpk_`` for carrier accounts,
``gpd_`` for desk users. Each authenticator refuses the other kind with the same 401 as an unknown key.
"""

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
from dispatch.errors import Conflict, NotFound, Unauthorized, ValidationFailed
from dispatch.models import ApiKey, CarrierAccount, DeskApiKey, DispatcherUser, Operator, UserRole

KEY_PREFIX = "gpk_"
DESK_KEY_PREFIX = "gpd_"
PREFIX_CHARS = 12
_MAX_KEY_CHARS = 128
_COUNTY = re.compile(r"^\d{6}$")
_USERNAME = re.compile(r"^[\w.@-]{1,64}$")


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


@dataclass(frozen=True, slots=True)
class DeskContext:
    """Which desk user is calling: derived from the desk API key, never from the request."""

    user_id: uuid.UUID
    operator_id: uuid.UUID
    role: UserRole
    timezone: str


def new_key(kind_prefix: str) -> tuple[str, str, str]:
    """A fresh 256-bit key with its visible prefix and SHA-256 digest."""
    api_key = kind_prefix + secrets.token_urlsafe(32)
    return api_key, api_key[:PREFIX_CHARS], hash_key(api_key)


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


def get_operator(session: Session, *, operator_id: uuid.UUID, lock: bool = False) -> Operator:
    """The operator; ``lock`` holds its row until the transaction ends (serialises per-operator work)."""
    operator = session.get(Operator, operator_id, with_for_update=lock or None)
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
    api_key, prefix, digest = new_key(KEY_PREFIX)
    record = ApiKey(carrier_id=carrier_id, prefix=prefix, key_sha256=digest, expires_at=expires_at)
    session.add(record)
    session.flush()
    return IssuedKey(api_key=api_key, key_id=record.id, prefix=record.prefix)


def revoke_key(session: Session, *, key_id: uuid.UUID) -> None:
    record = session.get(ApiKey, key_id)
    if record is None:
        raise NotFound(f"API key {key_id} not found")
    record.revoked_at = utcnow()
    session.flush()


def _key_opens(key: ApiKey | DeskApiKey, digest: str, *, owner_active: bool) -> bool:
    """The stored key matches in constant time, is neither revoked nor expired, and its owner is active."""
    if not hmac.compare_digest(key.key_sha256, digest):
        return False
    if key.revoked_at is not None or (key.expires_at is not None and key.expires_at <= utcnow()):
        return False
    return owner_active


def authenticate(session: Session, *, api_key: str) -> CarrierContext:
    """The carrier behind a key; one identical ``Unauthorized`` for unknown, revoked and expired keys."""
    if not api_key.startswith(KEY_PREFIX) or len(api_key) > _MAX_KEY_CHARS:
        raise Unauthorized()
    digest = hash_key(api_key)
    rows = session.execute(
        select(ApiKey, CarrierAccount, Operator.timezone)
        .join(CarrierAccount, CarrierAccount.id == ApiKey.carrier_id)
        .join(Operator, Operator.id == CarrierAccount.operator_id)
        .where(ApiKey.prefix == api_key[:PREFIX_CHARS])
    ).all()
    for key, carrier, timezone in rows:
        if not _key_opens(key, digest, owner_active=carrier.active):
            continue
        return CarrierContext(
            carrier_id=carrier.id,
            operator_id=carrier.operator_id,
            brand=carrier.brand,
            timezone=timezone,
            signing_secret=carrier.signing_secret,
        )
    raise Unauthorized()


def create_desk_user(
    session: Session,
    *,
    operator_id: uuid.UUID,
    username: str,
    role: UserRole = UserRole.DISPATCHER,
    display_name: str | None = None,
) -> tuple[DispatcherUser, IssuedKey]:
    """A dispatch-desk user of the operator with a first desk API key (returned once, stored hashed).

    Raises ``ValidationFailed`` for a malformed username, ``NotFound`` for an unknown operator and
    ``Conflict`` when the operator already has a user of that name.
    """
    username = username.strip()
    if not _USERNAME.fullmatch(username):
        raise ValidationFailed(
            "username must be 1 to 64 letters, digits or . _ @ -",
            errors=[{"field": "username", "reason": "1 to 64 letters, digits or . _ @ -"}],
        )
    get_operator(session, operator_id=operator_id)
    taken = session.scalar(
        select(DispatcherUser.id).where(
            DispatcherUser.operator_id == operator_id, DispatcherUser.username == username
        )
    )
    if taken is not None:
        raise Conflict(
            f"operator already has a desk user named {username!r}",
            errors=[{"field": "username", "reason": "already taken in this operator"}],
        )
    user = DispatcherUser(operator_id=operator_id, username=username, role=role, display_name=display_name)
    session.add(user)
    session.flush()
    return user, issue_desk_key(session, user_id=user.id)


def issue_desk_key(session: Session, *, user_id: uuid.UUID, expires_at: datetime | None = None) -> IssuedKey:
    """A new desk key for the user; only its SHA-256 and visible prefix are stored."""
    if session.get(DispatcherUser, user_id) is None:
        raise NotFound(f"desk user {user_id} not found")
    api_key, prefix, digest = new_key(DESK_KEY_PREFIX)
    record = DeskApiKey(user_id=user_id, prefix=prefix, key_sha256=digest, expires_at=expires_at)
    session.add(record)
    session.flush()
    return IssuedKey(api_key=api_key, key_id=record.id, prefix=record.prefix)


def revoke_desk_key(session: Session, *, key_id: uuid.UUID) -> None:
    record = session.get(DeskApiKey, key_id)
    if record is None:
        raise NotFound(f"desk API key {key_id} not found")
    record.revoked_at = utcnow()
    session.flush()


def authenticate_desk(session: Session, *, api_key: str) -> DeskContext:
    """The desk user behind a key; one identical ``Unauthorized`` for unknown, revoked and expired keys,
    deactivated users, and keys of any other kind (a carrier's key never opens the desk)."""
    if not api_key.startswith(DESK_KEY_PREFIX) or len(api_key) > _MAX_KEY_CHARS:
        raise Unauthorized()
    digest = hash_key(api_key)
    rows = session.execute(
        select(DeskApiKey, DispatcherUser, Operator.timezone)
        .join(DispatcherUser, DispatcherUser.id == DeskApiKey.user_id)
        .join(Operator, Operator.id == DispatcherUser.operator_id)
        .where(DeskApiKey.prefix == api_key[:PREFIX_CHARS])
    ).all()
    for key, user, timezone in rows:
        if not _key_opens(key, digest, owner_active=user.active):
            continue
        return DeskContext(user_id=user.id, operator_id=user.operator_id, role=user.role, timezone=timezone)
    raise Unauthorized()
