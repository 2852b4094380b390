"""The operator (a county shared-delivery company), the dispatch desk's users and their API keys."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.db import Base, JSONType, enum_type, new_id, utcnow


class Operator(Base):
    __tablename__ = "operator"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    county_code: Mapped[str] = mapped_column(String(12), index=True)
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    # Wave cut-offs as ["08:30", "13:30"] (local time in ``timezone``); null = the service's default.
    wave_cutoffs: Mapped[list[str] | None] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class UserRole(StrEnum):
    ADMIN = "admin"
    DISPATCHER = "dispatcher"


class DispatcherUser(Base):
    __tablename__ = "dispatcher_user"
    __table_args__ = (UniqueConstraint("operator_id", "username"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    operator_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("operator.id", ondelete="CASCADE"), index=True)
    username: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str | None] = mapped_column(String(100))
    role: Mapped[UserRole] = mapped_column(enum_type(UserRole), default=UserRole.DISPATCHER)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DeskApiKey(Base):
    """A dispatcher's API key, kept only as its SHA-256 digest; ``prefix`` is the visible start (``gpd_…``).

    A table of its own, apart from carriers' ``api_key``: a key can only ever name one kind of principal.
    """

    __tablename__ = "desk_api_key"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("dispatcher_user.id", ondelete="CASCADE"), index=True
    )
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    key_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
