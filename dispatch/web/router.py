"""The driver's phone page at ``/driver``: a small offline-first web app (a PWA) shipped as static files.

The page is public, like any web page: it holds no secret. The driver types their shift token into it,
and the page sends the token only to ``/v1/driver/*`` in the Authorization header. The files live in
``dispatch/web/driver/`` (package data) and are read once per process; each answer carries a strong ETag
and ``no-cache`` (revalidate every time: the service worker, not the HTTP cache, is what works offline).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Annotated

from fastapi import APIRouter, Header
from fastapi.responses import Response

router = APIRouter(tags=["web"], include_in_schema=False)

SCOPE = "/driver"
"""The service worker's scope: the page itself and everything under /driver/."""
SERVICE_WORKER = "/driver/sw.js"
_VERSION_MARK = b"__SHELL_VERSION__"

_CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob: mediastream:",
        "connect-src 'self'",
        "worker-src 'self'",
        "manifest-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        # The sign-in form is handled by the script; without it, never submit (the token would land in a URL).
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
_PAGE_HEADERS = {
    "Content-Security-Policy": _CSP,
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(self), microphone=(), geolocation=()",
    "X-Frame-Options": "DENY",
}

FILES: dict[str, tuple[str, str]] = {
    "/driver": ("index.html", "text/html; charset=utf-8"),
    "/driver/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/driver/app.css": ("app.css", "text/css; charset=utf-8"),
    "/driver/manifest.webmanifest": ("manifest.webmanifest", "application/manifest+json"),
    "/driver/icon.svg": ("icon.svg", "image/svg+xml"),
    SERVICE_WORKER: ("sw.js", "text/javascript; charset=utf-8"),
}
"""URL path -> (file in dispatch/web/driver/, content type)."""
SHELL = tuple(path for path in FILES if path != SERVICE_WORKER)
"""What the service worker keeps for offline use: every file but itself."""


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    media_type: str
    etag: str
    headers: dict[str, str] = field(default_factory=dict)


def _read(name: str) -> bytes:
    return (resources.files("dispatch.web") / "driver" / name).read_bytes()


def load_assets() -> dict[str, Asset]:
    """Every file by URL path. The service worker gets a digest of the shell files in place of its
    version mark, so changing any of them changes the worker's bytes and phones install the new shell."""
    raw = {path: _read(name) for path, (name, _type) in FILES.items()}
    shell_version = hashlib.sha256(b"".join(hashlib.sha256(raw[p]).digest() for p in SHELL)).hexdigest()
    raw[SERVICE_WORKER] = raw[SERVICE_WORKER].replace(_VERSION_MARK, shell_version[:16].encode())
    assets = {}
    for path, (_name, media_type) in FILES.items():
        headers = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
        if path == SCOPE:
            headers.update(_PAGE_HEADERS)
        if path == SERVICE_WORKER:
            # The worker sits in /driver/ but serves the page at /driver too, one level up.
            headers["Service-Worker-Allowed"] = SCOPE
        etag = f'"{hashlib.sha256(raw[path]).hexdigest()[:32]}"'
        assets[path] = Asset(body=raw[path], media_type=media_type, etag=etag, headers=headers)
    return assets


ASSETS = load_assets()


def _matches(if_none_match: str, etag: str) -> bool:
    tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return etag in tags or "*" in tags


def _endpoint(asset: Asset) -> Callable[..., Response]:
    def serve(
        if_none_match: Annotated[str | None, Header(alias="If-None-Match", max_length=400)] = None,
    ) -> Response:
        if if_none_match is not None and _matches(if_none_match, asset.etag):
            return Response(status_code=304, headers={"ETag": asset.etag, **asset.headers})
        return Response(
            asset.body, media_type=asset.media_type, headers={"ETag": asset.etag, **asset.headers}
        )

    return serve


for _path, _asset in ASSETS.items():
    router.add_api_route(
        _path,
        _endpoint(_asset),
        methods=["GET"],
        name=f"driver_page:{_path.rsplit('/', 1)[-1] or 'index'}",
        include_in_schema=False,
    )
