"""Manifest files a carrier uploads, processed in the background, with a per-row report to poll."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, deferred, mapped_column

from dispatch.db import Base, JSONType, enum_type, new_id, utcnow


class ImportStatus(StrEnum):
    QUEUED = "queued"
    PROCESSING = "processing"
    DONE = "done"
    FAILED = "failed"  # the file as a whole could not be read; the report says why


class FileImport(Base):
    __tablename__ = "file_import"
    __table_args__ = (Index("ix_file_import_carrier_created", "carrier_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    operator_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("operator.id", ondelete="CASCADE"))
    carrier_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("carrier_account.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(128))
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    # The upload itself, so processing survives a restart; cleared once the import is done.
    content: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    status: Mapped[ImportStatus] = mapped_column(enum_type(ImportStatus), default=ImportStatus.QUEUED)
    rows_total: Mapped[int | None]
    rows_done: Mapped[int] = mapped_column(default=0)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    issues: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONType)
    error: Mapped[str | None] = mapped_column(String(500))
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
