"""One Logger, Tracer and Metrics per process, shared by the handlers and the layer code."""

import functools
import os
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer

from .ledger import recording

logger = Logger()
tracer = Tracer()
metrics = Metrics()


def instrument(handler: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """The decorator stack every distsync Lambda entry point wears: Lambda context (and a fresh
    correlation id) on every log line, an X-Ray segment, EMF metrics flushed at the end, and the
    invocation's ledger hops written in one batch when it ends."""

    @functools.wraps(handler)
    def with_ledger(event: Any, context: Any) -> Any:
        with recording(os.environ.get("TRACE_TABLE_NAME")):
            return handler(event, context)

    return logger.inject_lambda_context(clear_state=True)(
        tracer.capture_lambda_handler(capture_response=False)(metrics.log_metrics(with_ledger))
    )
