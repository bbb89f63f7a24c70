"""Parameter drift (EventBridge Scheduler daily, context ``parameterDriftSchedule``; or ``distsync drift`` on
demand): per governed item-location, planning's latest recommendation (the ledger), distsync's last applied
parameters (master data) and the ERP's values (the owning connection's connector), classified
(:mod:`distsync_core.drift.classify`); the report to the landing bucket (JSON and CSV), one
``ParameterDriftDetected`` per drifted item-location, a metric per class.

``{"fix": true}`` also sends a correction (the last applied parameters) for each item-location changed by hand
or whose write was lost, as a ``ReplenishmentRecommended`` into the planning pipeline: its threshold and the
planners' approvals apply, never a write straight to the ERP. ``{"location": "<glob>"}`` narrows the run."""

from __future__ import annotations

import uuid
from fnmatch import fnmatchcase
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from distsync_core.connectors.factory import connections
from distsync_core.connectors.landscape import owner
from distsync_core.contracts import (
    CONTRACTS,
    Envelope,
    ParameterDriftDetected,
    ReplenishmentRecommended,
    derive_id,
    new_envelope,
    utcnow,
)
from distsync_core.drift.classify import DRIFTED, Finding, correction_path, report
from distsync_core.drift.store import item_locations, observe_all, record_erp_values, write_report
from distsync_core.platform import ledger
from distsync_core.platform.config import env, env_float
from distsync_core.platform.events import EventPublisher
from distsync_core.platform.observability import instrument, logger, metrics
from distsync_core.platform.times import now_iso

SOURCE = "distsync.drift"
DRIFT_CONTRACT = CONTRACTS[("ParameterDriftDetected", "1")]
RECOMMENDED_CONTRACT = CONTRACTS[("ReplenishmentRecommended", "1")]
# one metric per class (the drift dashboard charts them; 0 too, so a class that clears shows it)
METRICS = {"changed_by_hand": "DriftChangedByHand", "applied_but_lost": "DriftAppliedButLost",
           "never_applied": "DriftNeverApplied", "in_sync": "DriftInSync", "not_compared": "DriftNotCompared"}


def run(event: dict[str, Any]) -> dict[str, Any]:
    now, glob, fix = utcnow(), str(event.get("location") or "*"), bool(event.get("fix"))
    run_id = f"drift-{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    book = ledger.current() or ledger.Ledger(env("TRACE_TABLE_NAME"))
    masterdata = env("MASTERDATA_TABLE_NAME")
    items = [item for item in item_locations(masterdata) if fnmatchcase(str(item.get("locationId", "")), glob)]
    observations = observe_all(items, book, run_id)
    drift = report(observations, now=now, location=glob)
    where = write_report(env("LANDING_BUCKET_NAME"), drift)
    for drift_class, name in METRICS.items():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=drift.counts[drift_class])
    publisher = EventPublisher(env("EVENT_BUS_NAME"))
    publisher.publish([_detected(f, run_id) for f in drift.drifted])
    corrections = _fix(drift.findings, run_id, masterdata, publisher) if fix else []
    _tell_planners(run_id, drift, where.get("reportKey"))
    summary = {"trigger": event.get("trigger", "on-demand"), "runId": run_id, "computedAt": now.isoformat(),
               "location": glob, "counts": drift.counts, "sentence": drift.sentence(), "corrections": corrections,
               **where}
    (logger.warning if drift.drifted else logger.info)(drift.sentence(), extra=summary)
    return summary


def _tell_planners(run_id: str, drift: Any, report_key: str | None) -> None:
    """A short message to the planners' topic when something drifted; a lost message is logged, never a failed
    run (the report and the events are out already)."""
    from botocore.exceptions import BotoCoreError, ClientError

    from distsync_core.drift.notices import drift_found
    from distsync_core.platform import notifications

    message = drift_found(run_id, drift.counts, drift.drifted, report_key, env("CONSOLE_URL"))
    if message is None:
        return
    try:
        notifications.publish(env("PLANNERS_TOPIC_ARN"), message)
    except (BotoCoreError, ClientError):
        logger.exception("planners drift notification not published", extra={"runId": run_id})


def _detected(f: Finding, run_id: str) -> Envelope:
    data = ParameterDriftDetected(
        item_id=f.item_id, location_id=f.location_id, drift_class=f.drift_class,  # type: ignore[arg-type]
        reason=f.reason[:1000], erp_connection=f.erp_connection,
        erp_safety_stock=f.erp.safety_stock if f.erp else None, erp_reorder_point=f.erp.reorder_point if f.erp else None,
        applied_safety_stock=f.applied.safety_stock if f.applied else None,
        applied_reorder_point=f.applied.reorder_point if f.applied else None,
        recommended_safety_stock=f.recommended.safety_stock if f.recommended else None,
        recommended_reorder_point=f.recommended.reorder_point if f.recommended else None,
        recommendation_status=f.recommendation_status, drift_run_id=run_id)
    # one transaction per run: the events of a run share its correlation id; a redelivery keeps each id
    return new_envelope(DRIFT_CONTRACT, data, source=SOURCE, correlation_id=run_id,
                        event_id=derive_id(run_id, f.business_key))


def _fix(findings: list[Finding], run_id: str, masterdata: str, publisher: EventPublisher) -> list[dict[str, Any]]:
    """A correction per finding that has one, through the planning pipeline; what happens to each."""
    landscape, default_threshold = connections(), env_float("APPROVAL_THRESHOLD_PERCENT", 20)
    out: list[dict[str, Any]] = []
    for f in findings:
        if f.drift_class not in DRIFTED:
            continue
        connection = owner(f.location_id, landscape)
        threshold = (connection.approval_threshold_percent if connection else None) or default_threshold
        path, why = correction_path(f, threshold)
        entry: dict[str, Any] = {"itemId": f.item_id, "locationId": f.location_id, "class": f.drift_class,
                                 "path": path, "why": why}
        if path != "none" and f.correction is not None and f.erp is not None:
            # the planning transformer measures the change from master data's "ERP's current parameters"
            record_erp_values(masterdata, f.item_id, f.location_id, f.erp)
            correlation_id, at = str(uuid.uuid4()), now_iso()  # its hop sorts before the planning stage's
            envelope = new_envelope(
                RECOMMENDED_CONTRACT,
                ReplenishmentRecommended(item_id=f.item_id, location_id=f.location_id,
                                         recommended_safety_stock=f.correction.safety_stock,
                                         recommended_reorder_point=f.correction.reorder_point,
                                         planning_cycle_id=run_id),
                source=SOURCE, correlation_id=correlation_id)
            publisher.publish([envelope])
            ledger.hop(correlation_id, "drift", "ok",
                       f"drift correction ({f.drift_class.replace('_', ' ')}): the ERP shows {f.erp.text()}, "
                       f"restore {f.correction.text()}; {why}", business_key=f.business_key,
                       event_id=envelope.metadata.event_id, eventType=RECOMMENDED_CONTRACT.event_type,
                       event=envelope.model_dump_json(by_alias=True), at=at)
            entry |= {"correlationId": correlation_id, "safetyStock": f.correction.safety_stock,
                      "reorderPoint": f.correction.reorder_point}
            metrics.add_metric(name="DriftCorrectionsSent", unit=MetricUnit.Count, value=1)
        out.append(entry)
    return out


@instrument
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return run(event or {})
