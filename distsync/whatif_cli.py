"""``distsync whatif``: replay a window of what really happened through a throwaway local runtime with changed
settings, and print what it would have produced beside what happened.

1. From the target (deployed, or ``--local``): the window's webhook hops (each keeps its accepted original
   envelope), the outcomes of their transactions, the master data's item-location records (as they are now; an
   item-location the window changed is set back to what its first change in the window replaced, see
   :func:`distsync.whatif.rewind_master_data`) and, for a local target, its CDK context.
2. A throwaway :class:`~distsync.local.stack.LocalStack` on 127.0.0.1 with that context plus the ``--set``
   overrides (the synth validates them), in a work directory of its own per context (its synth is reused by the
   next run with the same settings), pointed only at its own simulators: no partner is touched.
3. Each original event is posted again to the throwaway gateway, signed with its keys, in order; then its ledger
   says what it would have done (:mod:`distsync.whatif` compares).
"""

from __future__ import annotations

import hashlib
import json
import time
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from .local.synth import ROOT
from .target import OpsError, Target, connect
from .whatif import (
    WhatIfError,
    compare,
    outcomes,
    parse_settings,
    rewind_master_data,
    synth_reason,
    window_events,
)

console = Console(stderr=True)  # progress and errors; --json alone goes to stdout
ITEM_LOCATION_PREFIX = "ITEMLOC#"
REPOST_TIMEOUT = 120  # seconds the throwaway gets to settle after the events (approvals then wait for nobody)


def context_keys() -> set[str]:
    return set(json.loads((ROOT / "cdk.json").read_text())["context"])


def read_target(target: Target, start: datetime, end: datetime) -> dict[str, Any]:
    """Everything the run needs from the target, read before the throwaway starts (it repoints this process's
    AWS clients)."""
    from distsync_core.platform.aws import table
    from distsync_core.platform.dynamo import from_item
    from distsync_core.platform.ledger import Ledger

    ledger = Ledger(target.output("TraceTableName"))
    events = window_events(ledger.scan(since=start.isoformat()), start, end)
    cids = list(dict.fromkeys(e["correlationId"] for e in events))
    hops = [h for cid in cids for h in ledger.hops(cid)]
    records: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {}
    master = table(target.output("MasterDataTableName"))
    while True:  # every item-location record (supplier and other records are not what the policy compares)
        page = master.scan(**kwargs)
        records += [from_item(i) for i in page.get("Items", []) if str(i["pk"]).startswith(ITEM_LOCATION_PREFIX)]
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    seeded, rewound = rewind_master_data(records, hops, start)
    return {"events": events, "order": cids, "happened": outcomes(hops), "masterData": seeded, "rewound": rewound}


def run_throwaway(context: dict[str, str], state: dict[str, Any], say: Any = None) -> dict[str, Any]:
    """Start the throwaway stack, seed it, post the events, collect what it did; always stopped."""
    from distsync_core.contracts import Envelope
    from distsync_core.platform.aws import reset_clients, table
    from distsync_core.platform.dynamo import to_item
    from distsync_core.platform.ledger import Ledger

    from .keys import SigningKeyError
    from .local.stack import LocalStack
    from .sim.clients import send

    digest = hashlib.sha256(json.dumps(context, sort_keys=True).encode()).hexdigest()[:12]
    stack = LocalStack(port=0, context=context, workdir=ROOT / ".distsync" / "whatif" / digest, progress=say)
    t0 = time.monotonic()
    try:
        stack.start()
        reset_clients()  # the throwaway's tables may have the target's names: forget the target's clients
        started = time.monotonic() - t0
        with table(stack.outputs["MasterDataTableName"]).batch_writer() as master:
            for record in state["masterData"]:
                master.put_item(Item=to_item(record))
        rejected: dict[str, str] = {}
        posted_keys: set[str] = set()
        for hop in state["events"]:
            envelope = Envelope.model_validate_json(hop["event"])
            meta = envelope.metadata
            # a second event of the same business key waits for the first, as it did when it really came
            if hop.get("businessKey") in posted_keys:
                stack.wait_idle(timeout=REPOST_TIMEOUT)
            posted_keys.add(hop.get("businessKey") or "")
            try:
                client = stack.client(meta.source)
            except SigningKeyError as exc:  # a source the throwaway has no key for: said, not skipped silently
                rejected[meta.correlation_id] = str(exc)
                continue
            result = client.webhook(meta.source, meta.event_type, envelope.data, version=meta.event_version,
                                    correlation_id=meta.correlation_id, occurred_at=meta.occurred_at.isoformat())
            if result.status != 202:
                rejected[meta.correlation_id] = f"HTTP {result.status}: {json.dumps(result.body)[:300]}"
        if not stack.wait_idle(timeout=REPOST_TIMEOUT):
            raise WhatIfError(f"the throwaway stack did not settle within {REPOST_TIMEOUT} s")
        ledger = Ledger(stack.outputs["TraceTableName"])
        would = outcomes(h for cid in state["order"] for h in ledger.hops(cid))
        return {"would": would, "rejected": rejected, "erpSimulatorUpdates": len(send(stack.url + "/_sim/erp/updates").body["updates"]),
                "seconds": {"start": round(started, 1), "synth": round(stack.timings.get("synth", 0), 1),
                            "total": round(time.monotonic() - t0, 1)}}
    finally:
        stack.stop()


def whatif(
    start: Annotated[str, typer.Option("--from", help="Window start: ISO-8601 time or an age such as 2h")],
    end: Annotated[str | None, typer.Option("--to", help="Window end (ISO-8601); default now")] = None,
    settings: Annotated[list[str] | None, typer.Option("--set", help="Changed CDK context, key=value (repeatable)")] = None,
    local: Annotated[str | None, typer.Option("--local", help="a local stack URL (see distsync trace --help)")] = None,
    stack: Annotated[str, typer.Option("--stack", help="Deployed stack name")] = "distsync-dev",
    as_json: Annotated[bool, typer.Option("--json", help="Print the comparison as JSON")] = False,
) -> None:
    """Replay the window's accepted webhooks through a throwaway local stack with the changed settings and show,
    per transaction, what happened beside what would have happened (ERP writes, approvals). No partner is
    touched. Exit code 2 on bad input or an unknown setting, 1 when the window holds no event."""
    from distsync_core.platform.problems import BadRequest

    from .console.service import parse_since
    from .local.synth import SynthError

    try:
        window = (datetime.fromisoformat(parse_since(start, "from")),
                  datetime.fromisoformat(parse_since(end, "to")) if end else datetime.now(UTC))
        overrides = parse_settings(settings or [], context_keys())
    except (BadRequest, WhatIfError) as exc:
        raise typer.BadParameter(str(exc)) from None
    try:
        target = connect(local, stack)
        base = _target_context(local)
        state = read_target(target, *window)
        if not state["events"]:
            console.print(f"[yellow]the ledger holds no accepted webhook between {window[0]} and {window[1]}[/]")
            raise typer.Exit(1)
        with console.status("starting the throwaway stack") as status:
            run = run_throwaway({**base, **overrides}, state, lambda step: status.update(step + "..."))
    except (OpsError, WhatIfError) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    except SynthError as exc:  # a bad value: the synth's reason (infra/config.py validates every key)
        console.print(f"[red]the settings do not synthesize: {synth_reason(str(exc))}[/red]")
        raise typer.Exit(2) from exc
    report = compare(state["happened"], run["would"], state["order"])
    report.update({
        "from": window[0].isoformat(), "to": window[1].isoformat(), "settings": overrides,
        "events": len(state["events"]), "rejectedOnReplay": run["rejected"],
        "masterData": {"records": len(state["masterData"]), "rewound": state["rewound"],
                       "note": "item-location records as they are now (the state at --from is not kept); those "
                               "the window changed set back to the values their first change replaced"},
        "throwaway": {"erpSimulatorUpdates": run["erpSimulatorUpdates"], "seconds": run["seconds"]},
    })
    if as_json:
        typer.echo(json.dumps(report, indent=2, default=str))
    else:
        render(report)


def _target_context(local: str | None) -> dict[str, str]:
    """A local target's context as it runs (``/_local/info``); a deployed one's is cdk.json's, which the synth
    reads anyway (pass a deployment's own values with --set)."""
    if not local:
        return {}
    from distsync.sim.clients import send

    info = send(local.rstrip("/") + "/_local/info", timeout=10).body
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in (info.get("context") or {}).items()}


def render(report: dict[str, Any]) -> None:
    out = Console()
    settings = ", ".join(f"{k}={v}" for k, v in report["settings"].items()) or "no changed settings"
    table = Table(title=f"what-if {settings}: {report['from']} .. {report['to']}")
    for column in ("correlation id", "item-location", "what happened", "with the settings"):
        table.add_column(column)
    for row in report["transactions"]:
        style = "bold yellow" if row["changed"] else ""
        table.add_row(row["correlationId"], row["businessKey"] or "-", row["happenedText"], row["wouldHappenText"],
                      style=style)
    out.print(table)
    s = report["summary"]
    out.print(f"{s['changed']} of {s['transactions']} transaction(s) change; writes: {s['writes']['happened']} -> "
              f"{s['writes']['wouldHappen']}, approvals: {s['approvals']['happened']} -> {s['approvals']['wouldHappen']}")
    for cid, reason in report["rejectedOnReplay"].items():
        out.print(f"[red]{cid}: the throwaway stack refused its event again: {reason}[/]")
    md = report["masterData"]
    out.print(f"[dim]master data: {md['records']} {md['note']} ({', '.join(md['rewound']) or 'none rewound'}); "
              f"throwaway stack up in {report['throwaway']['seconds']['start']} s[/]")
