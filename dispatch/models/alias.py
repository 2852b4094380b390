"""Dispatchers' corrections, remembered per operator: an address form and the village (and station) it is."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.db import Base, new_id, utcnow


class AddressAlias(Base):
    __tablename__ = "address_alias"
    __table_args__ = (UniqueConstraint("operator_id", "alias_key"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    operator_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("operator.id", ondelete="CASCADE"))
    # The normalised address with house numbers and names taken out (Matcher.alias_key).
    alias_key: Mapped[str] = mapped_column(String(300))
    village_code: Mapped[str] = mapped_column(String(12), ForeignKey("division.code"))
    station_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("station.id", ondelete="SET NULL"))
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("dispatcher_user.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
