"""``distsync contracts``: governance of the data contracts. ``check``: breaking changes against a git ref;
``usage``: who still posts deprecated versions."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from .contracts_check import BREAKING, Report, check
from .contracts_git import GitError, commit_of, default_base, schemas_at, toplevel

contracts_app = typer.Typer(help="Data contracts: breaking-change checks, deprecated versions' use",
                            no_args_is_help=True)
console = Console()


# The contract models are imported inside the functions: the other distsync commands start without them.
def _today() -> dict[str, dict[str, Any]]:
    # The schemas as the code renders them now (not the committed files, which may lag behind the code).
    from .schemas import render_all

    return {name: json.loads(text) for name, text in render_all().items()}


def _upcasters() -> set[tuple[str, str]]:
    from distsync_core.contracts import CONTRACTS

    return {key for key, contract in CONTRACTS.items() if contract.upcast is not None}


@contracts_app.command("check")
def contracts_check(
    against: Annotated[
        str | None,
        typer.Option("--against", help="git ref to compare with; default: the merge-base with main on a branch, "
                     "HEAD~1 on main (docs/contracts.md)"),
    ] = None,
    repo: Annotated[
        Path, typer.Option("--repo", help="the git repository whose history holds schemas/ (today's side is "
                           "always rendered from the installed code)"),
    ] = Path("."),
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Classify every change of the exported JSON Schemas against a git ref; exit 1 on a breaking one."""
    try:
        repo = toplevel(repo)
        base, why = (against, "--against") if against else default_base(repo)
        baseline = schemas_at(repo, base) if base else None
    except GitError as exc:
        if as_json:
            typer.echo(json.dumps({"ok": False, "error": str(exc)}))
        else:
            console.print(f"[red]contracts check: {exc}[/red]")
        raise typer.Exit(2) from exc
    commit = commit_of(repo, base) if base else None
    if base is None or baseline is None:
        reason = f"{base} has no schemas/ directory" if base else why
        if as_json:
            typer.echo(json.dumps({"ok": True, "base": base, "commit": commit, "baseline": False,
                                   "reason": reason, "changes": [], "breaking": []}, indent=2))
        else:
            console.print(f"contracts check: no baseline ({reason}); nothing to compare")
        return
    report = check(baseline, _today(), _upcasters())
    if as_json:
        typer.echo(json.dumps({
            "ok": report.ok, "base": base, "commit": commit, "baseline": True, "reason": why,
            "changes": [c.as_dict() for c in report.changes],
            "breaking": [c.as_dict() for c in report.breaking],
        }, indent=2))
    else:
        _print_report(report, base, commit, why)
    if not report.ok:
        raise typer.Exit(1)


def _print_report(report: Report, base: str, commit: str | None, why: str) -> None:
    shown = base[:12] if base == commit else f"{base} ({(commit or '')[:12]})"
    title = f"contract changes against {shown}: {why}"
    if report.changes:
        # Names fold rather than being cut at 80 columns (CI logs); the JSON pointers are in --json.
        table = Table(title=title)
        for name in ("file", "field", "kind", "verdict", "why"):
            table.add_column(name, overflow="fold" if name in ("file", "field") else "ellipsis")
        for c in report.changes:
            style = "red" if c.verdict == BREAKING else "green"
            table.add_row(c.file, c.field or "(schema)", c.kind, f"[{style}]{c.verdict}[/]", c.message)
        console.print(table)
    else:
        console.print(f"{title}: no change")
    if report.ok:
        console.print(f"[green]contracts check passed[/]: {len(report.changes)} change(s), none breaking")
        return
    console.print(f"[red]contracts check failed[/]: {len(report.breaking)} breaking change(s):")
    for c in report.breaking:
        console.print(f"  {c.file} {c.field or c.pointer or '(file)'}: {c.kind}: {c.message}", highlight=False)
    console.print("A breaking change goes into a new version whose predecessor has an upcaster "
                  "(Contract.upcast): docs/contracts.md")


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
