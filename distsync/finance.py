"""Financial reconciliation on demand: invoke the stack's reconciliation function (the one the daily
EventBridge Scheduler schedule invokes) for a date and return its result. Locally, moto's Lambda ``Invoke``
is routed to the local workers (distsync/local/moto_backend.py ``route_lambda_invokes``)."""

from __future__ import annotations

import json
from typing import Any

from .target import OpsError, Target

# A run is one ERP call and a query per domain; the function's timeout is 60 s.
INVOKE_READ_TIMEOUT_SECONDS = 90


def run_reconciliation(target: Target, posting_date: str | None = None) -> dict[str, Any]:
    """The ReconciliationCompleted data of a run (plus its ``correlationId`` and ``eventId``). Without a date
    the function reconciles yesterday in the schedule's time zone."""
    import boto3
    from botocore.config import Config

    # Never retried by the SDK: every run publishes its own ReconciliationCompleted.
    lam = boto3.client("lambda", config=Config(read_timeout=INVOKE_READ_TIMEOUT_SECONDS,
                                               retries={"max_attempts": 1, "mode": "standard"}))
    payload = {"date": posting_date} if posting_date else {}
    response = lam.invoke(FunctionName=target.output("ReconciliationFunctionName"),
                          Payload=json.dumps(payload).encode())
    body = response["Payload"].read()
    result = json.loads(body) if body else None
    if response.get("FunctionError"):
        error = result if isinstance(result, dict) else {}
        raise OpsError(f"the reconciliation failed: {error.get('errorType', 'Error')}: "
                       f"{error.get('errorMessage', body.decode('utf-8', 'replace'))}")
    if not isinstance(result, dict) or "status" not in result:
        raise OpsError(f"the reconciliation returned no result: {result!r}")
    return result
