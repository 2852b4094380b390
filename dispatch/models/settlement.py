"""Contracts, settlement runs and the statements they produce, line by line down to each parcel and route."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.db import Base, BigIntPK, JSONType, enum_type, new_id, utcnow


class PartyKind(StrEnum):
    """Who a contract or statement is with."""

    CARRIER = "carrier"
    STATION = "station"
    DRIVER = "driver"


ANY_PARTY = "*"
"""``Contract.party_key`` of a contract that applies to every party of its kind without one of its own."""


class Contract(Base):
    """One version of the terms with one party (or with every party of a kind: ``party_id`` NULL).

    ``valid_from``/``valid_to`` are operator-calendar days, both inclusive; ``valid_to`` NULL = until a
    newer version starts. Versions of one party never overlap (the service refuses it). ``terms`` is the
    party kind's terms schema (``dispatch.settlements.schemas``), amounts in integer fen."""

    __tablename__ = "contract"
    __table_args__ = (
        UniqueConstraint("operator_id", "party_kind", "party_key", "version"),
        Index("ix_contract_party", "operator_id", "party_kind", "party_key", "valid_from"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    operator_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("operator.id", ondelete="CASCADE"))
    party_kind: Mapped[PartyKind] = mapped_column(enum_type(PartyKind))
    party_id: Mapped[uuid.UUID | None]
    party_key: Mapped[str] = mapped_column(String(40))
    """``str(party_id)``, or ``*`` for the kind's default (so the unique constraint holds without NULLs)."""
    version: Mapped[int]
    valid_from: Mapped[date]
    valid_to: Mapped[date | None]
    terms: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class SettlementRun(Base):
    """A request to settle a period: the record of the work while it runs (progress), then of its outcome."""

    __tablename__ = "settlement_run"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    operator_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("operator.id", ondelete="CASCADE"), index=True)
    period_from: Mapped[date]
    period_to: Mapped[date]
    split_by: Mapped[str] = mapped_column(String(8))
    """``period`` (one statement per party for the whole range), ``day``, ``week`` or ``month``."""
    close: Mapped[bool] = mapped_column(default=False)
    status: Mapped[RunStatus] = mapped_column(enum_type(RunStatus), default=RunStatus.QUEUED)
    progress: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class StatementStatus(StrEnum):
    OPEN = "open"
    """A draft: settling the period again replaces its lines."""
    CLOSED = "closed"
    """Immutable: settling again, or a desk correction, only appends adjustment lines."""


class Statement(Base):
    """One party's account for one period (operator-calendar days, both inclusive)."""

    __tablename__ = "statement"
    __table_args__ = (
        UniqueConstraint("operator_id", "party_kind", "party_id", "period_from", "period_to"),
        Index("ix_statement_party", "party_kind", "party_id", "period_from"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    operator_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("operator.id", ondelete="CASCADE"))
    party_kind: Mapped[PartyKind] = mapped_column(enum_type(PartyKind))
    party_id: Mapped[uuid.UUID]
    party_name: Mapped[str | None] = mapped_column(String(200))
    period_from: Mapped[date]
    period_to: Mapped[date]
    period_kind: Mapped[str] = mapped_column(String(8))
    """``day``, ``week``, ``month`` or ``custom``: what the dates span."""
    status: Mapped[StatementStatus] = mapped_column(enum_type(StatementStatus), default=StatementStatus.OPEN)
    total_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    """What the party owes the operator (carrier) or is owed (keeper, driver): the sum of every line."""
    run_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("settlement_run.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]


class StatementLine(Base):
    """Charges of one kind at one rate on one service day (or for one route), with the items behind them.

    ``amount_fen`` is the sum of its items' amounts whenever it has items. An adjustment line
    (``adjustment`` true) corrects a closed statement: it never changes the lines before it."""

    __tablename__ = "statement_line"
    __table_args__ = (Index("ix_statement_line_statement", "statement_id", "id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    statement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("statement.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    service_date: Mapped[date | None]
    rate_key: Mapped[str] = mapped_column(String(120))
    """What makes the charge: e.g. ``zone=near;up_to_g=3000``; lines of a statement differ by
    (kind, service_date, rate_key), and adjustments name the line they correct by the same three."""
    quantity: Mapped[int] = mapped_column(BigInteger, default=0)
    """Pieces, parcels or routes counted."""
    unit_fen: Mapped[int | None] = mapped_column(BigInteger)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    contract_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("contract.id", ondelete="SET NULL"))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    adjustment: Mapped[bool] = mapped_column(default=False)
    reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StatementItem(Base):
    """A line's amount for one parcel or one route (manifest): what makes every line traceable."""

    __tablename__ = "statement_item"
    __table_args__ = (Index("ix_statement_item_line", "line_id", "id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    # Plain ids, no foreign keys: an item must keep naming its parcel or route whatever happens to that
    # row later, and a month's items go in by the hundred thousand without a key check each (the service
    # deletes a line's items with the line).
    line_id: Mapped[int] = mapped_column(BigIntPK)
    parcel_id: Mapped[uuid.UUID | None]
    manifest_id: Mapped[uuid.UUID | None]
    amount_fen: Mapped[int] = mapped_column(BigInteger)
