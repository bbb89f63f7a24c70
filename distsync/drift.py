"""``distsync drift``: parameter drift on demand.

It invokes the stack's drift function (the one its daily EventBridge Scheduler schedule invokes; locally
through moto's Invoke), which compares per item-location planning's latest recommendation, distsync's last
applied parameters and the ERP's values, writes the report and publishes the findings; the command reads that
report back from S3 and lists what drifted. ``--fix`` asks the function to send corrections through the
planning pipeline (its threshold and the planners' approvals apply; never straight to the ERP) and says which
go through directly and which wait for a planner. ``--latest`` only reads the newest report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from .target import OpsError, connect

INVOKE_READ_TIMEOUT_SECONDS = 330  # the function's timeout is 300 s
console = Console()


def drift(
    location: Annotated[str, typer.Option("--location", help="Only locations matching this glob (e.g. 'DC-*')")] = "*",
    fix: Annotated[bool, typer.Option("--fix", help="Send corrections through the planning pipeline")] = False,
    latest: Annotated[bool, typer.Option("--latest", help="Show the newest report instead of running")] = False,
    csv_file: Annotated[Path | None, typer.Option("--csv", help="Write every item-location checked as CSV")] = None,
    local: Annotated[str | None, typer.Option("--local", help="a local stack URL (see distsync kpis --help)")] = None,
    stack: Annotated[str, typer.Option("--stack", help="Deployed stack name")] = "distsync-dev",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (the report, and the corrections)")] = False,
) -> None:
    """Per item-location: planning's latest recommendation, distsync's last applied parameters and the ERP's
    values, each difference classified. Exit code 0 when nothing drifted, 1 when something did, 2 when it
    could not run."""
    from distsync_core.drift.classify import findings_csv
    from distsync_core.drift.store import LATEST_KEY, read_report

    if latest and fix:
        console.print("[red]--fix runs the drift: it cannot be combined with --latest[/red]")
        raise typer.Exit(2)
    summary: dict[str, Any] = {}
    try:
        target = connect(local, stack)
        if latest:
            report = read_report(target.output("LandingBucketName"), LATEST_KEY)
            if report is None:
                raise OpsError("no drift report yet (run it: distsync drift)")
        else:
            summary = target.invoke("ParameterDriftFunctionName", {"trigger": "on-demand", "location": location,
                                                                   "fix": fix},
                                    what="the drift run", read_timeout=INVOKE_READ_TIMEOUT_SECONDS)
            if not isinstance(summary, dict) or "reportKey" not in summary:
                raise OpsError(f"the drift run returned no report: {summary!r}")
            report = read_report(summary["bucket"], summary["reportKey"])
            if report is None:
                raise OpsError(f"the drift report s3://{summary['bucket']}/{summary['reportKey']} is missing")
    except OpsError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    if csv_file is not None:
        csv_file.write_text(findings_csv(report), encoding="utf-8", newline="")
    corrections = summary.get("corrections", [])
    if as_json:
        import json

        document = report.model_dump(mode="json", by_alias=True)
        document["runId"], document["corrections"] = summary.get("runId"), corrections
        typer.echo(json.dumps(document, indent=2))
    else:
        _render(report, summary, corrections, fix)
    if report.drifted:
        raise typer.Exit(1)


def _render(report: Any, summary: dict[str, Any], corrections: list[dict[str, Any]], fix: bool) -> None:
    console.print(f"[{'yellow' if report.drifted else 'green'}]{report.sentence()}[/]")
    if summary:
        console.print(f"locations {report.location}; report s3://{summary['bucket']}/{summary['reportKey']}")

    def q(p: Any) -> str:
        return f"{p.safety_stock:g} / {p.reorder_point:g}" if p else "-"

    if report.drifted:
        table = Table("item", "location", "class", "ERP (SS / ROP)", "applied", "recommended", "why",
                      title="drifted item-locations")
        for f in report.drifted:
            table.add_row(f.item_id, f.location_id, f.drift_class.replace("_", " "), q(f.erp), q(f.applied),
                          q(f.recommended), f.reason)
        console.print(table)
    not_compared = [f for f in report.findings if f.drift_class == "not_compared"]
    if not_compared:
        table = Table("item", "location", "why not compared", title="not compared")
        for f in not_compared:
            table.add_row(f.item_id, f.location_id, f.reason)
        console.print(table)
    if fix:
        if not corrections:
            console.print("nothing to correct")
            return
        labels = {"direct": "[green]sent: applies directly[/]", "approval": "[yellow]sent: waits for approval[/]",
                  "none": "not sent"}
        table = Table("item", "location", "class", "correction", "why", "trace", title="corrections (planning pipeline)")
        for c in corrections:
            target = f"{c['safetyStock']:g} / {c['reorderPoint']:g}" if "safetyStock" in c else "-"
            table.add_row(c["itemId"], c["locationId"], c["class"].replace("_", " "), labels[c["path"]] + f" {target}",
                          c["why"], c.get("correlationId", ""))
        console.print(table)
        console.print("follow each with distsync trace <correlation id>; approvals with distsync approvals list")
