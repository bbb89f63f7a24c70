"""Supplier performance facts: a supplier's ship notices (``ShipmentMilestone`` "shipped" from a supplier) and
goods receipts of its purchase orders (``FinancialPostingRecorded`` goods_receipt, domain supplier) into the
supplier performance table (the PO confirmations are recorded by the supplier transformer). Other milestones
and postings are not the supplier's: they pass without a trace hop, their own pipelines handle them."""

from __future__ import annotations

from aws_lambda_powertools.utilities.typing import LambdaContext

from distsync_core.contracts import FinancialPostingRecorded, ShipmentMilestone
from distsync_core.platform.config import env
from distsync_core.platform.observability import instrument
from distsync_core.platform.pipeline import Consumer, Delivery
from distsync_core.supplier.performance import is_po_receipt, is_ship_notice
from distsync_core.supplier.performance_store import PerformanceStore


def record_fact(delivery: Delivery) -> None:
    data, source = delivery.data, delivery.envelope.metadata.source
    store = PerformanceStore(env("SUPPLIER_PERFORMANCE_TABLE_NAME"))
    if isinstance(data, ShipmentMilestone) and is_ship_notice(data, source):
        store.shipment(data)
        delivery.record("delivered", f"ship notice {data.shipment_id} of PO(s) {', '.join(data.order_ids)} "
                                     "recorded for supplier performance")
    elif isinstance(data, FinancialPostingRecorded) and is_po_receipt(data):
        store.receipt(data)
        said = f"{len(data.lines)} line(s)" if data.lines else "no quantities (lead time only)"
        delivery.record("delivered", f"goods receipt {data.posting_id} of PO {data.reference} on "
                                     f"{data.posting_date.isoformat()} ({said}) recorded for supplier performance")


# Each fact is a put of the event's own data: a redelivery rewrites the same item, no idempotency table needed.
consumer = Consumer("supplier-performance", (ShipmentMilestone, FinancialPostingRecorded), record_fact,
                    idempotent=False)


@instrument
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return consumer(event, context)
