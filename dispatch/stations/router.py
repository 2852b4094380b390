"""Desk API for stations: the operator's own stations and the villages each covers."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from dispatch.deps import CurrentDispatcher, SessionDep, SettingsDep
from dispatch.models import StationKind
from dispatch.stations import service
from dispatch.stations.schemas import (
    CoverageIn,
    CoverageOut,
    StationCreate,
    StationOut,
    StationPage,
    StationPatch,
    VillageCode,
)

router = APIRouter(prefix="/v1/stations", tags=["stations"])

PROBLEM = {"content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
_COMMON_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing, unknown, revoked or expired desk key; any carrier key", **PROBLEM},
    422: {"description": "Invalid request", **PROBLEM},
}
_BAD_BODY: dict[int | str, dict[str, Any]] = {400: {"description": "The body is not UTF-8 JSON", **PROBLEM}}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such station for this operator", **PROBLEM}
}
StationId = Annotated[uuid.UUID, Path(description="The station's id.")]


@router.post(
    "",
    status_code=201,
    summary="Create a station",
    response_model=StationOut,
    responses={
        **_COMMON_ERRORS,
        **_BAD_BODY,
        422: {"description": "Invalid fields, or a village code not in the operator's county", **PROBLEM},
    },
)
def create_station(
    body: StationCreate, desk: CurrentDispatcher, session: SessionDep, response: Response
) -> StationOut:
    station = service.create_station(session, desk=desk, data=body)
    response.headers["Location"] = f"{router.prefix}/{station.station_id}"
    return station


@router.get(
    "",
    summary="List the operator's stations, oldest first",
    response_model=StationPage,
    responses=_COMMON_ERRORS,
)
def list_stations(
    desk: CurrentDispatcher,
    session: SessionDep,
    settings: SettingsDep,
    kind: StationKind | None = None,
    active: bool | None = None,
    covers: Annotated[VillageCode | None, Query(description="Only the station covering this village")] = None,
    cursor: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    limit: Annotated[
        int | None, Query(ge=1, description="Page size; capped at the server's maximum (500).")
    ] = None,
) -> StationPage:
    page_size = min(limit or settings.default_page_size, settings.max_page_size)
    return service.list_stations(
        session, desk=desk, kind=kind, active=active, covers=covers, cursor=cursor, limit=page_size
    )


@router.get(
    "/{station_id}",
    summary="One station",
    response_model=StationOut,
    responses={**_COMMON_ERRORS, **_NOT_FOUND},
)
def get_station(station_id: StationId, desk: CurrentDispatcher, session: SessionDep) -> StationOut:
    return service.get_station(session, desk=desk, station_id=station_id)


@router.patch(
    "/{station_id}",
    summary="Change some of a station's fields",
    response_model=StationOut,
    responses={**_COMMON_ERRORS, **_BAD_BODY, **_NOT_FOUND},
)
def patch_station(
    station_id: StationId, body: StationPatch, desk: CurrentDispatcher, session: SessionDep
) -> StationOut:
    return service.update_station(session, desk=desk, station_id=station_id, patch=body)


@router.get(
    "/{station_id}/coverage",
    summary="The villages a station covers",
    response_model=CoverageOut,
    responses={**_COMMON_ERRORS, **_NOT_FOUND},
)
def get_coverage(station_id: StationId, desk: CurrentDispatcher, session: SessionDep) -> CoverageOut:
    return service.get_coverage(session, desk=desk, station_id=station_id)


@router.put(
    "/{station_id}/coverage",
    summary="Replace the villages a station covers",
    response_model=CoverageOut,
    responses={
        **_COMMON_ERRORS,
        **_BAD_BODY,
        **_NOT_FOUND,
        409: {"description": "A village is already covered by another of the operator's stations", **PROBLEM},
        422: {"description": "Codes that are not villages of the operator's county, named", **PROBLEM},
    },
)
def put_coverage(
    station_id: StationId, body: CoverageIn, desk: CurrentDispatcher, session: SessionDep
) -> CoverageOut:
    return service.set_coverage(session, desk=desk, station_id=station_id, village_codes=body.village_codes)
