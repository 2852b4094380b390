"""Desk API for the address review queue."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from dispatch.deps import CurrentDispatcher, SessionDep, SettingsDep
from dispatch.review import service
from dispatch.review.schemas import AssignIn, AssignOut, ReviewPage

router = APIRouter(prefix="/v1/review", tags=["review"])
PROBLEM = {"content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}


@router.get(
    "",
    summary="Parcels waiting for a dispatcher: no sure village, or no station for it",
    response_model=ReviewPage,
    responses={401: {"description": "Missing or invalid desk key", **PROBLEM}},
)
def review_queue(
    desk: CurrentDispatcher,
    session: SessionDep,
    settings: SettingsDep,
    status: Literal["village", "township", "county", "ambiguous", "unmatched"] | None = None,
    cursor: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    limit: Annotated[int | None, Query(ge=1, description="Capped at the server's maximum (500).")] = None,
) -> ReviewPage:
    page = min(limit or settings.default_page_size, settings.max_page_size)
    return service.queue(session, desk=desk, status=status, cursor=cursor, limit=page)


@router.post(
    "/{parcel_id}/assign",
    summary="Send a parcel to a station; its address form is remembered for the next ones",
    response_model=AssignOut,
    responses={
        401: {"description": "Missing or invalid desk key", **PROBLEM},
        404: {"description": "No such parcel for this operator", **PROBLEM},
    },
)
def assign(parcel_id: uuid.UUID, body: AssignIn, desk: CurrentDispatcher, session: SessionDep) -> AssignOut:
    return service.assign(session, desk=desk, parcel_id=parcel_id, data=body)
