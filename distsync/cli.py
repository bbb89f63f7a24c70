"""`distsync`: run the stack locally and operate a running one (local or deployed).

Every command that reads state takes ``--json`` for scripts, and ``--local [URL]`` to talk to a local
stack (default http://127.0.0.1:8080) instead of the deployed ``--stack`` with your AWS credentials.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from .contracts_cli import contracts_app
from .drift import drift
from .freeze import freeze_app
from .inventory import inventory_app
from .suppliers import suppliers_app
from .target import LOCAL_DEFAULT_URL, OpsError, Target, connect
from .whatif_cli import whatif
from .why import why

app = typer.Typer(help="distsync: ERP <-> planning integration on AWS serverless", no_args_is_help=True)
local_app = typer.Typer(help="Run the synthesized stack locally on moto", no_args_is_help=True)
approvals_app = typer.Typer(help="Replenishment approvals waiting for planners", no_args_is_help=True)
quarantine_app = typer.Typer(help="Events held back with the reason", no_args_is_help=True)
dlq_app = typer.Typer(help="Dead-letter queues: list, peek, redrive", no_args_is_help=True)
exceptions_app = typer.Typer(help="Shipment exception cases waiting for a resolution", no_args_is_help=True)
files_app = typer.Typer(help="Partner files (X12, EDIFACT, CSV) in the landing bucket", no_args_is_help=True)
connectors_app = typer.Typer(help="ERP connections: list, check, sync, subscribe", no_args_is_help=True)
keys_app = typer.Typer(help="Signing keys (HMAC: show, rotate) and API keys (x-api-key, metered by usage plan: issue, retire), one per partner source and API role", no_args_is_help=True)
extracts_app = typer.Typer(help="Outbound extracts for the planning platform", no_args_is_help=True)
app.add_typer(local_app, name="local")
app.add_typer(approvals_app, name="approvals")
app.add_typer(quarantine_app, name="quarantine")
app.add_typer(dlq_app, name="dlq")
app.add_typer(exceptions_app, name="exceptions")
app.add_typer(files_app, name="files")
app.add_typer(keys_app, name="keys")
app.add_typer(connectors_app, name="connectors")
app.add_typer(extracts_app, name="extracts")
app.add_typer(contracts_app, name="contracts")
app.add_typer(inventory_app, name="inventory")
app.command("drift")(drift)
app.add_typer(freeze_app, name="freeze")
app.add_typer(suppliers_app, name="suppliers")
app.command("why")(why)
app.command("whatif")(whatif)
console = Console()

LocalOpt = Annotated[
    str | None,
    typer.Option(
        "--local",
        help=f"a local stack: --local URL, or --local alone for $DISTSYNC_LOCAL_URL, else {LOCAL_DEFAULT_URL}; "
        "without it: the deployed stack",
    ),
]
StackOpt = Annotated[str, typer.Option("--stack", help="Deployed stack name")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON")]

STATUS_STYLE = {
    "delivered": "green", "pending_approval": "yellow", "rejected": "magenta",
    "quarantined": "red", "dead_lettered": "red", "in_flight": "cyan", "escalated": "magenta",
    "superseded": "magenta",
}
# Business keys the ledger indexes: item@location, or ORDER#<id>, SHIPMENT#<id>, PO#<id>, ITEM#<id>, ...
BUSINESS_KEY_MARKERS = ("@", "#")


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
    concurrency: Annotated[int, typer.Option(help="Execution environments per function")] = 2,
    ready_file: Annotated[
        Path | None, typer.Option(hidden=True, help="Write {\"url\": ...} here once serving (for --port 0)")
    ] = None,
) -> None:
    """Synthesize the CDK app, deploy it into an in-process moto and serve it on 127.0.0.1."""
    from .local.demo import run as run_demo
    from .local.demo import run_domains
    from .local.stack import LocalStack

    ctx = dict(item.split("=", 1) for item in context or [])
    with console.status("starting the local stack") as status:
        stack = LocalStack(port=port, context=ctx, retry_delay=retry_delay, cloud_assembly=cloud_assembly,
                           concurrency=concurrency, progress=lambda step: status.update(step + "..."))
        stack.start()

    t = stack.timings
    console.print(
        f"[bold green]distsync local stack {stack.assembly.stack_name} is up[/] at {stack.url} "
        f"(synth {t['synth']:.1f} s, deploy {t['deploy']:.1f} s: {len(stack.physical)} resources, "
        f"{len(stack.lambdas.workers)} functions, {len(stack.pollers)} queue pollers)\n"
        f"  AWS endpoint (moto): {stack.moto.endpoint}   logs: {stack.workdir / 'logs'}\n"
        f"  {len(stack.not_emulated)} resource types not emulated locally (alarms, dashboards, WAF...): "
        f"{stack.workdir / 'logs' / 'not-emulated.txt'}, docs/local-runtime.md"
    )
    if ready_file is not None:  # whoever started us with --port 0 learns the port without racing for one
        tmp = ready_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"url": stack.url}))
        tmp.replace(ready_file)
    try:
        if demo:
            cids = run_demo(stack, say=console.print)
            from distsync.trace import trace_document
            from distsync_core.platform.ledger import Ledger

            traces = Ledger(stack.outputs["TraceTableName"])

            for cid in cids:
                _render_trace(trace_document(cid, traces.hops(cid)))
            updates = stack.erp.snapshot()
            console.print(f"ERP simulator accepted {len(updates)} update(s); WMS notified {len(stack.wms.snapshot())} time(s).")
            # the approved change's lineage, as `distsync why` shows it
            from .lineage_reader import read_lineage
            from .local.demo import WHY
            from .why import render as render_why
            render_why(read_lineage(stack.outputs["TraceTableName"], stack.outputs["MasterDataTableName"], WHY))
            flows = run_domains(stack, say=console.print)
            summary = Table("domain", "correlation id", "status", "what it shows", "last hop",
                            title="one flow per domain (distsync trace <correlation id> for the whole timeline)")
            for domain, cid, what in flows:
                doc = trace_document(cid, traces.hops(cid))
                last = doc["hops"][-1] if doc["hops"] else {"stage": "", "detail": ""}
                style = STATUS_STYLE.get(doc["status"], "white")
                summary.add_row(domain, cid, f"[{style}]{doc['status']}[/]", what,
                                f"{last['stage']}: {last['detail']}")
            console.print(summary)
        if exit_after_demo:
            return
        console.print(f"serving on {stack.url}: Ctrl-C to stop. Ops console: {stack.url}/console; "
                      f"try: distsync trace <correlation-id> --local {stack.url}")
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
    from datetime import datetime

    style = STATUS_STYLE.get(doc["status"], "white")
    table = Table(title=f"{doc['correlationId']}  [{style}]{doc['status']}[/]", title_justify="left", expand=False)
    for column in ("at", "+s", "stage", "outcome", "detail"):
        table.add_column(column, style="dim" if column in ("at", "+s") else None)
    previous = None
    for hop in doc["hops"]:
        at = datetime.fromisoformat(hop["at"])
        step = "" if previous is None else f"{(at - previous).total_seconds():.2f}"
        table.add_row(hop["at"][11:23], step, hop["stage"], hop["outcome"], hop["detail"])
        previous = at
    if len(doc["hops"]) > 1:
        total = datetime.fromisoformat(doc["hops"][-1]["at"]) - datetime.fromisoformat(doc["hops"][0]["at"])
        table.caption = f"{len(doc['hops'])} hops in {total.total_seconds():.2f} s"
    console.print(table)


@app.command()
def trace(
    key: Annotated[str, typer.Argument(help="A correlation id, or a business key such as SKU-100@DC-EAST, "
                                            "ORDER#SO-1 or SHIPMENT#SH-1")],
    local: LocalOpt = None,
    stack: StackOpt = "distsync-dev",
    as_json: JsonOpt = False,
) -> None:
    """The timeline of a business transaction across all hops and systems, with durations."""
    from distsync.trace import trace_document
    from distsync_core.platform.ledger import Ledger

    target = _target(local, stack)
    ledger = Ledger(target.output("TraceTableName"))
    hops = ledger.hops(key)
    business_key = any(m in key for m in BUSINESS_KEY_MARKERS)
    if hops or not business_key:
        docs = [trace_document(key, hops)] if hops else []
    else:  # a business key: every transaction about it, oldest first
        by_cid: dict[str, list[dict[str, Any]]] = {}
        for hop in ledger.hops_for_business_key(key):
            by_cid.setdefault(hop["correlationId"], []).append(hop)
        docs = sorted((trace_document(cid, ledger.hops(cid)) for cid in by_cid), key=lambda d: d["hops"][0]["at"])
    if not docs:
        if as_json:
            _print_json(trace_document(key, []))
        console.print(f"[yellow]no hops recorded for {key}[/]")
        raise typer.Exit(1)
    if as_json:
        _print_json(docs[0] if not business_key or hops else {"businessKey": key, "transactions": docs})
        return
    for doc in docs:
        _render_trace(doc)


# -------------------------------------------------------------------------------------------- approvals
@approvals_app.command("list")
def approvals_list(
    local: LocalOpt = None, stack: StackOpt = "distsync-dev", as_json: JsonOpt = False,
    status: Annotated[str | None, typer.Option(help="PENDING, APPROVED, REJECTED, TIMED_OUT")] = "PENDING",
    sort: Annotated[str, typer.Option(help="impact (days of cover moved), change (%) or age (oldest first)")] = "age",
) -> None:
    """Approvals (pending by default) with their impact."""
    from distsync.approvals import cover, sort_approvals, stockout, working_capital
    from distsync_core.planning.approvals import ApprovalStore

    target = _target(local, stack)
    items = ApprovalStore(target.output("ApprovalsTableName")).list(status.upper() if status else None)
    try:
        rows = sort_approvals([{k: v for k, v in i.items() if k != "taskToken"} for i in items], sort)
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    if as_json:
        _print_json(rows)
        return
    table = Table("approval", "item@location", "safety stock", "reorder point", "change %", "cover",
                  "stockout (now -> new)", "working capital", "status", "correlation id")
    for r in rows:
        table.add_row(r["approvalId"], f"{r['itemId']}@{r['locationId']}",
                      f"{r['currentSafetyStock']} -> {r['recommendedSafetyStock']}",
                      f"{r['currentReorderPoint']} -> {r['recommendedReorderPoint']}",
                      str(r["changePercent"]), cover(r), stockout(r), working_capital(r), r["status"],
                      r["correlationId"])
    console.print(table)


def _decide(approval_id: str, decision: str, comment: str, by: str, local: str | None, stack: str, as_json: bool) -> None:
    target = _target(local, stack)
    _report_decision(target.client("planners").decide(approval_id, decision, comment, by),
                     approval_id, decision, as_json)


def _report_decision(result: Any, record_id: str, decision: str, as_json: bool) -> None:
    """Print what a decision API answered; exit 1 unless it took the decision."""
    if as_json:
        _print_json({"status": result.status, "body": result.body})
    elif result.status == 200:
        console.print(f"[green]{record_id}: {decision} sent[/]")
    else:
        detail = result.body.get("detail") or result.body.get("title") if isinstance(result.body, dict) else result.body
        console.print(f"[red]{record_id}: HTTP {result.status}: {detail}[/]")
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


@app.command()
def atp(
    item_id: str, location_id: str, local: LocalOpt = None, stack: StackOpt = "distsync-dev", as_json: JsonOpt = False,
) -> None:
    """Available to promise of an item at a location (through the signed ATP API)."""
    target = _target(local, stack)
    result = target.client("channels").atp(item_id, location_id)
    if as_json:
        _print_json(result.body)
    elif result.status == 200:
        b = result.body
        console.print(f"[bold]{item_id}@{location_id}[/]: available to promise [green]{b['availableToPromise']:g}[/]"
                      f" (on hand {b['onHand']:g} - allocated {b['allocated']:g} + inbound {b['inboundCounted']:g}"
                      f" due within {b['horizonDays']:g} days), as of {b['asOf']} from {b['sourceSystem']}")
    else:
        console.print(f"[red]HTTP {result.status}: {result.body.get('detail') if isinstance(result.body, dict) else result.body}[/]")
    if result.status != 200:
        raise typer.Exit(1)


# ------------------------------------------------------------------------------------------- exceptions
@exceptions_app.command("list")
def exceptions_list(
    local: LocalOpt = None, stack: StackOpt = "distsync-dev", as_json: JsonOpt = False,
    status: Annotated[str | None, typer.Option(help="PENDING, RESOLVED, ESCALATED")] = "PENDING",
) -> None:
    """Shipment exception cases (open ones by default)."""
    from distsync_core.fulfillment.exceptions import ExceptionCaseStore

    target = _target(local, stack)
    items = ExceptionCaseStore(target.output("ExceptionCasesTableName")).list(status.upper() if status else None)
    rows = [{k: v for k, v in i.items() if k != "taskToken"} for i in items]
    if as_json:
        _print_json(rows)
        return
    table = Table("case", "shipment", "orders", "kind", "description", "status", "correlation id")
    for r in rows:
        table.add_row(r["caseId"], r["shipmentId"], ", ".join(r.get("orderIds", [])), r.get("kind") or "",
                      r.get("description", ""), r["status"], r["correlationId"])
    console.print(table)


@exceptions_app.command("resolve")
def exceptions_resolve(
    case_id: str,
    resolution: Annotated[str, typer.Argument(help="reshipped, refunded, delivered_late, written_off or other")],
    comment: str = "", by: Annotated[str, typer.Option("--by")] = "cli",
    local: LocalOpt = None, stack: StackOpt = "distsync-dev", as_json: JsonOpt = False,
) -> None:
    """Resolve an open shipment exception (through the signed resolution API); the workflow closes it."""
    target = _target(local, stack)
    client = target.client("operations")
    _report_decision(client.resolve_exception(case_id, resolution, comment, by), case_id, resolution, as_json)


# ------------------------------------------------------------------------------------------------ keys
KeyName = Annotated[str, typer.Argument(help="a partner source (erp, planning, wms, tms, supplier) or an API role "
                                             "(channels, planners, operations)")]


@contextmanager
def _key_errors() -> Iterator[None]:
    from distsync.keys import SigningKeyError

    try:
        yield
    except (OpsError, SigningKeyError) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc


@keys_app.command("list")
def keys_list(local: LocalOpt = None, stack: StackOpt = "distsync-dev", as_json: JsonOpt = False) -> None:
    """Every source and role with a signing key, and whether it is rotating (values are never printed)."""
    with _key_errors():
        keys = _target(local, stack).signing_keys()
        rows = [{"name": name, "keys": len(keys.keys(name))} for name in keys.names()]
    if as_json:
        _print_json(rows)
        return
    table = Table("source or role", "keys", "state")
    for r in rows:
        table.add_row(r["name"], str(r["keys"]), "rotating: old and new verify" if r["keys"] > 1 else "")
    console.print(table)


@keys_app.command("show")
def keys_show(name: KeyName, local: LocalOpt = None, stack: StackOpt = "distsync-dev") -> None:
    """Print the newest key of a source or role, to hand to that partner (over a secure channel) and no other."""
    with _key_errors():
        typer.echo(_target(local, stack).signing_keys().current(name))


@keys_app.command("rotate")
def keys_rotate(
    name: KeyName,
    finish: Annotated[bool, typer.Option("--finish", help="drop the old key: only the new one verifies")] = False,
    local: LocalOpt = None, stack: StackOpt = "distsync-dev",
) -> None:
    """Add a new key next to the current one (both verify), or with --finish drop the old one."""
    with _key_errors():
        keys = _target(local, stack).signing_keys()
        if finish:
            keys.finish(name)
        else:
            keys.rotate(name)
    if finish:
        console.print(f"[green]{name}: the old key is dropped[/]; it stops verifying within 5 minutes "
                      "(the functions cache keys that long)")
        return
    console.print(f"[green]{name}: a new key verifies next to the old one[/] (within 5 minutes). Hand it over with "
                  f"`distsync keys show {name}`; once the partner signs with it: "
                  f"`distsync keys rotate {name} --finish`")


@keys_app.command("api-keys")
def keys_api_keys(name: Annotated[str | None, typer.Argument(help="one source or role (default: all)")] = None,
                  local: LocalOpt = None, stack: StackOpt = "distsync-dev", as_json: JsonOpt = False) -> None:
    """The API keys (x-api-key) on each source's and role's usage plan: id, enabled, created (no values)."""
    with _key_errors():
        keys = _target(local, stack).api_keys()
        rows = [{"name": n, **k} for n in ([name] if name else keys.names()) for k in keys.keys(n) or [{}]]
    if as_json:
        _print_json(rows)
        return
    table = Table("source or role", "API key id", "enabled", "created")
    for r in rows:
        table.add_row(r["name"], r.get("id", "none: distsync keys issue " + r["name"]),
                      {True: "yes", False: "no"}.get(r.get("enabled"), ""), r.get("createdDate", ""))
    console.print(table)


@keys_app.command("issue")
def keys_issue(name: Annotated[str | None, typer.Argument(help="a source or role")] = None,
               all_names: Annotated[bool, typer.Option("--all", help="one new key for every source and role")] = False,
               local: LocalOpt = None, stack: StackOpt = "distsync-dev", as_json: JsonOpt = False) -> None:
    """Issue a new API key on a source's or role's usage plan and print its value, to hand to that partner.
    A rotation: issue, hand over, then `distsync keys retire <name> <old key id>`."""
    if bool(name) == all_names:
        raise typer.BadParameter("name one source or role, or give --all")
    with _key_errors():
        target = _target(local, stack)
        keys = target.api_keys()
        issued = [keys.issue(n, target.stack_name) for n in (keys.names() if all_names else [name or ""])]
    if as_json:
        _print_json(issued)
        return
    for key in issued:
        console.print(f"{key['name']}: API key {key['id']} issued; send it as x-api-key: [bold]{key['value']}[/]")


@keys_app.command("api-key")
def keys_api_key(name: KeyName, local: LocalOpt = None, stack: StackOpt = "distsync-dev") -> None:
    """Print the newest enabled API key of a source or role (what it sends as x-api-key)."""
    with _key_errors():
        typer.echo(_target(local, stack).api_key(name))


@keys_app.command("retire")
def keys_retire(name: KeyName, key_id: Annotated[str, typer.Argument(help="the API key id (keys api-keys)")],
                local: LocalOpt = None, stack: StackOpt = "distsync-dev") -> None:
    """Take an API key off its usage plan and delete it: API Gateway refuses it (403) at once."""
    with _key_errors():
        _target(local, stack).api_keys().retire(name, key_id)
    console.print(f"[green]{name}: API key {key_id} retired[/]")


# ------------------------------------------------------------------------------------------------ connectors
ConnectionName = Annotated[str, typer.Argument(help="an ERP connection's name (context erpConnections)")]


@connectors_app.command("list")
def connectors_list(local: LocalOpt = None, stack: StackOpt = "distsync-dev", as_json: JsonOpt = False) -> None:
    """Every ERP connection: kind, the locations it owns, its delta-pull cursor and subscription."""
    from .connectors import connections

    with _key_errors():
        rows = connections(_target(local, stack))
    if as_json:
        _print_json(rows)
        return
    table = Table("connection", "kind", "locations", "cursor", "pulled at", "subscription expires")
    for r in rows:
        table.add_row(r["name"], r["kind"], ", ".join(r["locations"]), r["cursor"] or "", r["pulledAt"] or "",
                      r["subscriptionExpires"] or "")
    console.print(table)


def _connector_action(name: str, action: str, local: str | None, stack: str, as_json: bool) -> None:
    from .connectors import run

    with _key_errors():
        result = run(_target(local, stack), name, action)
    if as_json:
        _print_json(result)
        return
    ok = result.get("ok", True)
    console.print(f"[{'green' if ok else 'red'}]{name} {action}[/]: " +
                  ", ".join(f"{k} {v}" for k, v in result.items() if k not in ("connection", "action")))
    if not ok:
        raise typer.Exit(1)


@connectors_app.command("check")
def connectors_check(name: ConnectionName, local: LocalOpt = None, stack: StackOpt = "distsync-dev",
                     as_json: JsonOpt = False) -> None:
    """Credentials work, a read succeeds, and the ERP's clock skew (writes are not tried)."""
    _connector_action(name, "check", local, stack, as_json)


@connectors_app.command("sync")
def connectors_sync(name: ConnectionName, local: LocalOpt = None, stack: StackOpt = "distsync-dev",
                    as_json: JsonOpt = False) -> None:
    """Pull the connection's changes since its cursor now, as the schedule would."""
    _connector_action(name, "sync", local, stack, as_json)


@connectors_app.command("stock")
def connectors_stock(name: ConnectionName, local: LocalOpt = None, stack: StackOpt = "distsync-dev",
                     as_json: JsonOpt = False) -> None:
    """Read the ERP's stock of every governed item-location the connection owns now, as the schedule would."""
    _connector_action(name, "stock", local, stack, as_json)


@connectors_app.command("subscribe")
def connectors_subscribe(name: ConnectionName, local: LocalOpt = None, stack: StackOpt = "distsync-dev",
                         as_json: JsonOpt = False) -> None:
    """Create or renew a Business Central webhook subscription now, as the schedule would."""
    _connector_action(name, "subscribe", local, stack, as_json)


# ------------------------------------------------------------------------------------------------ files
@files_app.command("put")
def files_put(
    partner: Annotated[str, typer.Argument(help="Partner id (its folder under inbound/), e.g. acme-3pl")],
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="The file to drop")],
    name: Annotated[str | None, typer.Option(help="Object name (default: the file's name)")] = None,
    local: LocalOpt = None, stack: StackOpt = "distsync-dev",
) -> None:
    """Drop a file into inbound/<partner>/ as the partner would (the intake picks it up)."""
    from rich.progress import DownloadColumn, Progress

    from distsync_core.platform.aws import client

    target = _target(local, stack)
    key, size = f"inbound/{partner}/{name or path.name}", path.stat().st_size
    # upload_file streams the file (multipart past 8 MB) instead of reading it whole; the bar shows its progress
    with Progress(*Progress.get_default_columns(), DownloadColumn(), console=console, transient=True) as progress:
        task = progress.add_task(f"uploading {path.name}", total=size)
        client("s3").upload_file(str(path), target.output("LandingBucketName"), key,
                                 Callback=lambda sent: progress.advance(task, sent))
    console.print(f"[green]put {key}[/] ({size:,} bytes)")


@files_app.command("list")
def files_list(local: LocalOpt = None, stack: StackOpt = "distsync-dev", as_json: JsonOpt = False) -> None:
    """Files the intake processed: status, events, where the original, acknowledgment and report are."""
    from distsync_core.files.store import FileRegistry

    target = _target(local, stack)
    rows = sorted(FileRegistry(target.output("FilesTableName")).list(), key=lambda r: r.get("claimedAt", ""))
    if as_json:
        _print_json(rows)
        return
    table = Table("file", "status", "events", "accepted/rejected", "original", "acknowledgment", "report")
    for r in rows:
        o = r.get("outcome", {})
        table.add_row(o.get("file_id", r["key"]), o.get("status", r["status"]), str(o.get("events", "")),
                      f"{o.get('accepted', '')}/{o.get('rejected', '')}", o.get("original", ""),
                      o.get("acknowledgment", ""), o.get("report", ""))
    console.print(table)


# ------------------------------------------------------------------------------------------- quarantine
@quarantine_app.command("list")
def quarantine_list(local: LocalOpt = None, stack: StackOpt = "distsync-dev", as_json: JsonOpt = False) -> None:
    """Quarantined events with the reason each was held back."""
    from distsync_core.platform.quarantine import QuarantineStore

    target = _target(local, stack)
    items = QuarantineStore(target.output("QuarantineTableName")).list()
    if as_json:
        _print_json(items)
        return
    table = Table("quarantine id", "stage", "event type", "correlation id", "reason")
    for i in items:
        table.add_row(i["quarantineId"], i["stage"], str(i.get("eventType")), i["correlationId"], i["reason"])
    console.print(table)


# ---------------------------------------------------------------------------------------------------- dlq
def _dead_letter_queues(target: Target) -> list[Any]:
    from distsync_core.platform.aws import client

    from . import dlq

    return dlq.discover(client("sqs"), target.queues())


def _dlq(target: Target, queue: str) -> Any:
    from . import dlq

    try:
        return dlq.select(_dead_letter_queues(target), queue)
    except LookupError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc


def _parse_age(text: str | None) -> float | None:
    if not text:
        return None
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    if text[-1] in units and text[:-1].replace(".", "", 1).isdigit():
        return float(text[:-1]) * units[text[-1]]
    raise typer.BadParameter("use a number with s, m, h or d, e.g. 15m")


def _window_start(text: str, now: Any) -> Any:
    """An ISO-8601 time, or an age such as 2h counted back from ``now``."""
    from datetime import datetime, timedelta

    if "T" in text:
        return datetime.fromisoformat(text)
    return now - timedelta(seconds=_parse_age(text))


WideOpt = Annotated[bool, typer.Option("--wide", help="Also show the queues' physical names")]


@dlq_app.command("list")
def dlq_list(local: LocalOpt = None, stack: StackOpt = "distsync-dev", as_json: JsonOpt = False,
             wide: WideOpt = False) -> None:
    """Every pipeline's DLQ with its depth and the age of its oldest message (--wide: the queue names)."""
    from distsync_core.platform.aws import client

    from . import dlq

    target = _target(local, stack)
    sqs = client("sqs")
    rows = []
    for queue in _dead_letter_queues(target):
        count = dlq.depth(sqs, queue)
        oldest = max((m.age_seconds for m in dlq.peek(sqs, queue, limit=10)), default=None) if count else None
        rows.append({"pipeline": queue.pipeline, "queue": queue.name, "source": queue.source_name, "depth": count,
                     "oldestAgeSeconds": None if oldest is None else round(oldest, 1)})
    if as_json:
        _print_json(rows)
        return
    table = Table("pipeline", "depth", "oldest (s)", *(("dead-letter queue", "redrives to") if wide else ()),
                  title="dead-letter queues (redrive one with: distsync dlq redrive <pipeline>)")
    for r in rows:
        depth = f"[red]{r['depth']}[/]" if r["depth"] else "0"
        oldest = "" if r["oldestAgeSeconds"] is None else str(r["oldestAgeSeconds"])
        table.add_row(r["pipeline"], depth, oldest, *((r["queue"], r["source"]) if wide else ()))
    console.print(table)


def _reason_lookup(target: Target) -> Any:
    from distsync_core.platform.ledger import Ledger

    traces = Ledger(target.output("TraceTableName"))

    def reason(msg: Any) -> str | None:
        if not msg.correlation_id:
            return None
        hops = [h for h in traces.hops(msg.correlation_id)
                if h["outcome"] == "dead_lettered" and h.get("eventId") in (None, msg.event_id)]
        return max(hops, key=lambda h: h["at"])["detail"] if hops else None

    return reason


@dlq_app.command("peek")
def dlq_peek(
    queue: Annotated[str, typer.Argument(help="The pipeline (e.g. ErpUpdate, as `dlq list` names it) or its DLQ's name")],
    limit: Annotated[int, typer.Option(help="How many messages")] = 10,
    local: LocalOpt = None, stack: StackOpt = "distsync-dev", as_json: JsonOpt = False,
) -> None:
    """Messages in a DLQ with event type, correlation id and why they failed (from the trace)."""
    from distsync_core.platform.aws import client

    from . import dlq

    target = _target(local, stack)
    messages = dlq.peek(client("sqs"), _dlq(target, queue), limit, reason_of=_reason_lookup(target))
    if as_json:
        _print_json([dict(m.summary(), body=json.loads(m.body) if m.body.startswith("{") else m.body)
                     for m in messages])
        return
    table = Table("message", "event type", "correlation id", "age (s)", "receives", "reason")
    for m in messages:
        table.add_row(m.message_id[:12], str(m.event_type), str(m.correlation_id), f"{m.age_seconds:.0f}",
                      str(m.receive_count), m.reason or "")
    console.print(table)


@dlq_app.command("redrive")
def dlq_redrive(
    queue: Annotated[str, typer.Argument(help="The pipeline (e.g. ErpUpdate, as `dlq list` names it) or its DLQ's name")],
    event_type: Annotated[str | None, typer.Option("--type", help="Only this event type")] = None,
    correlation_id: Annotated[str | None, typer.Option(help="Only this correlation id")] = None,
    older_than: Annotated[str | None, typer.Option(help="Only messages older than this, e.g. 15m")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would move; move nothing")] = False,
    local: LocalOpt = None, stack: StackOpt = "distsync-dev", as_json: JsonOpt = False,
) -> None:
    """Move dead-lettered messages back to the queue they came from (idempotent consumers make it safe
    to run twice)."""
    from rich.progress import Progress

    from distsync_core.platform.aws import client
    from distsync_core.platform.ledger import Ledger

    from . import dlq

    target = _target(local, stack)
    dead = _dlq(target, queue)
    ledger = Ledger(target.output("TraceTableName"))
    record = dlq.record_redriven(ledger, dead)

    filters = dlq.Filters(event_type, correlation_id, _parse_age(older_than))
    with Progress(console=console, transient=True, disable=as_json) as progress:
        task = progress.add_task(f"redriving {dead.pipeline}", total=None)
        report = dlq.redrive(client("sqs"), dead, filters, dry_run=dry_run, on_moved=record,
                             attributes=dlq.dead_lettered_at(ledger),
                             progress=lambda n: progress.update(task, completed=n))
    ledger.flush()
    if as_json:
        _print_json({"queue": report.queue, "dryRun": report.dry_run, "scanned": report.scanned,
                     "matched": report.matched, "moved": report.moved})
        return
    verb = "would move" if dry_run else "moved"
    console.print(f"{dead.pipeline} dead-letter queue: scanned {report.scanned}, matched {len(report.matched)}, "
                  f"{verb} {len(report.matched) if dry_run else report.moved} back to its queue.")
    for m in report.matched:
        console.print(f"  {m['event_type']}  {m['correlation_id']}  {m['message_id']}")


@quarantine_app.command("release")
def quarantine_release(
    quarantine_ids: Annotated[list[str] | None, typer.Argument(help="Quarantine ids (see `quarantine list`)")] = None,
    release_all: Annotated[bool, typer.Option("--all", help="Release every quarantined event")] = False,
    local: LocalOpt = None, stack: StackOpt = "distsync-dev", as_json: JsonOpt = False,
) -> None:
    """Put quarantined events back on the bus to be validated again (e.g. after the missing master data
    arrived); one that still fails is quarantined again with the new reason."""
    from distsync_core.platform.aws import client
    from distsync_core.platform.ledger import Ledger
    from distsync_core.platform.quarantine import NotReleasable, QuarantineStore, release

    target = _target(local, stack)
    store = QuarantineStore(target.output("QuarantineTableName"))
    ids = [q["quarantineId"] for q in store.list("QUARANTINED")] if release_all else list(quarantine_ids or [])
    if not ids:
        console.print("[yellow]nothing to release: name quarantine ids or use --all[/]")
        raise typer.Exit(1)
    ledger = Ledger(target.output("TraceTableName"))
    results = []
    for qid in ids:
        try:
            done = release(store, client("events"), target.output("EventBusName"), qid)
        except NotReleasable as exc:
            results.append({"quarantineId": qid, "released": False, "reason": str(exc)})
            continue
        ledger.hop(done.correlation_id, "quarantine", "released", f"{qid} released by an operator")
        results.append({"quarantineId": qid, "released": True, "correlationId": done.correlation_id})
    ledger.flush()
    if as_json:
        _print_json(results)
    else:
        for r in results:
            console.print(f"[green]{r['quarantineId']}: released[/]" if r["released"]
                          else f"[red]{r['quarantineId']}: {r['reason']}[/]")
    if not all(r["released"] for r in results):
        raise typer.Exit(1)


# ----------------------------------------------------------------------------------------------- replay
@app.command()
def replay(
    start: Annotated[str, typer.Option("--from", help="Window start (ISO-8601 with offset) or an age such as 2h")],
    end: Annotated[str | None, typer.Option("--to", help="Window end (ISO-8601); default now")] = None,
    event_type: Annotated[str | None, typer.Option("--type", help="Only to the rules consuming this type")] = None,
    correlation_id: Annotated[str | None, typer.Option(help="Only this transaction's original events")] = None,
    local: LocalOpt = None, stack: StackOpt = "distsync-dev", as_json: JsonOpt = False,
) -> None:
    """Re-publish archived events of a time window (EventBridge archive + replay), or one transaction's
    original events (--correlation-id, from the ledger); consumers are idempotent, so nothing already
    applied is applied again."""
    from datetime import UTC, datetime

    from distsync_core.platform.aws import client

    from .replay import ReplayError, replay_transaction
    from .replay import replay as run_replay

    target = _target(local, stack)
    now = datetime.now(UTC)
    window_start = _window_start(start, now)
    window_end = datetime.fromisoformat(end) if end else now
    if correlation_id:
        from distsync_core.platform.ledger import Ledger

        ledger = Ledger(target.output("TraceTableName"))
        try:
            ids = replay_transaction(client("events"), target.output("EventBusName"), ledger.hops(correlation_id),
                                     window_start, window_end)
        except ReplayError as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from exc
        ledger.hop(correlation_id, "replay", "replayed", f"re-published {len(ids)} original event(s) from the ledger")
        ledger.flush()
        _print_json({"correlationId": correlation_id, "republished": ids}) if as_json else console.print(
            f"{correlation_id}: re-published {len(ids)} original event(s)")
        return
    try:
        with console.status("replaying...", spinner="dots") if not as_json else _nullcontext():
            result = run_replay(client("events"), target.output("EventBusName"), window_start, window_end, event_type)
    except ReplayError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    data = {"replayName": result.name, "state": result.state, "archive": result.archive,
            "rules": result.rules, "from": result.window[0], "to": result.window[1]}
    if as_json:
        _print_json(data)
    else:
        console.print(f"replay {result.name}: {result.state} ({result.window[0]} .. {result.window[1]})")
    if result.state != "COMPLETED":
        raise typer.Exit(1)


def _nullcontext() -> Any:
    from contextlib import nullcontext

    return nullcontext()


# ------------------------------------------------------------------------------------------------- kpis
@app.command()
def kpis(
    since: Annotated[str, typer.Option(help="Window start, as an age (24h, 30m, 7d) or an ISO-8601 time")] = "24h",
    until: Annotated[str | None, typer.Option(help="Window end (ISO-8601); default now")] = None,
    local: LocalOpt = None, stack: StackOpt = "distsync-dev", as_json: JsonOpt = False,
) -> None:
    """SLA figures from the ledger for a time window, with DLQ depth per domain."""
    from datetime import UTC, datetime

    from distsync.kpis import compute, inventory_accuracy, print_accuracy
    from distsync_core.platform.aws import client
    from distsync_core.platform.ledger import Ledger

    from . import dlq

    target = _target(local, stack)
    start = _window_start(since, datetime.now(UTC)).isoformat()
    hops = [h for h in Ledger(target.output("TraceTableName")).scan(since=start) if until is None or h["at"] <= until]
    figures = compute(hops)
    sqs = client("sqs")
    figures["deadLetterQueueDepth"] = {q.pipeline: dlq.depth(sqs, q) for q in _dead_letter_queues(target)}
    figures["window"] = {"from": start, "to": until or datetime.now(UTC).isoformat()}
    figures["inventoryVisibilityAccuracy"] = inventory_accuracy(target.output("LandingBucketName"))
    if as_json:
        _print_json(figures)
        return
    print_accuracy(console, figures["inventoryVisibilityAccuracy"])
    table = Table("KPI", "count", "p50 (s)", "p95 (s)", "max (s)", title=f"from {start[:19]}")
    for key in ("forecastToErpLatency", "forecastToErpLatencyExcludingHeld", "erpWritesHeldTime",
                "approvalTurnaround", "failureRecoveryTime", "orderStatusPropagation", "inventoryVisibilityFreshness"):
        f = figures[key]
        table.add_row(key, str(f["count"]), *(("-" if f[k] is None else f"{f[k]:.1f}")
                                                for k in ("p50Seconds", "p95Seconds", "maxSeconds")))
    console.print(table)
    by_status = ", ".join(f"{count} {status.replace('_', ' ')}" for status, count in figures["byStatus"].items() if count)
    console.print(f"{figures['transactions']} transactions" + (f": {by_status}" if by_status else "") + ".")
    waiting = {name: depth for name, depth in figures["deadLetterQueueDepth"].items() if depth}
    if not waiting:
        console.print(f"Every dead-letter queue is empty ({len(figures['deadLetterQueueDepth'])} pipelines).")
        return
    dlqs = Table("pipeline", "dead-lettered", title="dead-letter queues holding messages")
    for name, depth in waiting.items():
        dlqs.add_row(name, f"[red]{depth}[/]")
    console.print(dlqs)


# ------------------------------------------------------------------------------------------- reconcile
@app.command()
def reconcile(
    posting_date: Annotated[
        str | None,
        typer.Option("--date", help="Posting date YYYY-MM-DD; default: yesterday in the schedule's time zone"),
    ] = None,
    local: LocalOpt = None, stack: StackOpt = "distsync-dev", as_json: JsonOpt = False,
) -> None:
    """Run the financial reconciliation now (as the daily schedule does): the ERP's posting totals of a date
    against the postings distsync recorded, per domain, posting type and currency; publishes
    ReconciliationCompleted. Exit code 0 balanced, 1 mismatched, 2 when it could not run."""
    from distsync_core.finance.reconciliation import format_amount, parse_date

    from .finance import run_reconciliation

    if posting_date is not None:
        try:
            posting_date = parse_date(posting_date).isoformat()
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--date") from exc
    target = _target(local, stack)
    try:
        with console.status("reconciling...", spinner="dots") if not as_json else _nullcontext():
            result = run_reconciliation(target, posting_date)
    except OpsError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    if as_json:
        _print_json(result)
    else:
        style = "green" if result["status"] == "balanced" else "red"
        console.print(f"[bold]{result['postingDate']}[/]: [{style}]{result['status']}[/]  "
                      f"(reconciliation {result['reconciliationId']}, correlation id {result['correlationId']})")
        console.print("  ".join(f"{d['domain']} [{'green' if d['status'] == 'balanced' else 'red'}]{d['status']}[/]"
                                for d in result["domains"]))
        if result["totals"]:
            table = Table("domain", "posting type", "ERP total", "ERP count", "distsync total", "distsync count",
                          "status", title="totals")
            for t in result["totals"]:
                row_style = "" if t["status"] == "balanced" else "red"
                table.add_row(t["domain"], t["postingType"], format_amount(t["erpAmountMinor"], t["currency"]),
                              str(t["erpCount"]), format_amount(t["recordedAmountMinor"], t["currency"]),
                              str(t["recordedCount"]), t["status"], style=row_style)
            console.print(table)
        for m in result["mismatches"]:
            console.print(f"[red]mismatch[/] {m['kind']}: {m['message']}")
    if result["status"] != "balanced":
        raise typer.Exit(1)


# -------------------------------------------------------------------------------------------- extracts
@extracts_app.command("run")
def extracts_run(
    day: Annotated[str | None, typer.Option("--date", help="Extract date YYYY-MM-DD (its folder); default: today, UTC")] = None,
    local: LocalOpt = None, stack: StackOpt = "distsync-dev", as_json: JsonOpt = False,
) -> None:
    """Write the item-location parameters extract for planning now (as its daily schedule does):
    outbound/planning/extracts/<date>/item-locations.csv in the landing bucket."""
    from datetime import date

    from .extracts import run_extract

    if day is not None:
        try:
            day = date.fromisoformat(day).isoformat()
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--date") from exc
    target = _target(local, stack)
    try:
        result = run_extract(target, day)
    except OpsError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    if as_json:
        _print_json(result)
    else:
        console.print(f"[green]wrote s3://{result['bucket']}/{result['key']}[/] ({result['rows']} item-locations)")


@app.command()
def catalogue(
    out: Annotated[Path, typer.Option(help="Where to write the catalogue")] = Path("docs/event-catalogue.md"),
) -> None:
    """Write the event catalogue (types, producers, consuming pipelines, schemas) generated from the code."""
    from .catalogue import CATALOGUE_ASSEMBLY, render
    from .local.assembly import Assembly
    from .local.synth import synth

    with console.status("synthesizing (cdk synth)..."):
        assembly = Assembly.load(synth(CATALOGUE_ASSEMBLY))
    out.write_text(render(assembly))
    console.print(f"wrote {out}")


def with_local_default(args: list[str]) -> list[str]:
    """``--local`` with no URL after it means the local stack at $DISTSYNC_LOCAL_URL, else LOCAL_DEFAULT_URL
    (click options take a value or none, not an optional one)."""
    out = list(args)
    for i, arg in enumerate(out):
        if arg == "--":
            break
        if arg == "--local" and (i + 1 == len(out) or out[i + 1].startswith("-")):
            out.insert(i + 1, os.environ.get("DISTSYNC_LOCAL_URL") or LOCAL_DEFAULT_URL)
            break
    return out


def main() -> None:
    app(args=with_local_default(sys.argv[1:]))


if __name__ == "__main__":
    main()
