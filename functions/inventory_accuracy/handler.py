"""Inventory visibility accuracy (EventBridge Scheduler daily, context ``inventoryAccuracySchedule``; or
``distsync inventory accuracy`` / ``distsync kpis`` on demand): each source's newest balance from the inventory
projection, ERP against WMS per item-location (:mod:`distsync_core.inventory.accuracy`), the report written to
the landing bucket (JSON, and CSV of the disagreeing item-locations), ``InventoryAccuracyPercent`` emitted (the
alarm fires below ``inventoryAccuracyTargetPercent``; nothing comparable emits nothing). Returns the summary and
the report's keys."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from distsync_core.contracts import utcnow
from distsync_core.inventory.accuracy import SourceBalance, Tolerance, compare
from distsync_core.inventory.reports import write_report
from distsync_core.inventory.store import InventoryStore
from distsync_core.platform.config import env, env_float
from distsync_core.platform.observability import instrument, logger, metrics


def run(event: dict[str, Any]) -> dict[str, Any]:
    tolerance = Tolerance(as_of_minutes=env_float("ACCURACY_AS_OF_TOLERANCE_MINUTES", 15),
                          quantity=env_float("ACCURACY_QUANTITY_TOLERANCE", 0),
                          quantity_percent=env_float("ACCURACY_QUANTITY_TOLERANCE_PERCENT", 0))
    balances = (SourceBalance.model_validate(item) for item in InventoryStore(env("INVENTORY_TABLE_NAME")).source_balances())
    report = compare(balances, tolerance, now=utcnow(), target_percent=env_float("ACCURACY_TARGET_PERCENT", 98))
    where = write_report(env("LANDING_BUCKET_NAME"), report)
    if report.accuracy_percent is not None:
        metrics.add_metric(name="InventoryAccuracyPercent", unit=MetricUnit.Percent, value=report.accuracy_percent)
    summary = {
        "trigger": event.get("trigger", "on-demand"),
        "computedAt": report.computed_at.isoformat(),
        "accuracyPercent": report.accuracy_percent,
        "targetPercent": report.target_percent,
        "belowTarget": report.below_target,
        "compared": report.compared,
        "agreeing": report.agreeing,
        "disagreeing": len(report.disagreeing),
        "notComparable": len(report.not_comparable),
        "sentence": report.sentence(),
        **where,
    }
    (logger.warning if report.below_target else logger.info)(report.sentence(), extra=summary)
    return summary


@instrument
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return run(event or {})
