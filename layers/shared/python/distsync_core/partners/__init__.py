"""Partner systems distsync calls over HTTP (the ERP, the planning platform, the WMS, the customer channels):
idempotent JSON calls, retried with backoff on 429/5xx (:mod:`.base`), one client class per partner.

:func:`partner` hands out one client per partner and container, configured from the function's environment
(one connection pool each).
"""

from __future__ import annotations

from typing import Any

from ..platform.config import env, env_float, env_int
from .base import PartnerClient
from .channels import ChannelsClient
from .erp import ErpClient
from .planning import PlanningApiClient
from .wms import WmsClient

_clients: dict[str, PartnerClient] = {}


def partner(kind: str) -> Any:
    """``erp`` (ERP_BASE_URL, ERP_MAX_ATTEMPTS, ...), ``planning`` (PLANNING_BASE_URL), ``channels``
    (CHANNELS_BASE_URL) or ``wms`` (WMS_BASE_URL)."""
    if kind not in _clients:
        if kind == "erp":
            _clients[kind] = ErpClient(
                env("ERP_BASE_URL"),
                max_attempts=env_int("ERP_MAX_ATTEMPTS", 4),
                backoff_seconds=env_float("ERP_BACKOFF_SECONDS", 0.5),
                timeout_seconds=env_float("ERP_TIMEOUT_SECONDS", 5),
            )
        elif kind == "planning":
            # Few attempts: when planning is down the message waits in its queue, not in the function.
            _clients[kind] = PlanningApiClient(env("PLANNING_BASE_URL"), max_attempts=2)
        elif kind == "channels":
            _clients[kind] = ChannelsClient(env("CHANNELS_BASE_URL"))
        elif kind == "wms":
            _clients[kind] = WmsClient(env("WMS_BASE_URL"))
        else:
            raise ValueError(f"unknown partner {kind!r}")
    return _clients[kind]
