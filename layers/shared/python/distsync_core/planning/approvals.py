"""Planner decisions on replenishment approvals: the decision a planner sends, the status it closes the
approval with, and the table of pending approvals."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..platform.waiting_tasks import WaitingTaskStore

OUTCOME_STATUS = {"approve": "APPROVED", "reject": "REJECTED", "timeout": "TIMED_OUT"}


class DecisionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "reject"]
    comment: str = Field(default="", max_length=1000)
    decidedBy: str = Field(default="planner", min_length=1, max_length=128)


class ApprovalStore(WaitingTaskStore):
    """Pending replenishment approvals with the task token of the workflow that waits for them."""

    KEY = "approvalId"
