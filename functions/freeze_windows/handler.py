"""Freeze windows of ERP parameter writes, invoked by EventBridge Scheduler every minute (``release``) and by
``distsync freeze list|add|end``:

- ``{"action": "release"}``: send the held writes no window covers any more back to their ERP update queue,
  oldest first (:func:`distsync_core.connectors.freeze_store.release`);
- ``{"action": "list"}``: the configured and manual windows (active now, until when, next start) and the
  held writes;
- ``{"action": "add", "name", "minutes", "connections"?, "locations"?, "by"?}``: a manual window from now;
- ``{"action": "end", "name"}``: end a manual window now and release what it held.

A request it cannot take is answered ``{"error": <reason>}``, not raised: the CLI shows the reason."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from distsync_core.connectors.freeze import MAX_DURATION_MINUTES, WindowError, describe, parse_scope
from distsync_core.connectors.freeze_store import FreezeStore, configured_windows, release
from distsync_core.contracts import utcnow
from distsync_core.platform.aws import client
from distsync_core.platform.config import env
from distsync_core.platform.observability import instrument, logger

CONFIGURED_WINDOWS = configured_windows()


def _send(connection: str, body: str) -> None:
    queues = json.loads(env("ERP_UPDATE_QUEUES"))  # connection name -> its ERP update queue URL
    client("sqs").send_message(QueueUrl=queues[connection], MessageBody=body)


def _release(store: FreezeStore) -> dict[str, Any]:
    return release(store, CONFIGURED_WINDOWS + store.manual_windows(), utcnow(), _send)


def _add(store: FreezeStore, event: dict[str, Any]) -> dict[str, Any]:
    minutes = event.get("minutes")
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= MAX_DURATION_MINUTES:
        raise WindowError(f"minutes must be a whole number in 1..{MAX_DURATION_MINUTES}, got {minutes!r}")
    name = str(event.get("name") or "")
    if any(w.name == name for w in CONFIGURED_WINDOWS):
        raise WindowError(f"{name} is a configured window (context freezeWindows); a manual one needs another name")
    scope = parse_scope({k: event[k] for k in ("connections", "locations") if event.get(k)} or None)
    known = {c["name"] for c in json.loads(env("ERP_CONNECTIONS"))}
    unknown = sorted(set(scope.connections or ()) - known)
    if unknown:
        raise WindowError(f"no ERP connection named {', '.join(unknown)} (connections: {', '.join(sorted(known))})")
    now = utcnow()
    window = store.add_window(name, now, now + timedelta(minutes=minutes), scope, str(event.get("by") or "cli"))
    logger.info("freeze window added", extra={"window": name, "minutes": minutes, "scope": scope.as_json()})
    return {"added": describe(window, now)}


def _list(store: FreezeStore) -> dict[str, Any]:
    now = utcnow()
    manual = [{**describe(w, now), "manual": True} for w in store.manual_windows()]
    held = [{k: i[k] for k in ("businessKey", "connection", "windows", "until", "heldAt", "correlationId")}
            for i in store.held()]
    return {"windows": [describe(w, now) for w in CONFIGURED_WINDOWS] + manual, "held": held}


@instrument
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    store = FreezeStore(env("FREEZE_TABLE_NAME"))
    action = event.get("action", "release")
    try:
        if action == "release":
            return _release(store)
        if action == "list":
            return _list(store)
        if action == "add":
            return _add(store, event)
        if action == "end":
            name = str(event.get("name") or "")
            if not store.end_window(name, utcnow()):
                return {"error": f"no running manual freeze window named {name!r} (configured windows end on "
                                 "their schedule)"}
            return {"ended": name, **_release(store)}
    except WindowError as exc:
        return {"error": str(exc)}
    return {"error": f"unknown action {action!r} (release, list, add, end)"}
