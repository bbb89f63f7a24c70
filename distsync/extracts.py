"""Planning extracts on demand: invoke the stack's planning extract function (the one its EventBridge
Scheduler schedule invokes) for a date and return where it wrote the CSV. Locally, moto's Lambda ``Invoke``
is routed to the local workers, as for ``distsync reconcile``."""

from __future__ import annotations

import json
from typing import Any

from .target import OpsError, Target

INVOKE_READ_TIMEOUT_SECONDS = 330  # the function's timeout is 300 s (a scan of the master data table)


def run_extract(target: Target, day: str | None = None) -> dict[str, Any]:
    """``{"bucket", "key", "date", "rows"}`` of the extract written; without a date, today's (UTC)."""
    import boto3
    from botocore.config import Config

    lam = boto3.client("lambda", config=Config(read_timeout=INVOKE_READ_TIMEOUT_SECONDS,
                                               retries={"max_attempts": 1, "mode": "standard"}))
    response = lam.invoke(FunctionName=target.output("PlanningExtractFunctionName"),
                          Payload=json.dumps({"date": day} if day else {}).encode())
    body = response["Payload"].read()
    result = json.loads(body) if body else None
    if response.get("FunctionError"):
        error = result if isinstance(result, dict) else {}
        raise OpsError(f"the planning extract failed: {error.get('errorType', 'Error')}: "
                       f"{error.get('errorMessage', body.decode('utf-8', 'replace'))}")
    if not isinstance(result, dict) or "key" not in result:
        raise OpsError(f"the planning extract returned no result: {result!r}")
    return result
