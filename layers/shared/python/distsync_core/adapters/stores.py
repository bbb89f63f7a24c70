"""Approvals (being moved into the planning package)."""

from __future__ import annotations

from ..platform.waiting_tasks import WaitingTaskStore


class ApprovalStore(WaitingTaskStore):
    """Pending replenishment approvals with the task token of the workflow that waits for them."""

    KEY = "approvalId"

