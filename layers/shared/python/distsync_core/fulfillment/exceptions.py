"""Shipment exception cases: an open case waits in a workflow for an operator's resolution."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..platform.waiting_tasks import WaitingTaskStore


class ResolutionRequest(BaseModel):
    """How an open shipment exception was resolved."""

    model_config = ConfigDict(extra="forbid")

    resolution: Literal["reshipped", "refunded", "delivered_late", "written_off", "other"]
    comment: str = Field(default="", max_length=1000)
    resolvedBy: str = Field(default="operator", min_length=1, max_length=128)


class ExceptionCaseStore(WaitingTaskStore):
    """Open shipment exceptions waiting for a resolution (same life cycle as an approval)."""

    KEY = "caseId"
