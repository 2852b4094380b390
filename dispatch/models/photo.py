"""Proof-of-delivery photos, kept by their SHA-256 digest (the digest a driver's event names)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.db import Base, utcnow


class DeliveryPhoto(Base):
    """One photo a driver uploaded; per operator, one row per digest (uploading it again changes nothing).
    The bytes live in the database: a few hundred kilobytes a delivery, written with the scan's own
    guarantees, backed up with everything else."""

    __tablename__ = "delivery_photo"

    operator_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("operator.id", ondelete="CASCADE"), primary_key=True
    )
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    driver_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("driver.id", ondelete="SET NULL"))
    content_type: Mapped[str] = mapped_column(String(32))
    size_bytes: Mapped[int]
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
