"""Drivers' phones: the current manifest (ETag / 304, so a phone on a weak signal fetches it once), scans and
proof-of-delivery photos; the desk reads the photos."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Header, Path, Request
from fastapi.responses import JSONResponse, Response

from dispatch.deps import (
    CurrentDispatcher,
    CurrentDriver,
    JsonBody,
    SessionDep,
    SettingsDep,
    get_database,
    read_raw_body,
)
from dispatch.drivers import service
from dispatch.errors import ValidationFailed
from dispatch.jobs.callbacks import schedule_callbacks
from dispatch.manifests import service as manifests
from dispatch.notifications import service as notifications

router = APIRouter(prefix="/v1/driver", tags=["driver"])

PHOTO_TYPES = ("image/jpeg", "image/png", "image/webp")
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
    accept_encoding: Annotated[str | None, Header(alias="Accept-Encoding", max_length=200)] = None,
) -> Response:
    """Gzipped when the phone accepts it (each encoding has its own ETag; either revalidates)."""
    tag, body, packed = manifests.current_manifest_body(session, driver=driver)
    zipped = accept_encoding is not None and "gzip" in accept_encoding.lower()
    etag = f'"{tag}-gz"' if zipped else f'"{tag}"'
    headers = {"ETag": etag, "Cache-Control": "private, no-cache", "Vary": "Accept-Encoding"}
    if if_none_match is not None:
        sent = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
        if sent & {f'"{tag}"', f'"{tag}-gz"'}:
            return Response(status_code=304, headers=headers)
    if zipped:
        headers["Content-Encoding"] = "gzip"
        return Response(packed, media_type="application/json", headers=headers)
    return Response(body, media_type="application/json", headers=headers)


@router.post(
    "/events",
    summary="Scans from the phone: delivered, failed, picked up (each judged on its own; replays are no-ops)",
    responses={
        401: {"description": "Missing, unknown, expired or revoked token, or another device", **PROBLEM},
        422: {"description": "Not an {'events': [...]} body of 1 to 500 events", **PROBLEM},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["events"],
                        "properties": {
                            "events": {
                                "type": "array",
                                "minItems": 1,
                                "maxItems": service.MAX_EVENTS,
                                "items": service.DriverEventIn.model_json_schema(),
                            }
                        },
                    }
                }
            },
        }
    },
)
def driver_events(
    request: Request,
    driver: CurrentDriver,
    session: SessionDep,
    settings: SettingsDep,
    body: JsonBody,
    background: BackgroundTasks,
) -> dict[str, object]:
    """An event for a parcel not on the driver's current manifest, in the future, or leaving a parcel at a
    station without the recipient's consent is rejected with its index, field and reason; the rest land."""
    events = body.get("events") if isinstance(body, dict) else None
    if not isinstance(events, list) or not 1 <= len(events) <= service.MAX_EVENTS or set(body) != {"events"}:
        raise ValidationFailed(
            f"Body must be {{'events': [...]}} with 1 to {service.MAX_EVENTS} events.",
            errors=[{"field": "events", "reason": f"required array of 1 to {service.MAX_EVENTS} events"}],
        )
    result = service.record_events(session, driver=driver, events=events)
    if result["summary"]["recorded"]:
        transport = getattr(request.app.state, "callback_transport", None)  # a test's MockTransport
        background.add_task(schedule_callbacks, settings, get_database(request), transport=transport)
    return result


@router.get(
    "/inbox",
    summary="The driver's in-app messages (new and updated manifests), newest first",
    responses={
        401: {"description": "Missing, unknown, expired or revoked token, or another device", **PROBLEM}
    },
)
def driver_inbox(driver: CurrentDriver, session: SessionDep) -> dict[str, object]:
    return {"items": notifications.inbox(session, driver=driver)}


@router.put(
    "/photos/{sha256}",
    summary="Upload a proof-of-delivery photo under its SHA-256 (the digest an event's proof names)",
    status_code=201,
    responses={
        200: {"description": "Already uploaded: nothing changed"},
        401: {"description": "Missing, unknown, expired or revoked token, or another device", **PROBLEM},
        413: {"description": "Larger than the request limit", **PROBLEM},
        422: {"description": "Another digest, empty, too large, or not a JPEG, PNG or WebP image", **PROBLEM},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in PHOTO_TYPES},
        }
    },
)
def upload_photo(
    sha256: Annotated[str, Path(pattern=r"^[0-9a-fA-F]{64}$")],
    driver: CurrentDriver,
    session: SessionDep,
    settings: SettingsDep,
    raw: Annotated[bytes, read_raw_body],
) -> JSONResponse:
    """The bytes are checked against the digest and for being an image; a phone that lost the answer
    uploads again and gets 200."""
    photo, created = service.store_photo(
        session, driver=driver, sha256=sha256, data=raw, max_bytes=settings.photo_max_bytes
    )
    return JSONResponse(
        {"sha256": photo.sha256, "content_type": photo.content_type, "size_bytes": photo.size_bytes},
        status_code=201 if created else 200,
    )


proofs_router = APIRouter(prefix="/v1/proofs", tags=["driver"])


@proofs_router.get(
    "/{sha256}",
    summary="A proof-of-delivery photo (the dispatch desk's view, for disputes)",
    responses={
        200: {"content": {t: {} for t in PHOTO_TYPES}},
        401: {"description": "Missing or unknown desk key", **PROBLEM},
        404: {"description": "No such photo for this operator", **PROBLEM},
    },
)
def get_photo(
    sha256: Annotated[str, Path(pattern=r"^[0-9a-fA-F]{64}$")], desk: CurrentDispatcher, session: SessionDep
) -> Response:
    photo = service.get_photo(session, operator_id=desk.operator_id, sha256=sha256)
    return Response(
        photo.data, media_type=photo.content_type, headers={"Cache-Control": "private, max-age=86400"}
    )
