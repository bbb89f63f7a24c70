"""Financial reconciliation on demand: invoke the stack's reconciliation function (the one the daily
EventBridge Scheduler schedule invokes) for a date and return its result. Locally, moto's Lambda ``Invoke``
is routed to the local workers (distsync/local/moto_backend.py ``route_lambda_invokes``)."""

from __future__ import annotations

from typing import Any

from .target import OpsError, Target

# A run is one ERP call and a query per domain; the function's timeout is 60 s.
INVOKE_READ_TIMEOUT_SECONDS = 90


def run_reconciliation(target: Target, posting_date: str | None = None) -> dict[str, Any]:
    """The ReconciliationCompleted data of a run (plus its ``correlationId`` and ``eventId``). Without a date
    the function reconciles yesterday in the schedule's time zone."""
    payload = {"date": posting_date} if posting_date else {}
    result = target.invoke("ReconciliationFunctionName", payload, what="the reconciliation",
                           read_timeout=INVOKE_READ_TIMEOUT_SECONDS)
    if not isinstance(result, dict) or "status" not in result:
        raise OpsError(f"the reconciliation returned no result: {result!r}")
    return result
