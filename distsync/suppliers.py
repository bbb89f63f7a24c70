"""``distsync suppliers``: supplier performance on demand.

``performance`` invokes the stack's supplier performance function (the one its weekly EventBridge Scheduler
schedule invokes; locally through moto's Invoke): it measures lead time and fill rate per supplier and
item-location from the recorded PO confirmations, ship notices and goods receipts, and publishes the
measurements with a receipt to planning (``--no-publish``: measure only)."""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from .target import OpsError, connect

INVOKE_READ_TIMEOUT_SECONDS = 330  # the function's timeout is 300 s
MAX_SINCE_DAYS = 3650  # RunRequest.since_days

suppliers_app = typer.Typer(help="Suppliers: lead time and fill rate against their promises", no_args_is_help=True)
console = Console()


def parse_since(value: str) -> int:
    """``90d`` (or ``90``) -> 90 days; ``12w`` -> 84."""
    match = re.fullmatch(r"\s*(\d{1,5})\s*([dw]?)\s*", value)
    if not match:
        raise typer.BadParameter(f"{value!r} is not a number of days (90d) or weeks (12w)")
    days = int(match[1]) * (7 if match[2] == "w" else 1)
    if not 1 <= days <= MAX_SINCE_DAYS:
        raise typer.BadParameter(f"{value!r} must be 1 to {MAX_SINCE_DAYS} days")
    return days


@suppliers_app.command("performance")
def performance(
    supplier: Annotated[str | None, typer.Option("--supplier", help="Only this supplier id")] = None,
    since: Annotated[str, typer.Option("--since", help="POs confirmed in the last N days (90d) or weeks (12w)")] = "90d",
    publish: Annotated[bool, typer.Option("--publish/--no-publish", help="Send the measurements to planning")] = True,
    local: Annotated[str | None, typer.Option("--local", help="a local stack URL (see distsync kpis --help)")] = None,
    stack: Annotated[str, typer.Option("--stack", help="Deployed stack name")] = "distsync-dev",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (the run and every measurement)")] = False,
) -> None:
    """Actual lead time (confirmation -> first goods receipt) and fill rate per supplier and item-location,
    against the confirmed dates and quantities and the master data lead time. Exit code 2 when it could not
    run."""
    request: dict[str, Any] = {"trigger": "on-demand", "sinceDays": parse_since(since), "publish": publish}
    if supplier:
        request["supplierId"] = supplier
    try:
        target = connect(local, stack)
        result = target.invoke("SupplierPerformanceFunctionName", request, what="the supplier performance run",
                               read_timeout=INVOKE_READ_TIMEOUT_SECONDS)
        if not isinstance(result, dict) or "measurements" not in result:
            raise OpsError(f"the supplier performance run returned no measurements: {result!r}")
    except OpsError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    if as_json:
        typer.echo(json.dumps(result, indent=2))
    else:
        _render(result)


def _num(value: Any, suffix: str = "") -> str:
    return "-" if value is None else f"{value:g}{suffix}"


def _render(result: dict[str, Any]) -> None:
    console.print(f"POs confirmed {result['windowStart']} .. {result['windowEnd']}"
                  + (f" by {result['supplierId']}" if result.get("supplierId") else "")
                  + f"; {result['published']} measurement(s) sent to planning (correlation id "
                    f"{result['correlationId']})")
    if not result["measurements"]:
        console.print("no purchase order confirmations in the window")
        return
    table = Table("supplier", "item", "location", "POs", "received", "lead time (d)", "promised (d)",
                  "master data (d)", "on time", "fill rate", "over-delivered", title="supplier performance")
    for m in result["measurements"]:
        late = m["actualLeadTimeDays"] is not None and m["promisedLeadTimeDays"] is not None \
            and m["actualLeadTimeDays"] > m["promisedLeadTimeDays"]
        lead = _num(m["actualLeadTimeDays"])
        table.add_row(m["supplierId"], m["itemId"], m["locationId"], str(m["purchaseOrders"]),
                      str(m["receivedPurchaseOrders"]), f"[red]{lead}[/]" if late else lead,
                      _num(m["promisedLeadTimeDays"]), _num(m["masterDataLeadTimeDays"]),
                      _num(m["onTimePercent"], " %"), _num(m["fillRatePercent"], " %"),
                      _num(m["overDeliveredQuantity"]))
    console.print(table)
