"""Orders: ERP order status to the warehouse and customer channels, strictly in order per order. A router
puts each update into a FIFO queue grouped by order id (an EventBridge rule can give a FIFO target only one
fixed group), and the in-order consumer applies them. The queue before the router is not ordered: an update
ahead of its predecessor is held (``OrderHoldsTable``) and applied when the gap fills; its gap timer (a
delayed message on ``OrderGapPipeline``, ``orderGapTimeoutSeconds``) quarantines it if the gap stays open."""

from __future__ import annotations

from infra.platform import Domain, Platform
from infra.platform.platform import TRANSFORMER_TIMEOUT

OWNER = "orders"  # the team its functions, pipelines and alarms name (infra/config.py DEFAULT_OWNERS)


def build(platform: Platform) -> None:
    config = platform.config
    orders = platform.domain_table("OrdersTable", "orderId")  # the last applied update of every order
    holds = platform.table("OrderHoldsTable", "orderId", sort_key="sequenceKey")  # updates ahead of their turn
    gap_timeout = str(config.order_gap_timeout_seconds)
    router = platform.function(
        "OrderRouterFunction",
        "order_router",
        TRANSFORMER_TIMEOUT,
        "Routes ERP order updates into the orders FIFO queue, grouped by order id",
    )
    platform.pipeline(
        "OrderIntakePipeline",
        function=router,
        batch_size=10,
        sources=("distsync.orders",),
        detail_types=("OrderStatusChanged",),
        idempotency=False,
    )
    transformer = platform.function(
        "OrderTransformerFunction",
        "order_transformer",
        TRANSFORMER_TIMEOUT,
        "Applies order updates in sequence and informs the warehouse and customer channels",
        ORDERS_TABLE_NAME=orders.table_name,
        ORDER_HOLDS_TABLE_NAME=holds.table_name,
        ORDER_GAP_TIMEOUT_SECONDS=gap_timeout,
        WMS_BASE_URL=config.wms_base_url,
        CHANNELS_BASE_URL=config.channels_base_url,
    )
    orders.grant_read_write_data(transformer)
    holds.grant_read_write_data(transformer)
    in_order = platform.pipeline("OrderPipeline", function=transformer, batch_size=10, fifo=True)
    in_order.grant_send_to(router, "ORDERS_QUEUE_URL")

    gap = platform.function(
        "OrderGapFunction",
        "order_gap",
        TRANSFORMER_TIMEOUT,
        "Quarantines a held order update whose predecessor has not arrived within orderGapTimeoutSeconds",
        ORDERS_TABLE_NAME=orders.table_name,
        ORDER_HOLDS_TABLE_NAME=holds.table_name,
        ORDER_GAP_TIMEOUT_SECONDS=gap_timeout,
    )
    orders.grant_read_data(gap)  # the transaction's condition on the applied sequence
    holds.grant_read_write_data(gap)
    # Its transaction is the guard (a timer may come twice): no idempotency record.
    timers = platform.pipeline("OrderGapPipeline", function=gap, batch_size=10, timer=True, idempotency=False)
    timers.grant_send_to(transformer, "ORDER_GAP_QUEUE_URL")

    platform.metrics.count("OrderUpdatesOutOfOrder")
    platform.metrics.count("OrderUpdatesHeld")  # ahead of their predecessor; applied or quarantined later
    platform.metrics.latency("OrderStatusPropagation", "s")  # changed in the ERP -> warehouse and channels told
    platform.dashboard(
        Domain(
            key="orders",
            title="Orders (ERP order status to warehouse and customer channels, in order)",
            pipelines=("OrderIntakePipeline", "OrderPipeline", "OrderGapPipeline"),
            metrics=("OrderUpdatesOutOfOrder", "OrderUpdatesHeld", "RecordsQuarantined", "OrderStatusPropagation"),
        )
    )
    platform.output("OrdersTableName", orders.table_name)
