"""Planning extracts on demand: invoke the stack's planning extract function (the one its EventBridge
Scheduler schedule invokes) for a date and return where it wrote the CSV. Locally, moto's Lambda ``Invoke``
is routed to the local workers, as for ``distsync reconcile``."""

from __future__ import annotations

from typing import Any

from .target import OpsError, Target

INVOKE_READ_TIMEOUT_SECONDS = 330  # the function's timeout is 300 s (a scan of the master data table)


def run_extract(target: Target, day: str | None = None) -> dict[str, Any]:
    """``{"bucket", "key", "date", "rows"}`` of the extract written; without a date, today's (UTC)."""
    result = target.invoke("PlanningExtractFunctionName", {"date": day} if day else {},
                           what="the planning extract", read_timeout=INVOKE_READ_TIMEOUT_SECONDS)
    if not isinstance(result, dict) or "key" not in result:
        raise OpsError(f"the planning extract returned no result: {result!r}")
    return result
