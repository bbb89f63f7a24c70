"""Daily financial reconciliation (EventBridge Scheduler, or ``distsync reconcile`` on demand).

For one posting date (``{"date": "YYYY-MM-DD"}``; default: the day before the scheduled time, or now, in
``RECONCILIATION_TIME_ZONE``): the ERP's posting totals from its export API against the postings distsync
recorded, per domain, posting type and currency. Publishes ``ReconciliationCompleted`` with the mismatches
listed, emits ``ReconciliationMismatches`` (the alarm fires above 0) and returns the event's data.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from distsync_core.contracts import CONTRACTS, Count, Currency, PostingDomain, PostingType, new_envelope
from distsync_core.finance.postings import PostingStore
from distsync_core.finance.reconciliation import Total, default_date, parse_date, reconcile
from distsync_core.partners import partner
from distsync_core.platform import ledger
from distsync_core.platform.config import env
from distsync_core.platform.events import EventPublisher
from distsync_core.platform.observability import instrument, logger, metrics

CONTRACT = CONTRACTS[("ReconciliationCompleted", "1")]
STAGE = "reconciliation"


class ErpTotal(BaseModel):
    """One line of the ERP's posting totals export."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    domain: PostingDomain
    posting_type: PostingType = Field(alias="postingType")
    currency: Currency
    amount_minor: int = Field(alias="amountMinor", strict=True)
    count: Count


def erp_totals(posting_date: str, correlation_id: str) -> dict[tuple[str, str, str], Total]:
    body = partner("erp").get_posting_totals(posting_date, correlation_id=correlation_id).body
    if body.get("date") != posting_date:
        raise ValueError(f"the ERP answered totals of {body.get('date')!r}, not of {posting_date}")
    totals: dict[tuple[str, str, str], Total] = {}
    for line in body.get("totals", []):
        t = ErpTotal.model_validate(line)
        key = (t.domain, t.posting_type, t.currency)
        totals[key] = totals.get(key, Total()) + Total(t.amount_minor, t.count)
    return totals


def _date_of(event: dict[str, Any]) -> str:
    if event.get("date"):
        return parse_date(event["date"]).isoformat()
    at = datetime.fromisoformat(event["scheduledTime"].replace("Z", "+00:00")) if event.get("scheduledTime") else None
    return default_date(env("RECONCILIATION_TIME_ZONE", "UTC"), at).isoformat()


def run(event: dict[str, Any]) -> dict[str, Any]:
    posting_date = _date_of(event or {})
    suffix = uuid.uuid4().hex[:8]
    correlation_id = f"reconciliation-{posting_date}-{suffix}"
    logger.set_correlation_id(correlation_id)
    result = reconcile(
        f"rec-{posting_date}-{suffix}",
        parse_date(posting_date),
        erp=erp_totals(posting_date, correlation_id),
        recorded=PostingStore(env("POSTINGS_TABLE_NAME")).totals(parse_date(posting_date)),
    )
    envelope = new_envelope(CONTRACT, result, source="distsync.finance", correlation_id=correlation_id)
    EventPublisher(env("EVENT_BUS_NAME")).publish([envelope])
    metrics.add_metric(name="ReconciliationMismatches", unit=MetricUnit.Count, value=len(result.mismatches))
    summary = ", ".join(f"{d.domain} {d.status}" for d in result.domains)
    detail = f"{posting_date}: {result.status} ({summary}; {len(result.mismatches)} mismatch(es))"
    ledger.hop(correlation_id, STAGE, "delivered", detail, business_key=result.business_key(),
               event_id=envelope.metadata.event_id)
    log = logger.warning if result.mismatches else logger.info
    log(f"reconciliation {detail}", extra={"mismatches": [m.message for m in result.mismatches]})
    return {"correlationId": correlation_id, "eventId": envelope.metadata.event_id,
            **result.model_dump(by_alias=True, mode="json")}


@instrument
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return run(event)
