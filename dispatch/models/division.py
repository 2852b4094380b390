"""NBS statistical divisions (county, township, village): reference data shared by every operator."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.db import Base, enum_type, utcnow


class DivisionLevel(StrEnum):
    COUNTY = "county"
    TOWNSHIP = "township"
    VILLAGE = "village"


class Division(Base):
    """One division by its NBS code (county 6 digits, township 9, village 12).

    Rows are never deleted: a code missing from a newer import is flagged ``retired`` so parcels and
    station coverage that name it still resolve. Not tenant data, hence no ``operator_id``.
    """

    __tablename__ = "division"
    __table_args__ = (Index("ix_division_county_level", "county_code", "level"),)

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    level: Mapped[DivisionLevel] = mapped_column(enum_type(DivisionLevel))
    name: Mapped[str] = mapped_column(String(100))
    county_code: Mapped[str] = mapped_column(String(12))
    township_code: Mapped[str | None] = mapped_column(String(12))
    city_name: Mapped[str | None] = mapped_column(String(100))
    # village_committee | residents_committee | other for villages; 镇/乡/街道… and 县/区… above them
    kind: Mapped[str | None] = mapped_column(String(32))
    retired: Mapped[bool] = mapped_column(default=False)
    successor_code: Mapped[str | None] = mapped_column(String(12))
    # WGS84 degrees × 10⁶: the township's settlement or the county seat; villages have none.
    latitude_e6: Mapped[int | None]
    longitude_e6: Mapped[int | None]
    source_year: Mapped[int | None]
    # When an import last wrote the row (an unchanged row keeps its time).
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)
