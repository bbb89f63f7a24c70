"""Problem details (RFC 9457) for every rejected request: status, a title and what exactly was wrong."""

from __future__ import annotations

import json
from typing import Any

PROBLEM_CONTENT_TYPE = "application/problem+json"
_TYPE_BASE = "https://github.com/distsync/distsync/blob/main/docs/problems.md#"


class ProblemError(Exception):
    status = 500
    slug = "internal-error"
    title = "Internal error"

    def __init__(self, detail: str, errors: list[dict[str, Any]] | None = None, **extra: Any):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []
        self.extra = extra
        self.headers: dict[str, str] = {}  # HTTP headers of the answer besides the body (e.g. Retry-After)

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": _TYPE_BASE + self.slug,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.errors:
            body["errors"] = self.errors
        body.update(self.extra)
        return body

    def to_json(self) -> str:
        return json.dumps(self.body())


class BadRequest(ProblemError):
    status, slug, title = 400, "bad-request", "Bad request"


class ContractViolation(BadRequest):
    slug, title = "contract-violation", "The event breaks its data contract"


class Unauthorized(ProblemError):
    status, slug, title = 401, "unauthorized", "Signature verification failed"


class NotFound(ProblemError):
    status, slug, title = 404, "not-found", "Not found"


class Conflict(ProblemError):
    status, slug, title = 409, "conflict", "Conflict"


class RequestInProgress(Conflict):
    slug, title = "request-in-progress", "The same request is still being processed"

    def __init__(self, detail: str, retry_after_seconds: int):
        super().__init__(detail)
        self.headers["Retry-After"] = str(retry_after_seconds)


class Gone(ProblemError):
    """The event version is past its sunset: the body names the successor version and its schema."""

    status, slug, title = 410, "gone", "This event version is past its sunset"


class PayloadTooLarge(ProblemError):
    status, slug, title = 413, "payload-too-large", "Payload too large"


class UnsupportedMediaType(ProblemError):
    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"


class UnprocessableIdempotencyKey(ProblemError):
    status, slug, title = 422, "idempotency-key-reused", "Idempotency-Key reused with a different payload"


class ServiceUnavailable(ProblemError):
    status, slug, title = 503, "unavailable", "Temporarily unavailable, retry later"


def pydantic_errors(exc: Any, prefix: str = "") -> list[dict[str, Any]]:
    """Turn a pydantic ValidationError into [{"field": "data.itemId", "message": ...}]."""
    out = []
    for err in exc.errors(include_url=False, include_input=False):
        loc = ".".join(str(p) for p in err["loc"])
        out.append({"field": f"{prefix}{loc}" if loc else prefix.rstrip(".") or "body", "message": err["msg"]})
    return out
