"""What the HTTP handlers share: problem responses and the signed-request check."""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response

from .observability import logger
from .problems import PROBLEM_CONTENT_TYPE, NotFound, ProblemError, Unauthorized
from .secrets import signing_keys
from .seen_signatures import SeenSignatures
from .signing import REPLAY_WINDOW_SECONDS, SIGNATURE_HEADER, TIMESTAMP_HEADER, SignatureError, verify
from .webhooks import header


def problem_response(exc: ProblemError) -> Response:
    return Response(status_code=exc.status, content_type=PROBLEM_CONTENT_TYPE, body=exc.to_json(),
                    headers=exc.headers or None)


def resolver() -> APIGatewayRestResolver:
    """A REST resolver whose every error, including unknown routes, is a problem+json body."""
    app = APIGatewayRestResolver()

    @app.exception_handler(ProblemError)
    def _problem(exc: ProblemError) -> Response:
        logger.info("request rejected", extra={"status": exc.status, "detail": exc.detail, "errors": exc.errors})
        return problem_response(exc)

    @app.not_found
    def _not_found(_exc: Exception) -> Response:
        return problem_response(NotFound(f"no route for {app.current_event.http_method} {app.current_event.path}"))

    return app


def raw_body(app: APIGatewayRestResolver) -> bytes:
    """The body's bytes as the client sent them (signatures are over bytes; they need not be UTF-8)."""
    event = app.current_event
    if event.is_base64_encoded:
        import base64

        return base64.b64decode(event.body or "")
    return (event.body or "").encode("utf-8")


def require_signature(app: APIGatewayRestResolver, body: bytes, source: str, *,
                      seen: SeenSignatures | None = None) -> None:
    """``body``: what the client signed (the raw body, or a :func:`~.signing.request_target`). With ``seen``,
    a signature already received is refused as a replay."""
    headers = app.current_event.headers
    try:
        verify(signing_keys(source), header(headers, TIMESTAMP_HEADER), header(headers, SIGNATURE_HEADER), body, time.time())
    except SignatureError as exc:
        raise Unauthorized(str(exc)) from exc
    if seen is not None:
        refuse_replay(headers, seen)


def refuse_replay(headers: Any, seen: SeenSignatures) -> None:
    """401 for a verified signature received before (within the replay window)."""
    timestamp = int(header(headers, TIMESTAMP_HEADER) or 0)  # verified: digits
    if not seen.first_use(header(headers, SIGNATURE_HEADER) or "", timestamp, REPLAY_WINDOW_SECONDS):
        raise Unauthorized("this signed request was already received: sign every request (retries too) anew")
