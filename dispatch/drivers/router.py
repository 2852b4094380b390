"""Drivers' phones: the current manifest (ETag / 304, so a phone on a weak signal fetches it once)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse, Response

from dispatch.deps import CurrentDriver, SessionDep
from dispatch.manifests import service as manifests

router = APIRouter(prefix="/v1/driver", tags=["driver"])

PROBLEM = {"content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}


@router.get(
    "/manifest",
    summary="The driver's current manifest (recipients masked)",
    responses={
        304: {"description": "Not modified since the ETag sent in If-None-Match"},
        401: {"description": "Missing, unknown, expired or revoked token, or another device", **PROBLEM},
        404: {"description": "Nothing published for this driver", **PROBLEM},
    },
)
def driver_manifest(
    driver: CurrentDriver,
    session: SessionDep,
    if_none_match: Annotated[str | None, Header(alias="If-None-Match", max_length=200)] = None,
) -> Response:
    manifest = manifests.current_manifest(session, driver=driver)
    etag = f'"{manifest.etag}"'
    if if_none_match is not None and etag in {tag.strip() for tag in if_none_match.split(",")}:
        return Response(status_code=304, headers={"ETag": etag})
    return JSONResponse(
        {"manifest_id": str(manifest.id), **manifest.content},
        headers={"ETag": etag, "Cache-Control": "private, no-cache"},
    )
