"""Settlement runs: asked for by the desk, done by a job, with progress the desk can read meanwhile."""

from __future__ import annotations

import logging
import time
import uuid
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from dispatch.config import Settings
from dispatch.db import Database, utcnow
from dispatch.errors import DispatchError, NotFound
from dispatch.models import RunStatus, SettlementRun
from dispatch.settlements import service

log = logging.getLogger(__name__)

PROGRESS_EVERY_S = 0.5
"""Progress is written (in its own transaction) at most this often."""


def create_run(
    session: Session, *, operator_id: uuid.UUID, first: date, last: date, by: str, close: bool
) -> SettlementRun:
    """A queued run; ``ValidationFailed`` for a range that cannot be settled, ``Conflict`` for one that
    overlaps closed statements of other dates (both checked now, and again by the job)."""
    service.overlapping_drafts(session, operator_id=operator_id, cut=service.periods(first, last, by))
    run = SettlementRun(
        operator_id=operator_id,
        period_from=first,
        period_to=last,
        split_by=by,
        close=close,
        progress={"fraction": 0.0, "stage": "queued"},
    )
    session.add(run)
    session.flush()
    return run


def get_run(session: Session, *, operator_id: uuid.UUID, run_id: uuid.UUID) -> SettlementRun:
    run = session.get(SettlementRun, run_id)
    if run is None or run.operator_id != operator_id:
        raise NotFound(f"settlement {run_id} not found")
    return run


def run_view(run: SettlementRun) -> dict[str, Any]:
    return {
        "settlement_id": str(run.id),
        "status": run.status.value,
        "from": run.period_from.isoformat(),
        "to": run.period_to.isoformat(),
        "by": run.split_by,
        "close": run.close,
        "progress": run.progress,
        "summary": run.summary,
        "error": run.error,
        "url": f"/v1/settlements/{run.id}",
    }


def run_settlement(database: Database, run_id: uuid.UUID, *, settings: Settings) -> str | None:
    """Do one queued run (or one silent for ``GONGPEI_PLAN_STALE_S``: its worker died); None when it is not
    this job's to do.
    Running it again after it finished changes nothing."""
    with database.session_scope() as session:
        run = session.get(SettlementRun, run_id, with_for_update=True)
        if run is None:
            return None
        stale = run.status is RunStatus.RUNNING and run.updated_at < utcnow() - timedelta(
            seconds=settings.plan_stale_s
        )
        if run.status is not RunStatus.QUEUED and not stale:
            return None
        run.status, run.updated_at = RunStatus.RUNNING, utcnow()
        operator_id, first, last, by, close = (
            run.operator_id,
            run.period_from,
            run.period_to,
            run.split_by,
            run.close,
        )

    last_write = [0.0]

    def on_progress(fraction: float, stage: str) -> None:
        now = time.monotonic()
        if fraction < 1.0 and now - last_write[0] < PROGRESS_EVERY_S:
            return
        last_write[0] = now
        with database.session_scope() as s:
            s.execute(
                update(SettlementRun)
                .where(SettlementRun.id == run_id)
                .values(progress={"fraction": round(fraction, 3), "stage": stage}, updated_at=utcnow())
            )

    try:
        with database.session_scope() as session:
            result = service.settle(
                session,
                operator_id=operator_id,
                first=first,
                last=last,
                by=by,
                close=close,
                settings=settings,
                run_id=run_id,
                on_progress=on_progress,
            )
            summary = {
                "statements": len(result.statements),
                "parcels": result.parcels,
                "routes": result.routes,
                "adjustment_lines": result.adjusted,
                "warnings": result.warnings,
                "total_by_party_kind_fen": _totals(result),
            }
            run = session.get(SettlementRun, run_id, with_for_update=True)
            assert run is not None
            run.status, run.summary, run.finished_at = RunStatus.DONE, summary, utcnow()
            run.progress, run.updated_at = {"fraction": 1.0, "stage": "done"}, run.finished_at
    except DispatchError as exc:
        _fail(database, run_id, exc.detail or type(exc).__name__)
        return RunStatus.FAILED.value
    except Exception as exc:
        log.exception("settlement run failed", extra={"run_id": str(run_id)})
        _fail(database, run_id, f"internal error ({type(exc).__name__})")
        raise
    return RunStatus.DONE.value


def _totals(result: service.SettleResult) -> dict[str, int]:
    totals: dict[str, int] = {}
    for statement in result.statements:
        totals[statement.party_kind.value] = totals.get(statement.party_kind.value, 0) + statement.total_fen
    return totals


def _fail(database: Database, run_id: uuid.UUID, reason: str) -> None:
    with database.session_scope() as session:
        session.execute(
            update(SettlementRun)
            .where(SettlementRun.id == run_id)
            .values(status=RunStatus.FAILED, error=reason[:500], finished_at=utcnow(), updated_at=utcnow())
        )


def stale_runs(session: Session, *, stale_s: int = 600) -> list[uuid.UUID]:
    """Runs queued or running with no word for ``stale_s`` seconds: their job was lost or its worker died."""
    cutoff = utcnow() - timedelta(seconds=stale_s)
    return list(
        session.execute(
            select(SettlementRun.id).where(
                SettlementRun.status.in_([RunStatus.QUEUED, RunStatus.RUNNING]),
                SettlementRun.updated_at < cutoff,
            )
        ).scalars()
    )
