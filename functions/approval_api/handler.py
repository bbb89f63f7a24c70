"""Approval API: ``POST /v1/approvals/{approvalId}`` with ``{"decision": "approve"|"reject", "comment"}``.

Signed like the webhooks, over ``"<timestamp>.POST <path>.<raw body>"`` (a decision is bound to its approval),
and a signature is used once. The first decision wins (409 afterwards); it resumes the waiting state machine
through its task token, and the workflow's outcome task records and applies it.
"""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from distsync_core.contracts import utcnow
from distsync_core.planning.approvals import ApprovalStore, DecisionRequest
from distsync_core.platform.api import raw_body, require_signature, resolver
from distsync_core.platform.config import env
from distsync_core.platform.observability import instrument, logger
from distsync_core.platform.problems import BadRequest, pydantic_errors
from distsync_core.platform.seen_signatures import SeenSignatures
from distsync_core.platform.signing import request_target
from distsync_core.platform.waiting_tasks import resume_waiting_task
from distsync_core.platform.webhooks import parse_json_object, require_json

app = resolver()


@app.post("/v1/approvals/<approval_id>")
def decide(approval_id: str) -> Response:
    body = raw_body(app)
    require_json(app.current_event.headers)
    require_signature(app, request_target("POST", f"/v1/approvals/{approval_id}", body), source="planners",
                      seen=SeenSignatures(env("IDEMPOTENCY_TABLE_NAME")))
    try:
        request = DecisionRequest.model_validate(parse_json_object(body))
    except ValidationError as exc:
        raise BadRequest("invalid decision", pydantic_errors(exc)) from exc

    output = {
        "decision": request.decision,
        "comment": request.comment,
        "decidedBy": request.decidedBy,
        "decidedAt": utcnow().isoformat(),
    }
    resume_waiting_task(ApprovalStore(env("APPROVALS_TABLE_NAME")), approval_id, noun="approval",
                        decision=request.decision, comment=request.comment, by=request.decidedBy, output=output,
                        closed="the approval window closed")
    logger.info("planner decision sent", extra={"approvalId": approval_id, "decision": request.decision})
    return Response(
        status_code=200,
        content_type=content_types.APPLICATION_JSON,
        body={"approvalId": approval_id, "decision": request.decision, "status": "DECIDED"},
    )


@instrument
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
