"""Dispatch desk: plans — ask for a wave to be planned, then read its progress and draft."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from dispatch.deps import CurrentDispatcher, SessionDep, SettingsDep, get_database
from dispatch.jobs.notifications import schedule_notifications
from dispatch.jobs.plans import schedule_plan
from dispatch.manifests import service as manifests
from dispatch.plans import service

router = APIRouter(prefix="/v1/plans", tags=["plans"])

PROBLEM = {"content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}


class PlanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    service_date: date = Field(description="The day the routes run (operator's calendar).")
    wave: int | None = Field(
        None, ge=1, description="Wave number (1 = first cut-off); none = everything waiting."
    )
    time_limit_s: int | None = Field(
        None, ge=1, description="Solver time; default GONGPEI_PLAN_TIME_LIMIT_S."
    )
    vehicles: list[uuid.UUID] | None = Field(
        None,
        max_length=500,
        description="Vehicles to plan with; none = every active vehicle with its driver.",
    )


@router.post(
    "",
    status_code=202,
    summary="Plan a service day's wave (solved in the background)",
    responses={
        401: {"description": "Missing or unknown desk key", **PROBLEM},
        422: {"description": "A wave, time limit or vehicle the operator does not have", **PROBLEM},
    },
)
def create_plan(
    body: PlanIn,
    request: Request,
    desk: CurrentDispatcher,
    session: SessionDep,
    settings: SettingsDep,
    background: BackgroundTasks,
) -> JSONResponse:
    """202 with the plan's id; ``GET /v1/plans/{plan_id}`` shows its progress, then the draft."""
    plan = service.create_plan(
        session,
        desk=desk,
        settings=settings,
        service_date=body.service_date,
        wave=body.wave,
        time_limit_s=body.time_limit_s,
        vehicle_ids=body.vehicles,
    )
    background.add_task(schedule_plan, settings, get_database(request), plan.id, plan.time_limit_s)
    return JSONResponse(
        {"plan_id": str(plan.id), "status": plan.status.value, "url": f"/v1/plans/{plan.id}"},
        status_code=202,
        headers={"Location": f"/v1/plans/{plan.id}"},
        background=background,
    )


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pins: dict[str, uuid.UUID] = Field(
        max_length=1000, description="Station id (or stop id) → vehicle id: pin or move these stops."
    )
    time_limit_s: int | None = Field(None, ge=1)


@router.post(
    "/{plan_id}/resolve",
    status_code=202,
    summary="Re-solve a draft with stops pinned or moved to vehicles (a new plan)",
    responses={
        401: {"description": "Missing or unknown desk key", **PROBLEM},
        404: {"description": "No such plan", **PROBLEM},
        409: {"description": "The plan is not a draft", **PROBLEM},
        422: {"description": "A pin names a stop or vehicle the plan does not have", **PROBLEM},
    },
)
def resolve_plan(
    plan_id: Annotated[uuid.UUID, Path()],
    body: ResolveIn,
    request: Request,
    desk: CurrentDispatcher,
    session: SessionDep,
    settings: SettingsDep,
    background: BackgroundTasks,
) -> JSONResponse:
    plan = service.resolve_with_pins(
        session, desk=desk, settings=settings, plan_id=plan_id, pins=body.pins, time_limit_s=body.time_limit_s
    )
    background.add_task(schedule_plan, settings, get_database(request), plan.id, plan.time_limit_s)
    return JSONResponse(
        {
            "plan_id": str(plan.id),
            "status": plan.status.value,
            "based_on": str(plan_id),
            "url": f"/v1/plans/{plan.id}",
        },
        status_code=202,
        headers={"Location": f"/v1/plans/{plan.id}"},
        background=background,
    )


@router.get(
    "/{plan_id}",
    summary="A plan: status, progress while solving, then routes, stops left out and the carriers' split",
    responses={
        401: {"description": "Missing or unknown desk key", **PROBLEM},
        404: {"description": "No such plan", **PROBLEM},
    },
)
def read_plan(
    plan_id: Annotated[uuid.UUID, Path()], desk: CurrentDispatcher, session: SessionDep
) -> dict[str, Any]:
    return service.plan_view(service.get_plan(session, desk=desk, plan_id=plan_id), timezone=desk.timezone)


@router.post(
    "/{plan_id}/publish",
    summary="Publish a draft: one manifest per route (idempotent)",
    responses={
        401: {"description": "Missing or unknown desk key", **PROBLEM},
        404: {"description": "No such plan", **PROBLEM},
        409: {"description": "The plan is not a draft (queued, solving or failed)", **PROBLEM},
    },
)
def publish_plan(
    plan_id: Annotated[uuid.UUID, Path()],
    request: Request,
    desk: CurrentDispatcher,
    session: SessionDep,
    settings: SettingsDep,
    background: BackgroundTasks,
) -> dict[str, Any]:
    """Publishing twice answers with the manifests the first publish made. Each driver is told: in the
    app's inbox, and by webhook and SMS when configured."""
    plan, made = manifests.publish(session, desk=desk, plan_id=plan_id, settings=settings)
    transport = getattr(request.app.state, "notification_transport", None)  # a test's MockTransport
    background.add_task(schedule_notifications, settings, get_database(request), transport=transport)
    return {
        "plan_id": str(plan.id),
        "status": plan.status.value,
        "manifests": [
            {
                "manifest_id": str(m.id),
                "vehicle_id": str(m.vehicle_id),
                "driver_id": None if m.driver_id is None else str(m.driver_id),
                "version": m.version,
            }
            for m in made
        ],
    }
