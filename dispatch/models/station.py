"""Village service stations, shops, lockers, township post offices and bus stops."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.db import Base, enum_type, new_id, utcnow


class StationKind(StrEnum):
    VILLAGE_STATION = "village_station"
    SHOP = "shop"
    LOCKER = "locker"
    TOWNSHIP_POST_OFFICE = "township_post_office"
    BUS_STOP = "bus_stop"


class Station(Base):
    __tablename__ = "station"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    operator_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("operator.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[StationKind] = mapped_column(enum_type(StationKind), default=StationKind.VILLAGE_STATION)
    village_code: Mapped[str | None] = mapped_column(String(12), index=True)
    address: Mapped[str | None] = mapped_column(String(500))
    latitude_e6: Mapped[int | None]
    longitude_e6: Mapped[int | None]
    keeper_name: Mapped[str | None] = mapped_column(String(64))
    keeper_phone: Mapped[str | None] = mapped_column(String(32))
    capacity_parcels: Mapped[int | None]
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
