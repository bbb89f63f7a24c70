"""`distsync contracts`: governance of the event contracts. `usage`: who still posts deprecated versions."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

console = Console()
contracts_app = typer.Typer(help="Event contracts: deprecated versions' use", no_args_is_help=True)


def usage_days(since: str, today: date) -> list[date]:
    """The UTC days of ``--since``: an age in days (7d) or an ISO date, through today."""
    if since.endswith("d") and since[:-1].isdigit():
        start = today - timedelta(days=max(int(since[:-1]) - 1, 0))
    else:
        try:
            start = date.fromisoformat(since)
        except ValueError as exc:
            raise typer.BadParameter("use a number of days (7d) or an ISO date (2026-12-01)") from exc
    if start > today:
        raise typer.BadParameter(f"{since} is after today ({today})")
    return [start + timedelta(days=n) for n in range((today - start).days + 1)]


@contracts_app.command("usage")
def usage(
    since: Annotated[str, typer.Option(help="Days back, counting today (7d), or an ISO date")] = "7d",
    local: Annotated[str | None, typer.Option("--local", help="a local stack's URL; without it: the deployed stack")]
    = None,
    stack: Annotated[str, typer.Option("--stack", help="Deployed stack name")] = "distsync-dev",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Use of deprecated contract versions per source, event type and version (and per day with --json), so
    the owners know which partner to chase."""
    from distsync_core.platform import contract_usage

    from .target import OpsError, connect

    days = usage_days(since, datetime.now(UTC).date())
    try:
        target = connect(local, stack)
    except OpsError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    rows = contract_usage.read(target.output("ContractUsageTableName"), days)
    totals: dict[tuple[str, str, str], int] = {}
    for row in rows:
        key = (row["source"], row["eventType"], row["version"])
        totals[key] = totals.get(key, 0) + row["count"]
    if as_json:
        typer.echo(json.dumps({"from": days[0].isoformat(), "to": days[-1].isoformat(), "days": rows,
                     "totals": [{"source": s, "eventType": t, "version": v, "count": n}
                                for (s, t, v), n in sorted(totals.items())]}, indent=2))
        return
    if not totals:
        console.print(f"No deprecated contract version was posted from {days[0]} to {days[-1]}.")
        return
    table = Table("source", "event type", "version", "events", title=f"deprecated versions posted, {days[0]}..{days[-1]}")
    for (source, event_type, version), count in sorted(totals.items()):
        table.add_row(source, event_type, version, str(count))
    console.print(table)
