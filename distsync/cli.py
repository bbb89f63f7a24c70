"""`distsync`: run the stack locally and operate a running one (local or deployed).

Every command that reads state takes ``--json`` for scripts, and ``--local [URL]`` to talk to a local
stack (default http://127.0.0.1:8080) instead of the deployed ``--stack`` with your AWS credentials.
"""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from .ops import LOCAL_DEFAULT_URL, OpsError, Target, connect

app = typer.Typer(help="distsync: ERP <-> planning integration on AWS serverless", no_args_is_help=True)
local_app = typer.Typer(help="Run the synthesized stack locally on moto", no_args_is_help=True)
approvals_app = typer.Typer(help="Replenishment approvals waiting for planners", no_args_is_help=True)
quarantine_app = typer.Typer(help="Events held back with the reason", no_args_is_help=True)
app.add_typer(local_app, name="local")
app.add_typer(approvals_app, name="approvals")
app.add_typer(quarantine_app, name="quarantine")
console = Console()

LocalOpt = Annotated[
    str | None,
    typer.Option("--local", help=f"URL of a local stack (e.g. {LOCAL_DEFAULT_URL}); default: the deployed stack"),
]
StackOpt = Annotated[str, typer.Option("--stack", help="Deployed stack name")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON")]

STATUS_STYLE = {
    "delivered": "green", "pending_approval": "yellow", "rejected": "magenta",
    "quarantined": "red", "dead_lettered": "red", "in_flight": "cyan",
}


def _target(local: str | None, stack: str) -> Target:
    try:
        return connect(local, stack)
    except OpsError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))


# ------------------------------------------------------------------------------------------------ local
@local_app.command("up")
def local_up(
    port: Annotated[int, typer.Option(help="Port of the local API (0 = any free port)")] = 8080,
    demo: Annotated[bool, typer.Option("--demo/--no-demo", help="Play the demo scenario after start")] = True,
    exit_after_demo: Annotated[bool, typer.Option(help="Stop after the demo instead of serving")] = False,
    context: Annotated[list[str] | None, typer.Option("--context", "-c", help="CDK context key=value")] = None,
    retry_delay: Annotated[int, typer.Option(help="Seconds before a failed message is retried")] = 1,
    cloud_assembly: Annotated[
        Path | None, typer.Option(help="Run this synthesized cloud assembly instead of synthesizing app.py")
    ] = None,
) -> None:
    """Synthesize the CDK app, deploy it into an in-process moto and serve it on 127.0.0.1."""
    from .local.demo import run as run_demo
    from .local.moto_backend import LOCAL_CREDENTIALS, REGION
    from .local.stack import LocalStack

    ctx = dict(item.split("=", 1) for item in context or [])
    stack = LocalStack(port=port, context=ctx, retry_delay=retry_delay, cloud_assembly=cloud_assembly)
    with console.status("synthesizing (cdk synth) and deploying into moto..."):
        stack.start()
    import os

    os.environ.update(LOCAL_CREDENTIALS)  # this process's own clients (demo, trace) talk to the local stack
    os.environ.update({"AWS_ENDPOINT_URL": stack.moto.endpoint, "AWS_DEFAULT_REGION": REGION})
    t = stack.timings
    console.print(
        f"[bold green]distsync local stack {stack.assembly.stack_name} is up[/] at {stack.url} "
        f"(synth {t['synth']:.1f} s, deploy {t['deploy']:.1f} s)\n"
        f"  AWS endpoint (moto): {stack.moto.endpoint}   logs: {stack.workdir / 'logs'}"
    )
    try:
        if demo:
            cids = run_demo(stack, say=console.print)
            from distsync_core.adapters.stores import TraceLog

            traces = TraceLog(stack.outputs["TraceTableName"])
            from distsync_core.trace import trace_document

            for cid in cids:
                _render_trace(trace_document(cid, traces.hops(cid)))
            updates = stack.erp.snapshot()
            console.print(f"ERP simulator accepted {len(updates)} update(s); WMS notified {len(stack.wms.snapshot())} time(s).")
        if exit_after_demo:
            return
        console.print(f"serving on {stack.url}: Ctrl-C to stop. Try: distsync trace <correlation-id> --local {stack.url}")
        done = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: done.set())
        try:
            done.wait()
        except KeyboardInterrupt:
            pass
    finally:
        stack.stop()


# ------------------------------------------------------------------------------------------------ trace
def _render_trace(doc: dict[str, Any]) -> None:
    style = STATUS_STYLE.get(doc["status"], "white")
    table = Table(title=f"{doc['correlationId']}  [{style}]{doc['status']}[/]", title_justify="left", expand=False)
    table.add_column("at", style="dim")
    table.add_column("stage")
    table.add_column("outcome")
    table.add_column("detail")
    for hop in doc["hops"]:
        table.add_row(hop["at"][11:23], hop["stage"], hop["outcome"], hop["detail"])
    console.print(table)


@app.command()
def trace(
    correlation_id: str,
    local: LocalOpt = None,
    stack: StackOpt = "distsync-dev",
    as_json: JsonOpt = False,
) -> None:
    """The hops of one business transaction, with timestamps and outcome."""
    from distsync_core.adapters.stores import TraceLog
    from distsync_core.trace import trace_document

    target = _target(local, stack)
    doc = trace_document(correlation_id, TraceLog(target.output("TraceTableName")).hops(correlation_id))
    if not doc["hops"]:
        if as_json:
            _print_json(doc)
        console.print(f"[yellow]no hops recorded for {correlation_id}[/]")
        raise typer.Exit(1)
    _print_json(doc) if as_json else _render_trace(doc)


# -------------------------------------------------------------------------------------------- approvals
@approvals_app.command("list")
def approvals_list(
    local: LocalOpt = None, stack: StackOpt = "distsync-dev", as_json: JsonOpt = False,
    status: Annotated[str | None, typer.Option(help="PENDING, APPROVED, REJECTED, TIMED_OUT")] = "PENDING",
) -> None:
    """Approvals (pending by default)."""
    from distsync_core.adapters.stores import ApprovalStore

    target = _target(local, stack)
    items = ApprovalStore(target.output("ApprovalsTableName")).list(status.upper() if status else None)
    rows = [{k: v for k, v in i.items() if k != "taskToken"} for i in items]
    if as_json:
        _print_json(rows)
        return
    table = Table("approval", "item@location", "safety stock", "reorder point", "change %", "status", "correlation id")
    for r in rows:
        table.add_row(r["approvalId"], f"{r['itemId']}@{r['locationId']}",
                      f"{r['currentSafetyStock']} -> {r['recommendedSafetyStock']}",
                      f"{r['currentReorderPoint']} -> {r['recommendedReorderPoint']}",
                      str(r["changePercent"]), r["status"], r["correlationId"])
    console.print(table)


def _decide(approval_id: str, decision: str, comment: str, by: str, local: str | None, stack: str, as_json: bool) -> None:
    from distsync.sim.clients import SignedClient

    target = _target(local, stack)
    result = SignedClient(target.api_url, target.webhook_secret()).decide(approval_id, decision, comment, by)
    if as_json:
        _print_json({"status": result.status, "body": result.body})
    elif result.status == 200:
        console.print(f"[green]{approval_id}: {decision} sent[/]")
    else:
        console.print(f"[red]{approval_id}: HTTP {result.status}: {result.body}[/]")
    if result.status != 200:
        raise typer.Exit(1)


@approvals_app.command("approve")
def approvals_approve(
    approval_id: str, comment: str = "", by: Annotated[str, typer.Option("--by")] = "cli",
    local: LocalOpt = None, stack: StackOpt = "distsync-dev", as_json: JsonOpt = False,
) -> None:
    """Approve a pending replenishment change (through the signed approval API)."""
    _decide(approval_id, "approve", comment, by, local, stack, as_json)


@approvals_app.command("reject")
def approvals_reject(
    approval_id: str, comment: str = "", by: Annotated[str, typer.Option("--by")] = "cli",
    local: LocalOpt = None, stack: StackOpt = "distsync-dev", as_json: JsonOpt = False,
) -> None:
    """Reject a pending replenishment change."""
    _decide(approval_id, "reject", comment, by, local, stack, as_json)


# ------------------------------------------------------------------------------------------- quarantine
@quarantine_app.command("list")
def quarantine_list(local: LocalOpt = None, stack: StackOpt = "distsync-dev", as_json: JsonOpt = False) -> None:
    """Quarantined events with the reason each was held back."""
    from distsync_core.adapters.stores import QuarantineStore

    target = _target(local, stack)
    items = QuarantineStore(target.output("QuarantineTableName")).list()
    if as_json:
        _print_json(items)
        return
    table = Table("quarantine id", "stage", "event type", "correlation id", "reason")
    for i in items:
        table.add_row(i["quarantineId"], i["stage"], str(i.get("eventType")), i["correlationId"], i["reason"])
    console.print(table)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
