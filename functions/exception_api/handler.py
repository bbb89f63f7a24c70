"""Shipment exception API: ``POST /v1/shipment-exceptions/{caseId}/resolution`` with
``{"resolution": "reshipped"|..., "comment", "resolvedBy"}``.

Signed like the webhooks, over ``"<timestamp>.POST <path>.<raw body>"`` (a resolution is bound to its case),
and a signature is used once. The first resolution wins (409 afterwards); it resumes the waiting workflow, whose
close task records it and tells the customer channels.
"""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from distsync_core.contracts import utcnow
from distsync_core.fulfillment.exceptions import ExceptionCaseStore, ResolutionRequest
from distsync_core.platform.api import raw_body, require_signature, resolver
from distsync_core.platform.config import env
from distsync_core.platform.observability import instrument
from distsync_core.platform.problems import BadRequest, pydantic_errors
from distsync_core.platform.seen_signatures import SeenSignatures
from distsync_core.platform.signing import request_target
from distsync_core.platform.waiting_tasks import resume_waiting_task
from distsync_core.platform.webhooks import parse_json_object, require_json

app = resolver()


@app.post("/v1/shipment-exceptions/<case_id>/resolution")
def resolve(case_id: str) -> Response:
    body = raw_body(app)
    require_json(app.current_event.headers)
    require_signature(app, request_target("POST", f"/v1/shipment-exceptions/{case_id}/resolution", body),
                      source="operations", seen=SeenSignatures(env("IDEMPOTENCY_TABLE_NAME")))
    try:
        request = ResolutionRequest.model_validate(parse_json_object(body))
    except ValidationError as exc:
        raise BadRequest("invalid resolution", pydantic_errors(exc)) from exc

    output = {"decision": request.resolution, "comment": request.comment, "resolvedBy": request.resolvedBy,
              "resolvedAt": utcnow().isoformat()}
    resume_waiting_task(ExceptionCaseStore(env("EXCEPTIONS_TABLE_NAME")), case_id, noun="shipment exception case",
                        decision=request.resolution, comment=request.comment, by=request.resolvedBy, output=output,
                        closed="it was escalated")
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON,
                    body={"caseId": case_id, "resolution": request.resolution, "status": "RESOLVING"})


@instrument
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
