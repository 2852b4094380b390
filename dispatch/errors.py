"""Errors the service answers with, each carrying its HTTP status, rendered as RFC 9457 problem+json.

DispatchError                      500 (base)
├── BadRequest                     400
│   ├── MalformedBody              400  body is not JSON / not UTF-8
│   └── IdempotencyKeyMissing      400
├── Unauthorized                   401  one body for unknown, revoked and expired credentials
├── NotFound                       404  also what another tenant's object answers
├── Conflict                       409
│   └── IdempotencyKeyInFlight     409  the same key is still being processed
├── PayloadTooLarge                413  counted while the body streams
├── ValidationFailed               422  names each field and reason
│   └── IdempotencyKeyReused       422  same key, different request
└── ServiceUnavailable             503  with Retry-After (database unreachable)
"""

from __future__ import annotations

from typing import Any, ClassVar


class DispatchError(Exception):
    status: ClassVar[int] = 500
    slug: ClassVar[str] = "internal-error"
    title: ClassVar[str] = "Internal server error"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = errors
        self.headers = headers or {}
        self.extra = extra or {}

    def problem(self, *, instance: str | None = None, request_id: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": f"/problems/{self.slug}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        if request_id:
            body["request_id"] = request_id
        if self.errors is not None:
            body["errors"] = self.errors
        body.update(self.extra)
        return body


class BadRequest(DispatchError):
    status = 400
    slug = "bad-request"
    title = "Bad request"


class MalformedBody(BadRequest):
    slug = "malformed-body"
    title = "Request body is not valid JSON"


class IdempotencyKeyMissing(BadRequest):
    slug = "idempotency-key-missing"
    title = "Idempotency-Key header is required"


class ClientDisconnected(BadRequest):
    slug = "client-disconnected"
    title = "The client closed the connection before the body was complete"


class Unauthorized(DispatchError):
    status = 401
    slug = "unauthorized"
    title = "Missing or invalid credentials"

    def __init__(self) -> None:
        super().__init__(
            "Send a valid API key as 'Authorization: Bearer <key>'.",
            headers={"WWW-Authenticate": 'Bearer realm="gongpei"'},
        )


class NotFound(DispatchError):
    status = 404
    slug = "not-found"
    title = "Not found"


class Conflict(DispatchError):
    status = 409
    slug = "conflict"
    title = "Conflict"


class IdempotencyKeyInFlight(Conflict):
    slug = "idempotency-key-in-flight"
    title = "A request with this Idempotency-Key is still being processed"


class PayloadTooLarge(DispatchError):
    status = 413
    slug = "payload-too-large"
    title = "Request body too large"


class ValidationFailed(DispatchError):
    status = 422
    slug = "validation-failed"
    title = "Request is not valid"

    @classmethod
    def on(cls, field: str, reason: str) -> ValidationFailed:
        """The error for one field: ``field: reason`` as the detail, and that one entry in ``errors``."""
        return cls(f"{field}: {reason}", errors=[{"field": field, "reason": reason}])


class IdempotencyKeyReused(ValidationFailed):
    slug = "idempotency-key-reused"
    title = "Idempotency-Key was already used for a different request"


class ServiceUnavailable(DispatchError):
    status = 503
    slug = "service-unavailable"
    title = "Service temporarily unavailable"

    def __init__(self, detail: str | None = None, *, retry_after_s: int = 5) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after_s)})


def field_errors(pydantic_errors: list[Any], *, prefix: tuple[str | int, ...] = ()) -> list[dict[str, str]]:
    """Pydantic's error list as ``[{field, reason}]`` with dotted field paths (``recipient.phone``)."""
    out: list[dict[str, str]] = []
    for err in pydantic_errors:
        loc = tuple(prefix) + tuple(err.get("loc", ()))
        field = ".".join(str(part) for part in loc) or "body"
        reason = str(err.get("msg", "invalid"))
        if reason.startswith("Value error, "):
            reason = reason[len("Value error, ") :]
        out.append({"field": field, "reason": reason})
    return out
