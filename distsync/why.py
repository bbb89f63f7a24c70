"""``distsync why ITEM@LOCATION``: why an item-location has its replenishment parameters (lineage).

Reads the ledger's hops of the business key (its ``byBusinessKey`` index, ``--since`` as the index's sort key
condition) and the item-location's master-data record, and explains them with :func:`distsync.lineage.lineage`.
The console's lineage page reads it the same way (:func:`distsync.lineage_reader.read_lineage`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.console import Console
from rich.table import Table

from .lineage import export_csv, export_json, split_key
from .lineage_reader import read_lineage
from .target import OpsError, connect

console = Console()
STEP_STYLE = {"approved": "green", "automatic": "green", "erp_write": "bold green", "rejected": "magenta",
              "superseded": "magenta", "quarantined": "red", "dead_lettered": "red", "erp_master_data": "yellow"}


def why(
    key: Annotated[str, typer.Argument(help="ITEM@LOCATION, e.g. SKU-100@DC-1")],
    since: Annotated[str | None, typer.Option(help="Only changes since: an age (30d, 12h) or an ISO-8601 time")] = None,
    export: Annotated[Literal["csv", "json"] | None, typer.Option(
        help="Write one row per step (item, location, step, at, actor, values, correlation id, event id) to --out")] = None,
    out: Annotated[Path | None, typer.Option(help="The file --export writes")] = None,
    local: Annotated[str | None, typer.Option("--local", help="a local stack URL (see distsync trace --help)")] = None,
    stack: Annotated[str, typer.Option("--stack", help="Deployed stack name")] = "distsync-dev",
    as_json: Annotated[bool, typer.Option("--json", help="Print the lineage document as JSON")] = False,
) -> None:
    """Why an item-location has its safety stock and reorder point: the recommendation, the decision (automatic
    or by whom), the ERP write and the warehouse notification behind them, and every earlier change (newest
    first). Exit code 1 when the ledger holds nothing about it, 2 on bad input."""
    from distsync_core.platform.problems import BadRequest

    from .console.service import parse_since

    if (export is None) != (out is None):
        raise typer.BadParameter("--export and --out go together (e.g. --export csv --out audit.csv)")
    try:
        split_key(key)
        start = parse_since(since) if since else None
    except (ValueError, BadRequest) as exc:
        raise typer.BadParameter(str(exc)) from None
    try:
        target = connect(local, stack)
        doc = read_lineage(target.output("TraceTableName"), target.output("MasterDataTableName"), key, start)
    except OpsError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    if export and out:
        out.write_text(export_csv(doc) if export == "csv" else export_json(doc), encoding="utf-8", newline="")
    if as_json:
        typer.echo(_json(doc))
    else:
        render(doc)
        if out:
            console.print(f"{sum(len(c['steps']) for c in doc['history'])} step(s) written to {out}")
    if not doc["history"]:
        raise typer.Exit(1)


def _json(doc: dict[str, Any]) -> str:
    import json

    return json.dumps(doc, indent=2, default=str)


def render(doc: dict[str, Any]) -> None:
    key, current = doc["businessKey"], doc["current"]
    if not doc["history"]:
        console.print(f"[yellow]the ledger holds nothing about {key}"
                      f"{' since ' + doc['since'] if doc['since'] else ''}[/]")
    elif current is None:
        console.print(f"[yellow]{key}: no change recorded in the ledger set the current parameters[/]")
    else:
        console.print(f"[bold]{key}[/]: {current['explanation']}")
        _steps(f"why: {current['correlationId']}", doc["chain"])
    md = doc["masterData"]
    if md:
        style = "green" if md["explained"] else "yellow"
        values = ", ".join(f"{k} {v:g}" for k, v in md["values"].items())
        version = f" (version {md['recordVersion']})" if md.get("recordVersion") else ""
        console.print(f"[{style}]ERP master data: {values}{version}[/]" + (f" - {md['note']}" if md.get("note") else ""))
    earlier = [c for c in doc["history"] if not current or c["correlationId"] != current["correlationId"]]
    if earlier:
        table = Table(title="earlier changes (newest first)", title_justify="left")
        for column in ("at", "status", "correlation id", "what"):
            table.add_column(column, style="dim" if column == "at" else None)
        for change in earlier:
            table.add_row(change["at"][:19], change["status"], change["correlationId"], change.get("summary", ""))
        console.print(table)


def _steps(title: str, steps: list[dict[str, Any]]) -> None:
    table = Table(title=title, title_justify="left")
    for column in ("at", "step", "actor", "values", "detail"):
        table.add_column(column, style="dim" if column == "at" else None)
    for s in steps:
        values = ", ".join(f"{k}={v:g}" for k, v in (s["values"] or {}).items())
        style = STEP_STYLE.get(s["step"])
        table.add_row(s["at"][11:23], f"[{style}]{s['step']}[/]" if style else s["step"], s["actor"], values,
                      s["detail"] + (f" ({s['comment']})" if s.get("comment") else ""))
    console.print(table)
