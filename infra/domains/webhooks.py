"""Webhook intake: signed partner webhooks (ERP, planning, WMS, TMS, suppliers) verified, validated against
their contract and published to the bus, once per idempotency key."""

from __future__ import annotations

import json

from infra.platform import Domain, Platform
from infra.platform.platform import API_TIMEOUT
from infra.platform.webhook_api import HEALTH_REASON, PARTNER_SOURCES

OWNER = "integration-platform"  # the team its functions, pipelines and alarms name (infra/config.py DEFAULT_OWNERS)


def build(platform: Platform) -> None:
    intake = platform.function(
        "WebhookApiFunction",
        "webhook_api",
        API_TIMEOUT,
        "Verifies signed ERP/planning webhooks and publishes them to the bus",
        EVENT_BUS_NAME=platform.bus.event_bus_name,
        # the versions' deprecation and sunset over the registry's (distsync_core/platform/lifecycle.py)
        CONTRACT_LIFECYCLE=json.dumps(platform.config.contract_lifecycle, separators=(",", ":"), sort_keys=True),
    )
    platform.bus.grant_put_events_to(intake)
    platform.idempotency_table(intake)  # Idempotency-Key answers, signatures accepted, deprecated-version use
    platform.output("ContractUsageTableName", platform.tables.idempotency.table_name)  # `distsync contracts usage`
    platform.api.add_route("health", "GET", intake, no_authorizer_reason=HEALTH_REASON)
    platform.signed_api("v1/webhooks/{source}", "POST", intake, keys=PARTNER_SOURCES,
                        reserved_concurrency=platform.config.webhook_reserved_concurrency)
    platform.dashboard(
        Domain(
            key="webhook-api",
            title="Webhook API (ERP and planning intake)",
            functions=("webhook_api",),
            api=True,
            metrics=("WebhooksAccepted",),
        )
    )
