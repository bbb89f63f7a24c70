"""The two tasks of the shipment-exception workflow (state_machines/shipment_exception.asl.json).

- ``open`` (``.waitForTaskToken``): store the case with its task token, tell the customer channels and the
  operations topic (the command to resolve it); the
  workflow then waits for a resolution (API or ``distsync exceptions resolve``) until its window closes.
- ``close``: record the resolution (or the escalation after the window) and tell the customer channels.
"""

from __future__ import annotations

from typing import Any, Literal

from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel

from distsync_core.contracts import Envelope, ShipmentMilestone
from distsync_core.fulfillment.exceptions import ExceptionCaseStore
from distsync_core.fulfillment.notices import exception_opened
from distsync_core.partners import partner
from distsync_core.platform import ledger, notifications
from distsync_core.platform.config import env
from distsync_core.platform.observability import instrument, logger


class ExceptionTask(BaseModel):
    action: Literal["open", "close"]
    case: dict[str, Any]
    taskToken: str | None = None
    executionArn: str | None = None


def _tell_operations(case: dict[str, Any]) -> None:
    try:
        notifications.publish(env("OPERATIONS_TOPIC_ARN"), exception_opened(case, env("CONSOLE_URL")))
    except (ClientError, BotoCoreError):
        # the case waits in its table (`distsync exceptions list`) either way: a lost message must not fail it
        logger.exception("operations notification not published", extra={"caseId": case["caseId"]})


@instrument
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    task = ExceptionTask.model_validate(event)
    case_id = task.case["caseId"]
    envelope = Envelope.model_validate(task.case["milestone"])
    shipment = ShipmentMilestone.model_validate(envelope.data)
    cid = envelope.metadata.correlation_id
    logger.set_correlation_id(cid)
    store = ExceptionCaseStore(env("EXCEPTIONS_TABLE_NAME"))
    notice = {"caseId": case_id, "shipmentId": shipment.shipment_id, "orderIds": shipment.order_ids,
              "kind": shipment.exception.kind if shipment.exception else None}

    if task.action == "open":
        # Channels first: an attempt that fails there (and is retried by the workflow) leaves no task token
        # behind that a resolution could use; the stored token is always the waiting attempt's.
        partner("channels").send("POST", "/v1/exception-notices", {**notice, "status": "OPEN"},
                                 idempotency_key=f"{case_id}-open", correlation_id=cid)
        case = {
            "caseId": case_id,
            "taskToken": task.taskToken,
            "executionArn": task.executionArn,
            "correlationId": cid,
            "shipmentId": shipment.shipment_id,
            "orderIds": shipment.order_ids,
            "kind": notice["kind"],
            "description": shipment.exception.description if shipment.exception else "",
            "carrier": shipment.carrier,
        }
        opened = store.put_pending(case)
        ledger.hop(cid, "shipment-exception", "pending_approval",
                   f"case {case_id} ({notice['kind']}) waits for a resolution", caseId=case_id,
                   business_key=shipment.business_key())
        if opened:  # not again for a case already resolved (a redelivered task)
            _tell_operations(case)
        return {"caseId": case_id}

    resolution = task.case.get("resolution") or {}
    outcome = resolution.get("decision", "escalated")
    comment = resolution.get("comment", "")
    status = "RESOLVED" if outcome != "escalated" else "ESCALATED"
    store.record_outcome(case_id, status, comment)
    partner("channels").send("POST", "/v1/exception-notices", {**notice, "status": status, "resolution": outcome},
                             idempotency_key=f"{case_id}-close", correlation_id=cid)
    ledger.hop(cid, "shipment-exception", "delivered" if status == "RESOLVED" else "escalated",
               f"case {case_id} {status.lower()}: {outcome} {comment}".strip(), caseId=case_id,
               business_key=shipment.business_key())
    return {"caseId": case_id, "status": status}
