"""Dispatch desk: carrier callbacks that failed (dead-lettered, or still being retried)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from dispatch.callbacks import service
from dispatch.deps import CurrentDispatcher, SessionDep
from dispatch.models import CallbackStatus

router = APIRouter(prefix="/v1/callbacks", tags=["callbacks"])


@router.get(
    "",
    summary="Carrier callbacks that failed: dead ones, or those still being retried",
    responses={
        401: {
            "description": "Missing or unknown desk key",
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
    },
)
def failed_callbacks(
    desk: CurrentDispatcher,
    session: SessionDep,
    status: Annotated[
        CallbackStatus, Query(description="dead (gave up) or pending (retrying)")
    ] = CallbackStatus.DEAD,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    return {"items": service.failures(session, desk=desk, status=status, limit=limit)}
