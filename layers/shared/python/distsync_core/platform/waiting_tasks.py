"""Tasks a workflow waits for (a planner's approval, a shipment exception's resolution): the pending record
with the workflow's task token (:class:`WaitingTaskStore`), and deciding it (:func:`resume_waiting_task`): the
first decision wins, and it resumes the workflow through the stored task token.

Deciding is claim -> SendTaskSuccess -> record the decision. A claim whose holder died before SendTaskSuccess
(its API call crashed or timed out) is taken over after CLAIM_TIMEOUT_SECONDS, and the decision is written
only once the workflow took it."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any, ClassVar

from .aws import client, table
from .dynamo import conditional, from_item, scan_all, to_item
from .observability import logger
from .problems import Conflict, NotFound
from .times import now_iso

# Longer than the decision APIs' timeout (10 s): a claim this old belongs to a call that died.
CLAIM_TIMEOUT_SECONDS = 60


class WaitingTaskStore:
    """Pending tasks with the task token of the workflow that waits for them (first decision wins); a
    domain's store names the key attribute (``KEY``) of its table."""

    KEY: ClassVar[str]

    def __init__(self, table_name: str):
        self._table = table(table_name)

    def put_pending(self, record: dict[str, Any]) -> bool:
        """False when the task was decided already (a redelivered request must not reset the decision)."""
        return conditional(
            self._table.put_item,
            Item=to_item({**record, "status": "PENDING", "requestedAt": now_iso()}),
            ConditionExpression=f"attribute_not_exists({self.KEY}) OR #s = :pending",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":pending": "PENDING"},
        )

    def get(self, record_id: str) -> dict[str, Any] | None:
        raw = self._table.get_item(Key={self.KEY: record_id}, ConsistentRead=True).get("Item")
        return from_item(raw) if raw else None

    def claim_decision(self, record_id: str) -> str | None:
        """PENDING -> DECIDING, or a DECIDING claim older than CLAIM_TIMEOUT_SECONDS taken over; returns the
        claim's id, or None when someone else decides (or decided) it."""
        claim, now = uuid.uuid4().hex, time.time()
        taken = conditional(
            self._table.update_item,
            Key={self.KEY: record_id},
            UpdateExpression="SET #s = :deciding, claimId = :claim, claimedAtEpoch = :now",
            ConditionExpression="#s = :pending OR (#s = :deciding AND claimedAtEpoch < :stale)",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={
                ":deciding": "DECIDING", ":pending": "PENDING", ":claim": claim,
                ":now": int(now), ":stale": int(now) - CLAIM_TIMEOUT_SECONDS,
            },
        )
        return claim if taken else None

    def record_decision(self, record_id: str, claim: str, decision: str, comment: str, decided_by: str) -> None:
        """The decision the workflow took (after SendTaskSuccess), unless the outcome was recorded already."""
        conditional(
            self._table.update_item,
            Key={self.KEY: record_id},
            UpdateExpression="SET decision = :d, #c = :c, decidedBy = :by, decidedAt = :at",
            ConditionExpression="claimId = :claim",
            ExpressionAttributeNames={"#c": "comment"},
            ExpressionAttributeValues={":d": decision, ":c": comment, ":by": decided_by, ":at": now_iso(),
                                       ":claim": claim},
        )

    def release_claim(self, record_id: str, claim: str) -> None:
        conditional(
            self._table.update_item,
            Key={self.KEY: record_id},
            UpdateExpression="SET #s = :pending REMOVE claimId, claimedAtEpoch",
            ConditionExpression="#s = :deciding AND claimId = :claim",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":pending": "PENDING", ":deciding": "DECIDING", ":claim": claim},
        )

    def record_outcome(self, record_id: str, status: str, comment: str) -> dict[str, Any]:
        """Close the task; returns the record as it was (for the turnaround time)."""
        old = self._table.update_item(
            ReturnValues="ALL_OLD",
            Key={self.KEY: record_id},
            UpdateExpression="SET #s = :s, outcomeComment = :c, closedAt = :at REMOVE taskToken",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":s": status, ":c": comment, ":at": now_iso()},
        )
        return from_item(old.get("Attributes", {}))

    def list(self, status: str | None = None) -> list[dict[str, Any]]:
        items = [from_item(i) for i in scan_all(self._table)]
        return [i for i in items if status is None or i.get("status") == status]


def resume_waiting_task(store: WaitingTaskStore, record_id: str, *, noun: str, decision: str, comment: str,
                        by: str, output: dict[str, Any], closed: str) -> None:
    """Claim the pending record (404 unknown, 409 already decided), then send the workflow ``output``; a
    closed window is a 409 saying ``closed``; any other failure gives the claim back, so one can try again."""
    record = store.get(record_id)
    if record is None:
        raise NotFound(f"no {noun} {record_id!r}")
    logger.set_correlation_id(record.get("correlationId"))
    claim = store.claim_decision(record_id) if record["status"] in ("PENDING", "DECIDING") else None
    if claim is None:
        current = store.get(record_id) or record
        status_field = f"{noun.split()[-1]}Status"  # approvalStatus, caseStatus
        raise Conflict(f"{noun} {record_id} is already {current['status'].lower()}", **{status_field: current["status"]})
    sfn = client("stepfunctions")
    try:
        sfn.send_task_success(taskToken=record["taskToken"], output=json.dumps(output))
    except (sfn.exceptions.TaskTimedOut, sfn.exceptions.InvalidToken, sfn.exceptions.TaskDoesNotExist) as exc:
        raise Conflict(f"{noun} {record_id} can no longer be decided: {closed}") from exc
    except Exception:
        store.release_claim(record_id, claim)
        raise
    store.record_decision(record_id, claim, decision, comment, by)
