"""Dispatch desk: messages to drivers that did not get through."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from dispatch.deps import CurrentDispatcher, SessionDep
from dispatch.notifications import service

router = APIRouter(prefix="/v1/notifications", tags=["notifications"])


@router.get(
    "",
    summary="Messages to drivers (webhook, SMS) that failed for good, or are being retried",
    responses={
        401: {
            "description": "Missing or unknown desk key",
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
    },
)
def failed_driver_messages(
    desk: CurrentDispatcher, session: SessionDep, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> dict[str, Any]:
    return {"items": service.problems(session, desk=desk, limit=limit)}
