"""The freeze table (DynamoDB): manual freeze windows and the ERP writes held by a window.

- ``pk = "WINDOW"``, ``sk = <name>``: a manual window (``distsync freeze add``), with its start, end and
  scope; it expires (TTL) a week after its end, so ``freeze list`` shows recent ones.
- ``pk = "HELD"``, ``sk = "<heldAt>#<eventId>"``: a held write, with the EventBridge event as received, so
  releasing it re-sends exactly that; the sort key keeps them in the order they were held. No TTL: a held
  write leaves only when it is released (nothing is lost).

Both kinds stay in one partition each: freezes are rare and short, and the number of held writes is bounded
by the item-locations one cycle changes."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from ..platform.aws import table
from ..platform.dynamo import from_item
from ..platform.times import utc_iso
from .freeze import Freeze, Scope, Window, WindowError, freeze_for, manual, parse_scope, parse_windows

WINDOW, HELD = "WINDOW", "HELD"
KEEP_ENDED = timedelta(days=7)


def configured_windows() -> list[Window]:
    """Context ``freezeWindows`` (FREEZE_WINDOWS, validated at synth)."""
    return parse_windows(json.loads(os.environ.get("FREEZE_WINDOWS") or "[]"))


class FreezeStore:
    def __init__(self, table_name: str):
        self._table = table(table_name)

    def _query(self, pk: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"KeyConditionExpression": "pk = :pk", "ExpressionAttributeValues": {":pk": pk},
                                  "ConsistentRead": True}
        while True:
            page = self._table.query(**kwargs)
            items += [from_item(i) for i in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    # ------------------------------------------------------------------ manual windows
    def window_items(self) -> list[dict[str, Any]]:
        return self._query(WINDOW)

    def manual_windows(self) -> list[Window]:
        return [_window(i) for i in self.window_items()]

    def add_window(self, name: str, start: datetime, end: datetime, scope: Scope, by: str) -> Window:
        """Starts a manual window; refused while one of that name is still running."""
        from botocore.exceptions import ClientError

        window = manual(name, start, end, scope)
        try:
            self._table.put_item(
                Item={"pk": WINDOW, "sk": name, "startsAt": utc_iso(start), "endsAt": utc_iso(end),
                      "scope": scope.as_json(), "createdBy": by,
                      "expiresAt": int((end + KEEP_ENDED).timestamp())},
                ConditionExpression="attribute_not_exists(sk) OR endsAt <= :now",
                ExpressionAttributeValues={":now": utc_iso(start)},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise WindowError(f"freeze window {name} is already running; end it first or pick another name") from exc
            raise
        return window

    def end_window(self, name: str, now: datetime) -> bool:
        """Ends a running manual window now; False when there is none of that name."""
        from botocore.exceptions import ClientError

        try:
            self._table.update_item(
                Key={"pk": WINDOW, "sk": name}, UpdateExpression="SET endsAt = :now, endedEarly = :t",
                ConditionExpression="attribute_exists(sk) AND endsAt > :now",
                ExpressionAttributeValues={":now": utc_iso(now), ":t": True})
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    # ------------------------------------------------------------------ held writes
    def hold(self, freeze: Freeze, *, held_at: datetime, connection: str, business_key: str, event_id: str,
             correlation_id: str, body: str, recommended_at: datetime) -> None:
        """``recommended_at`` orders the held writes of one item-location (when planning produced each)."""
        self._table.put_item(Item={
            "pk": HELD, "sk": f"{utc_iso(held_at)}#{event_id}", "heldAt": utc_iso(held_at),
            "windows": list(freeze.windows), "until": utc_iso(freeze.until), "connection": connection,
            "businessKey": business_key, "eventId": event_id, "correlationId": correlation_id, "body": body,
            "recommendedAt": utc_iso(recommended_at),
        })

    def held(self) -> list[dict[str, Any]]:
        """The held writes, oldest first."""
        return self._query(HELD)

    def remove(self, items: Iterable[dict[str, Any]]) -> None:
        with self._table.batch_writer() as batch:
            for item in items:
                batch.delete_item(Key={"pk": HELD, "sk": item["sk"]})


def _window(item: dict[str, Any]) -> Window:
    start, end = datetime.fromisoformat(item["startsAt"]), datetime.fromisoformat(item["endsAt"])
    return manual(item["sk"], start, max(start, end), parse_scope(item.get("scope") or None))


def release(store: FreezeStore, windows: list[Window], now: datetime,
            send: Callable[[str, str], None]) -> dict[str, Any]:
    """Send the held writes no window covers any more back to their connection's ERP update queue, oldest
    first (``send(connection, body)``), then drop them from the table: sent before dropped, so a run that dies
    between the two sends again, and the updater's idempotency (by event id) applies once.

    Per item-location only the latest recommendation is sent; the older ones held with it are recorded
    ``superseded``, as the updater would record them. The ERP update queues are standard (not FIFO): sending
    two writes of one item-location at once would let two updater batches race to the ERP, where the older
    could land last."""
    from ..platform import ledger

    items = store.held()
    free = [i for i in items if freeze_for(windows, i["connection"], i["businessKey"].rpartition("@")[2], now) is None]
    latest: dict[str, dict[str, Any]] = {}
    for item in free:  # oldest held first: of two recommended at the same instant, the later held wins
        best = latest.get(item["businessKey"])
        if best is None or item.get("recommendedAt", "") >= best.get("recommendedAt", ""):
            latest[item["businessKey"]] = item
    released, superseded = [], 0
    for item in free:
        seconds = round((now - datetime.fromisoformat(item["heldAt"])).total_seconds(), 3)
        names = ", ".join(item["windows"])
        hop = {"business_key": item["businessKey"], "event_id": item["eventId"],
               "freezeWindow": ",".join(item["windows"]), "heldSeconds": seconds}
        chosen = latest[item["businessKey"]]
        if chosen is not item and chosen["eventId"] == item["eventId"]:
            store.remove([item])  # the same event held twice (SQS delivers at least once): one copy goes
            continue
        if chosen is not item:
            ledger.hop(item["correlationId"], "freeze", "superseded",
                       f"freeze window {names} over: a newer recommendation of {item['businessKey']} was held too "
                       "and goes to the ERP instead; nothing sent", **hop)
            store.remove([item])
            superseded += 1
            continue
        event = json.loads(item["body"])
        before = event.get("distsync-held") or {}
        event["distsync-held"] = {"windows": list(dict.fromkeys([*before.get("windows", []), *item["windows"]])),
                                  "releasedAt": utc_iso(now),
                                  "heldSeconds": round(float(before.get("heldSeconds") or 0) + seconds, 3)}
        send(item["connection"], json.dumps(event, separators=(",", ":")))
        ledger.hop(item["correlationId"], "freeze", "released", f"freeze window {names} over: back to the "
                   f"{item['connection']} ERP update queue after {seconds:.0f} s held", **hop)
        store.remove([item])
        released.append(item["businessKey"])
    return {"released": len(released), "superseded": superseded, "stillHeld": len(items) - len(free),
            "businessKeys": released}
