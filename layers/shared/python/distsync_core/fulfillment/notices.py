"""The operations message for an opened shipment exception case, with the command to resolve it."""

from __future__ import annotations

from typing import Any

from ..platform.notifications import Notification, subject_line


def exception_opened(case: dict[str, Any], console_url: str) -> Notification:
    cid, orders = case["caseId"], ", ".join(case.get("orderIds") or [])
    what = f"shipment {case['shipmentId']}" + (f" (orders {orders})" if orders else "")
    text = "\n".join([
        f"Shipment exception case {cid} is open: {what}, {case.get('kind') or 'exception'}"
        + (f": {case['description']}" if case.get("description") else "") + ".",
        f"Resolve: distsync exceptions resolve {cid} <reshipped|refunded|delivered_late|written_off|other> "
        "--comment \"...\"",
        f"Console: {console_url}/console#transactions (search SHIPMENT#{case['shipmentId']})",
    ])
    return Notification("operations", "exception_opened", subject_line(f"Shipment exception: {what}"), text, cid)
