"""``distsync inventory``: the inventory visibility accuracy on demand.

``accuracy`` invokes the stack's accuracy function (the one its daily EventBridge Scheduler schedule invokes;
locally through moto's Invoke): it compares each source's newest balance live from the projection, with the
stack's tolerances, writes a report and emits the metric. The command then reads that report back from S3 and
lists the disagreeing item-locations. ``--latest`` only reads the newest report (no run, no invoke permission
needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from .target import OpsError, Target, connect

INVOKE_READ_TIMEOUT_SECONDS = 330  # the function's timeout is 300 s (a scan of the projection)

inventory_app = typer.Typer(help="Inventory: ERP against WMS visibility accuracy", no_args_is_help=True)
console = Console()


def run_accuracy(target: Target) -> Any:
    """Run the accuracy now; its report (:class:`AccuracyReport`) as written to S3."""
    from distsync_core.inventory.reports import read_report

    result = target.invoke("InventoryAccuracyFunctionName", {"trigger": "on-demand"}, what="the accuracy run",
                           read_timeout=INVOKE_READ_TIMEOUT_SECONDS)
    if not isinstance(result, dict) or "reportKey" not in result:
        raise OpsError(f"the accuracy run returned no report: {result!r}")
    return read_report(result["bucket"], result["reportKey"]), result


@inventory_app.command("accuracy")
def accuracy(
    csv_file: Annotated[Path | None, typer.Option("--csv", help="Write the disagreeing item-locations as CSV")] = None,
    latest: Annotated[bool, typer.Option("--latest", help="Show the newest report instead of running")] = False,
    local: Annotated[str | None, typer.Option("--local", help="a local stack URL (see distsync kpis --help)")] = None,
    stack: Annotated[str, typer.Option("--stack", help="Deployed stack name")] = "distsync-dev",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (the whole report)")] = False,
) -> None:
    """ERP against WMS on-hand per item-location: the share that agrees and the ones that do not. Exit code
    0 at or above the target (or nothing comparable), 1 below it, 2 when it could not run."""
    from distsync_core.inventory.accuracy import disagreements_csv
    from distsync_core.inventory.reports import latest_report

    where: dict[str, Any] = {}
    try:
        target = connect(local, stack)
        if latest:
            report = latest_report(target.output("LandingBucketName"))
            if report is None:
                raise OpsError("no inventory accuracy report yet (run it: distsync inventory accuracy)")
        else:
            with console.status("comparing ERP and WMS balances...") if not as_json else _quiet():
                report, where = run_accuracy(target)
    except OpsError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    if csv_file is not None:
        csv_file.write_text(disagreements_csv(report), encoding="utf-8", newline="")
    if as_json:
        typer.echo(report.model_dump_json(by_alias=True, indent=2))
    else:
        _render(report, where)
        if csv_file is not None:
            console.print(f"{len(report.disagreeing)} disagreeing item-location(s) written to {csv_file}")
    if report.below_target:
        raise typer.Exit(1)


def _render(report: Any, where: dict[str, Any]) -> None:
    style = "red" if report.below_target else "green"
    console.print(f"[{style}]{report.sentence()}[/]")
    t = report.tolerance
    console.print(f"as of {report.computed_at:%Y-%m-%d %H:%M:%S} UTC; comparable within {t.as_of_minutes:g} min, "
                  f"agreeing within {t.quantity:g} units or {t.quantity_percent:g} %"
                  + (f"; report s3://{where['bucket']}/{where['reportKey']}" if where else ""))
    if report.disagreeing:
        table = Table("item", "location", "ERP on hand", "WMS on hand", "ERP - WMS", "ERP as of", "WMS as of",
                      title="disagreeing item-locations")
        for d in report.disagreeing:
            table.add_row(d.item_id, d.location_id, f"{d.erp_on_hand:g}", f"{d.wms_on_hand:g}",
                          f"[red]{d.difference:+g}[/]", f"{d.erp_as_of:%Y-%m-%d %H:%M}", f"{d.wms_as_of:%Y-%m-%d %H:%M}")
        console.print(table)
    if report.not_comparable:
        table = Table("item", "location", "why not compared", title="not comparable (not counted)")
        for n in report.not_comparable:
            table.add_row(n.item_id, n.location_id, n.reason)
        console.print(table)


def _quiet() -> Any:
    from contextlib import nullcontext

    return nullcontext()
