"""``distsync freeze``: freeze windows of ERP parameter writes (issue 15).

Every subcommand invokes the stack's freeze windows function (the one its every-minute schedule invokes to
release held writes; locally through moto's Invoke), so the window logic and the table live in one place:
``list`` shows the configured (context ``freezeWindows``) and manual windows and the writes they hold; ``add``
starts a manual window now; ``end`` ends one early and releases what it held; ``release`` releases now what
no window holds any more (the schedule does it every minute on AWS; moto fires no schedule, so locally a
configured window's writes wait for this)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from .target import OpsError, Target, connect

INVOKE_READ_TIMEOUT_SECONDS = 90  # the function's timeout is 60 s

freeze_app = typer.Typer(help="Freeze windows: ERP parameter writes wait during them (list, add, end)",
                         no_args_is_help=True)
console = Console()

LocalOpt = Annotated[str | None, typer.Option("--local", help="a local stack URL (see distsync kpis --help)")]
StackOpt = Annotated[str, typer.Option("--stack", help="Deployed stack name")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON")]


def call(target: Target, payload: dict[str, Any]) -> dict[str, Any]:
    """The freeze function's answer; its refusal (``error``) as an :class:`OpsError` with the reason."""
    result = target.invoke("FreezeWindowsFunctionName", payload, what=f"freeze {payload['action']}",
                           read_timeout=INVOKE_READ_TIMEOUT_SECONDS)
    if not isinstance(result, dict):
        raise OpsError(f"freeze {payload['action']} returned no result: {result!r}")
    if "error" in result:
        raise OpsError(result["error"])
    return result


def _run(local: str | None, stack: str, payload: dict[str, Any]) -> dict[str, Any]:
    try:
        return call(connect(local, stack), payload)
    except OpsError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc


def _scope(scope: dict[str, list[str]]) -> str:
    parts = [f"{k} {', '.join(v)}" for k, v in scope.items()]
    return "; ".join(parts) or "everything"


def _json(data: Any) -> None:
    import json

    typer.echo(json.dumps(data, indent=2, default=str))


@freeze_app.command("list")
def freeze_list(local: LocalOpt = None, stack: StackOpt = "distsync-dev", as_json: JsonOpt = False) -> None:
    """The freeze windows (active now and until when, or their next start) and the ERP writes they hold."""
    result = _run(local, stack, {"action": "list"})
    if as_json:
        _json(result)
        return
    windows = Table("window", "schedule", "minutes", "scope", "now")
    for w in result["windows"]:
        now = f"[yellow]active until {w['activeUntil']}[/yellow]" if w["active"] else \
            f"next {w['nextStart']}" if w["nextStart"] else "over"
        windows.add_row(w["name"] + (" (manual)" if w.get("manual") else ""), w["schedule"],
                        str(w["durationMinutes"]), _scope(w["scope"]), now)
    console.print(windows if result["windows"] else "no freeze windows")
    held = Table("held write", "connection", "window", "since", "until")
    for h in result["held"]:
        held.add_row(h["businessKey"], h["connection"], ", ".join(h["windows"]), h["heldAt"], h["until"])
    console.print(held if result["held"] else "no ERP write is held")


@freeze_app.command("add")
def freeze_add(
    name: Annotated[str, typer.Option("--name", help="The window's name (a-z, 0-9, '-'), shown on held writes")],
    minutes: Annotated[int, typer.Option("--minutes", help="How long from now")],
    connections: Annotated[str | None, typer.Option("--connections", help="ERP connection names, comma-separated (default: all)")] = None,
    locations: Annotated[str | None, typer.Option("--locations", help="Location globs, comma-separated, e.g. 'DC-*' (default: all)")] = None,
    local: LocalOpt = None, stack: StackOpt = "distsync-dev", as_json: JsonOpt = False,
) -> None:
    """Start a manual freeze window now: ERP writes in its scope wait until it ends (or `freeze end`)."""
    payload: dict[str, Any] = {"action": "add", "name": name, "minutes": minutes, "by": "distsync freeze add"}
    for key, value in (("connections", connections), ("locations", locations)):
        if value:
            payload[key] = [v.strip() for v in value.split(",") if v.strip()]
    result = _run(local, stack, payload)["added"]
    if as_json:
        _json(result)
        return
    console.print(f"freeze window [bold]{result['name']}[/bold] active until {result['activeUntil']} "
                  f"({_scope(result['scope'])})")


@freeze_app.command("end")
def freeze_end(
    name: Annotated[str, typer.Argument(help="The manual window to end now")],
    local: LocalOpt = None, stack: StackOpt = "distsync-dev", as_json: JsonOpt = False,
) -> None:
    """End a manual freeze window now and release the ERP writes no other window still holds."""
    result = _run(local, stack, {"action": "end", "name": name})
    if as_json:
        _json(result)
        return
    console.print(f"freeze window [bold]{name}[/bold] ended: {result['released']} write(s) released to the ERP, "
                  f"{result['stillHeld']} still held by other windows")


@freeze_app.command("release")
def freeze_release(local: LocalOpt = None, stack: StackOpt = "distsync-dev", as_json: JsonOpt = False) -> None:
    """Release now the held ERP writes whose windows have ended (as the every-minute schedule does)."""
    result = _run(local, stack, {"action": "release"})
    if as_json:
        _json(result)
        return
    console.print(f"{result['released']} write(s) released to the ERP, {result['superseded']} superseded by a newer "
                  f"one held with them, {result['stillHeld']} still held")
