"""Deciding a task a workflow waits for (a planner's approval, a shipment exception's resolution): the first
decision wins, and it resumes the workflow through the task token stored with the pending record."""

from __future__ import annotations

import json
from typing import Any

from .adapters import client
from .adapters.stores import ApprovalStore
from .observability import logger
from .problems import Conflict, NotFound


def resume_waiting_task(store: ApprovalStore, record_id: str, *, noun: str, decision: str, comment: str, by: str,
                        output: dict[str, Any], closed: str) -> None:
    """Claim the pending record (404 unknown, 409 already decided), then send the workflow ``output``; a
    closed window is a 409 saying ``closed``; any other failure gives the claim back, so one can try again."""
    record = store.get(record_id)
    if record is None:
        raise NotFound(f"no {noun} {record_id!r}")
    logger.set_correlation_id(record.get("correlationId"))
    if record["status"] != "PENDING" or not store.claim_decision(record_id, decision, comment, by):
        current = store.get(record_id) or record
        status_field = f"{noun.split()[-1]}Status"  # approvalStatus, caseStatus
        raise Conflict(f"{noun} {record_id} is already {current['status'].lower()}", **{status_field: current["status"]})
    sfn = client("stepfunctions")
    try:
        sfn.send_task_success(taskToken=record["taskToken"], output=json.dumps(output))
    except (sfn.exceptions.TaskTimedOut, sfn.exceptions.InvalidToken, sfn.exceptions.TaskDoesNotExist) as exc:
        raise Conflict(f"{noun} {record_id} can no longer be decided: {closed}") from exc
    except Exception:
        store.release_claim(record_id)
        raise
