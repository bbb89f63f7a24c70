"""Webhook API: signed partner events in, canonical envelopes onto the bus (or a problem that says why).

Routes: ``POST /v1/webhooks/{source}`` (202 {eventId, correlationId}) and ``GET /health``.
"""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError

from distsync_core.platform import contract_usage, ledger
from distsync_core.platform.api import raw_body, refuse_replay, resolver
from distsync_core.platform.config import env
from distsync_core.platform.events import EventPublisher, PublishError
from distsync_core.platform.observability import instrument, logger, metrics
from distsync_core.platform.problems import (
    RequestInProgress,
    ServiceUnavailable,
    UnprocessableIdempotencyKey,
)
from distsync_core.platform.secrets import signing_keys
from distsync_core.platform.seen_signatures import SeenSignatures
from distsync_core.platform.times import now_iso
from distsync_core.platform.webhooks import AcceptedWebhook, accept

app = resolver()
_publish_once: Any = None
RETRY_AFTER_SECONDS = 1  # a publish takes milliseconds; its claim lasts at most this function's timeout


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/v1/webhooks/<source>")
def receive_webhook(source: str) -> Response:
    headers = app.current_event.headers
    accepted = accept(source, headers, raw_body(app), signing_keys(source), time.time())
    logger.set_correlation_id(accepted.envelope.metadata.correlation_id)
    refuse_replay(headers, SeenSignatures(env("IDEMPOTENCY_TABLE_NAME")))
    if accepted.idempotency_key:
        result = _deduplicated_publish()(request=accepted.dedup_request, accepted=accepted)
    else:
        result = _publish(accepted)
    return Response(
        status_code=202,
        content_type=content_types.APPLICATION_JSON,
        body=result,
        headers={"X-Correlation-Id": result["correlationId"], **_lifecycle_headers(accepted)},
    )


def _lifecycle_headers(accepted: AcceptedWebhook) -> dict[str, str]:
    """Deprecation, Sunset and Link of a deprecated version (distsync_core/platform/lifecycle.py); none else."""
    return accepted.deprecation.headers() if accepted.deprecation else {}


def _count_deprecated_use(accepted: AcceptedWebhook) -> None:
    """Per source, type and version: a metric, and the day's durable counter `distsync contracts usage` reads."""
    if accepted.deprecation is None or accepted.deprecation.status != "deprecated":
        return
    meta = accepted.envelope.metadata
    with single_metric(name="DeprecatedContractUsed", unit=MetricUnit.Count, value=1) as metric:
        for name, value in (("source", meta.source), ("eventType", meta.event_type), ("version", meta.event_version)):
            metric.add_dimension(name=name, value=value)
    try:
        contract_usage.record(env("IDEMPOTENCY_TABLE_NAME"), meta.received_at.date(), meta.source, meta.event_type,
                              meta.event_version)
    except (BotoCoreError, ClientError):  # the event is published: a lost count must not make the partner retry it
        logger.warning("deprecated-version use not counted", exc_info=True,
                       extra={"source": meta.source, "eventType": meta.event_type, "version": meta.event_version})


def _publish(accepted: AcceptedWebhook) -> dict[str, str]:
    meta = accepted.envelope.metadata
    accepted_at = now_iso()  # before publishing: a consumer may record its own hop before the publish returns
    try:
        EventPublisher(env("EVENT_BUS_NAME")).publish([accepted.envelope])
    except PublishError as exc:
        raise ServiceUnavailable("the event bus did not accept the event; nothing was published") from exc
    ledger.hop(meta.correlation_id, "webhook", "ok", f"accepted {meta.event_type} v{meta.event_version} from {meta.source}",
               event_id=meta.event_id, business_key=accepted.data.business_key(), at=accepted_at,
               eventType=meta.event_type,
               event=accepted.envelope.model_dump_json(by_alias=True))  # the original, for `replay --correlation-id`
    metrics.add_metric(name="WebhooksAccepted", unit=MetricUnit.Count, value=1)
    _count_deprecated_use(accepted)  # once per published event: an Idempotency-Key repeat is not counted again
    logger.info("webhook accepted", extra={"eventId": meta.event_id, "eventType": meta.event_type})
    return {"eventId": meta.event_id, "correlationId": meta.correlation_id}


def _deduplicated_publish() -> Any:
    """Same source + Idempotency-Key -> the first answer again, nothing published twice."""
    global _publish_once
    if _publish_once is None:
        from aws_lambda_powertools.utilities.idempotency import (
            DynamoDBPersistenceLayer,
            IdempotencyConfig,
            idempotent_function,
        )
        from aws_lambda_powertools.utilities.idempotency.exceptions import (
            IdempotencyAlreadyInProgressError,
            IdempotencyValidationError,
        )

        config = IdempotencyConfig(
            event_key_jmespath="[source, idempotencyKey]",
            payload_validation_jmespath="bodySha256",
            expires_after_seconds=24 * 3600,
        )
        store = DynamoDBPersistenceLayer(table_name=env("IDEMPOTENCY_TABLE_NAME"))

        @idempotent_function(data_keyword_argument="request", config=config, persistence_store=store)
        def publish_once(request: dict[str, str], accepted: AcceptedWebhook) -> dict[str, str]:
            return _publish(accepted)

        def guarded(**kwargs: Any) -> dict[str, str]:
            config.register_lambda_context(app.lambda_context)
            try:
                return publish_once(**kwargs)
            except IdempotencyValidationError as exc:
                raise UnprocessableIdempotencyKey(
                    "this Idempotency-Key was already used for a different body; use a new key"
                ) from exc
            except IdempotencyAlreadyInProgressError as exc:  # a retry while the first is still running
                raise RequestInProgress(
                    "a request with this Idempotency-Key is still being processed; retry after it", RETRY_AFTER_SECONDS
                ) from exc

        _publish_once = guarded
    return _publish_once


@instrument
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
