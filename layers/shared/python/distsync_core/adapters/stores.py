"""Approvals and shipment exception cases (being moved into their domain packages)."""

from __future__ import annotations

from ..platform.waiting_tasks import WaitingTaskStore


class ApprovalStore(WaitingTaskStore):
    """Pending replenishment approvals with the task token of the workflow that waits for them."""

    KEY = "approvalId"


class ExceptionCaseStore(WaitingTaskStore):
    """Open shipment exceptions waiting for a resolution (same life cycle as an approval)."""

    KEY = "caseId"
