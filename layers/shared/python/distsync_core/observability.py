"""One Logger, Tracer and Metrics per process, shared by the handler and the layer code."""

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
tracer = Tracer()
metrics = Metrics()
