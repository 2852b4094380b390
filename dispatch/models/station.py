"""Village service stations, shops, lockers, township post offices and bus stops, and what they cover."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.db import Base, JSONType, enum_type, new_id, utcnow


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
    # The village the station stands in (its coverage is in station_coverage).
    village_code: Mapped[str | None] = mapped_column(String(12), index=True)
    address: Mapped[str | None] = mapped_column(String(500))
    latitude_e6: Mapped[int | None]
    longitude_e6: Mapped[int | None]
    # {"mon": [["08:00", "12:00"], ["13:30", "18:00"]], …}; a day left out is closed.
    opening_hours: Mapped[dict[str, list[list[str]]] | None] = mapped_column(JSONType)
    keeper_name: Mapped[str | None] = mapped_column(String(64))
    keeper_phone: Mapped[str | None] = mapped_column(String(32))
    capacity_parcels: Mapped[int | None]
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class StationCoverage(Base):
    """A village a station serves; per operator, a village is served by at most one station."""

    __tablename__ = "station_coverage"
    __table_args__ = (UniqueConstraint("operator_id", "village_code"),)

    station_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("station.id", ondelete="CASCADE"), primary_key=True
    )
    village_code: Mapped[str] = mapped_column(String(12), ForeignKey("division.code"), primary_key=True)
    # The station's operator, repeated so the database enforces one station per village and operator.
    operator_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("operator.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
