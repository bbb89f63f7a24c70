"""Orders: ERP order status to the warehouse and customer channels, strictly in order per order. A router
puts each update into a FIFO queue grouped by order id (an EventBridge rule can give a FIFO target only one
fixed group), and the in-order consumer applies them."""

from __future__ import annotations

from infra.platform import Domain, Platform
from infra.platform.platform import TRANSFORMER_TIMEOUT


def build(platform: Platform) -> None:
    config = platform.config
    orders = platform.domain_table("OrdersTable", "orderId")  # the last applied update of every order
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
        WMS_BASE_URL=config.wms_base_url,
        CHANNELS_BASE_URL=config.channels_base_url,
    )
    orders.grant_read_write_data(transformer)
    in_order = platform.pipeline("OrderPipeline", function=transformer, batch_size=10, fifo=True)
    in_order.grant_send_to(router, "ORDERS_QUEUE_URL")

    platform.metrics.count("OrderUpdatesOutOfOrder")
    platform.metrics.latency("OrderStatusPropagation", "s")  # changed in the ERP -> warehouse and channels told
    platform.dashboard(
        Domain(
            key="orders",
            title="Orders (ERP order status to warehouse and customer channels, in order)",
            pipelines=("OrderIntakePipeline", "OrderPipeline"),
            metrics=("OrderUpdatesOutOfOrder", "RecordsQuarantined", "OrderStatusPropagation"),
        )
    )
    platform.output("OrdersTableName", orders.table_name)
