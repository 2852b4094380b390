"""API shapes of manifest-file imports."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from dispatch.models import ImportStatus


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ImportAccepted(_Out):
    import_id: uuid.UUID
    status: ImportStatus
    report_url: str = Field(description="Poll this for progress and the per-row report.")


class Progress(_Out):
    rows_done: int
    rows_total: int | None
    percent: int


class RowIssue(_Out):
    index: int = Field(description="0-based data row (header and skipped rows not counted).")
    line: int | None = Field(description="1-based line (CSV) or row (XLSX) in the file.")
    field: str = Field(description="The column as headed in the file, or the unified field.")
    reason: str
    severity: str


class ImportReport(_Out):
    import_id: uuid.UUID
    filename: str
    status: ImportStatus
    progress: Progress
    summary: dict[str, int] | None
    error: str | None
    issues: list[RowIssue]
    issues_total: int
    created_at: datetime
    finished_at: datetime | None
