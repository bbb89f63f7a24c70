"""What the partner file tests share: a canonical event from a file, posted as a partner would post it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from distsync_core.files import CanonicalEvent
from distsync_core.platform.signing import signed_headers
from distsync_core.platform.webhooks import AcceptedWebhook, accept


def webhook_body(event: CanonicalEvent) -> dict[str, Any]:
    """The body the webhook contract takes for ``event`` (``occurredAt`` now if the file gave none)."""
    return {
        "eventType": event.event_type,
        "eventVersion": event.event_version,
        "occurredAt": (event.occurred_at or datetime.now(UTC)).isoformat(),
        "data": event.data,
    }


def through_webhook(event: CanonicalEvent, source: str) -> AcceptedWebhook:
    """The event as a partner would post it, through the real webhook intake."""
    raw = json.dumps(webhook_body(event)).encode()
    headers = {"content-type": "application/json", **signed_headers("k", raw, 1_800_000_000)}
    return accept(source, headers, raw, ["k"], 1_800_000_000)
