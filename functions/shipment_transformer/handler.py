"""Shipments pipeline: WMS/TMS milestones to the ERP (delivery status of every order in the shipment) and
to customer visibility; an exception milestone starts the exception-handling workflow."""

from __future__ import annotations

import json

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from distsync_core.contracts import ShipmentMilestone, derive_id
from distsync_core.partners import partner
from distsync_core.partners.base import PartnerRejected
from distsync_core.platform.aws import client
from distsync_core.platform.config import env
from distsync_core.platform.observability import instrument, logger, metrics
from distsync_core.platform.pipeline import Consumer, Delivery, PermanentFailure


def exception_case_id(event_id: str) -> str:
    """One case per exception event: a redelivered milestone cannot open a second one."""
    return f"exc-{derive_id(event_id, 'ShipmentException').replace('-', '')[:20]}"


def handle_milestone(delivery: Delivery) -> None:
    shipment: ShipmentMilestone = delivery.data
    meta = delivery.envelope.metadata
    status = {
        "shipmentId": shipment.shipment_id,
        "milestone": shipment.milestone,
        "carrier": shipment.carrier,
        "trackingNumber": shipment.tracking_number,
        "milestoneAt": shipment.milestone_at.isoformat(),
        "exception": shipment.exception.model_dump(by_alias=True, mode="json") if shipment.exception else None,
    }
    try:
        for order_id in shipment.order_ids:
            partner("erp").put_delivery_status(order_id, status, correlation_id=meta.correlation_id,
                                               idempotency_key=derive_id(meta.event_id, order_id))
        partner("channels").send("POST", "/v1/shipment-updates", {**status, "orderIds": shipment.order_ids},
                                 idempotency_key=meta.event_id, correlation_id=meta.correlation_id)
    except PartnerRejected as exc:
        raise PermanentFailure(str(exc)) from exc
    orders = ", ".join(shipment.order_ids)
    if shipment.exception is None:
        delivery.record("delivered", f"shipment {shipment.shipment_id} {shipment.milestone}: ERP delivery status "
                                     f"of {orders} updated, customers informed")
        return

    case_id = exception_case_id(meta.event_id)
    _start_exception_case(case_id, delivery)
    metrics.add_metric(name="ShipmentExceptionsOpened", unit=MetricUnit.Count, value=1)
    delivery.record("ok", f"shipment {shipment.shipment_id} exception ({shipment.exception.kind}): ERP and "
                          f"customers informed, case {case_id} opened", caseId=case_id)


def _start_exception_case(case_id: str, delivery: Delivery) -> None:
    sfn = client("stepfunctions")
    payload = {"caseId": case_id, "milestone": delivery.envelope.model_dump(mode="json", by_alias=True)}
    try:
        sfn.start_execution(stateMachineArn=env("EXCEPTION_STATE_MACHINE_ARN"), name=case_id,
                            input=json.dumps(payload))
    except sfn.exceptions.ExecutionAlreadyExists:
        logger.info("exception case already open", extra={"caseId": case_id})


consumer = Consumer("shipments", ShipmentMilestone, handle_milestone)


@instrument
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return consumer(event, context)
