"""Available-to-promise API: ``GET /v1/atp/{itemId}/{locationId}``.

Signed like the webhooks; a GET has no body, so the signature covers ``"<timestamp>.GET <path>"``. ATP is
computed at request time from the newest balance: on hand - allocated + in transit due within the horizon.
"""

from __future__ import annotations

import re
from datetime import datetime

from aws_lambda_powertools.utilities.typing import LambdaContext

from distsync_core.contracts import utcnow
from distsync_core.inventory.policy import available_to_promise
from distsync_core.inventory.store import InventoryStore
from distsync_core.platform.api import require_signature, resolver
from distsync_core.platform.config import env, env_float
from distsync_core.platform.observability import instrument
from distsync_core.platform.problems import BadRequest, NotFound
from distsync_core.platform.signing import request_target

app = resolver()
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$")


@app.get("/v1/atp/<item_id>/<location_id>")
def get_atp(item_id: str, location_id: str) -> dict:
    require_signature(app, request_target("GET", f"/v1/atp/{item_id}/{location_id}"), source="channels")
    for name, value in (("itemId", item_id), ("locationId", location_id)):
        if not _ID.match(value):
            raise BadRequest(f"{name} must be 1-64 characters of A-Z a-z 0-9 . _ - (starting with a letter or digit)")
    balance = InventoryStore(env("INVENTORY_TABLE_NAME")).get(item_id, location_id)
    if balance is None:
        raise NotFound(f"no inventory balance for {item_id}@{location_id}")
    due = balance.get("inTransitDueAt")
    now = utcnow()
    horizon = env_float("ATP_HORIZON_DAYS", 14)
    atp = available_to_promise(
        float(balance["onHand"]), float(balance["allocated"]), float(balance["inTransit"]),
        datetime.fromisoformat(due) if due else None, now=now, horizon_days=horizon,
    )
    return {
        "itemId": item_id,
        "locationId": location_id,
        **atp.as_dict(),
        "onHand": balance["onHand"],
        "allocated": balance["allocated"],
        "inTransit": balance["inTransit"],
        "inTransitDueAt": due,
        "horizonDays": horizon,
        "asOf": balance["asOf"],
        "sourceSystem": balance["sourceSystem"],
        "lots": balance.get("lots", []),
        "computedAt": now.isoformat(),
    }


@instrument
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
