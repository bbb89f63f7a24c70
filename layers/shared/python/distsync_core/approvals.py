"""Planner decisions on replenishment approvals (plain logic, no AWS)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

OUTCOME_STATUS = {"approve": "APPROVED", "reject": "REJECTED", "timeout": "TIMED_OUT"}


class DecisionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "reject"]
    comment: str = Field(default="", max_length=1000)
    decidedBy: str = Field(default="planner", min_length=1, max_length=128)

