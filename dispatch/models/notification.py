"""Messages to drivers: a new or superseded manifest, through each configured channel."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.db import Base, JSONType, enum_type, new_id, utcnow


class Channel(StrEnum):
    INBOX = "inbox"
    WEBHOOK = "webhook"
    SMS = "sms"


class NotificationStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class DriverNotification(Base):
    """One message to one driver on one channel. The in-app inbox is always written (and is ``sent`` at
    once); webhook and SMS rows are sent after the commit, retried with backoff, ``failed`` after the last
    attempt, where the dispatch desk sees them."""

    __tablename__ = "driver_notification"
    __table_args__ = (
        Index("ix_driver_notification_due", "status", "next_attempt_at"),
        Index("ix_driver_notification_driver", "driver_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    operator_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("operator.id", ondelete="CASCADE"), index=True)
    driver_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("driver.id", ondelete="CASCADE"))
    manifest_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("manifest.id", ondelete="CASCADE"))
    channel: Mapped[Channel] = mapped_column(enum_type(Channel))
    kind: Mapped[str] = mapped_column(String(32))
    body: Mapped[dict[str, Any]] = mapped_column(JSONType)
    status: Mapped[NotificationStatus] = mapped_column(enum_type(NotificationStatus))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    read_at: Mapped[datetime | None]
