"""File intake: a partner file landed in ``inbound/<partner>/`` -> canonical events on the bus, an
acknowledgment in ``outbound/``, an error report for whatever was rejected, the original archived
(distsync_core/files/intake.py). Records are S3 "Object Created" events from EventBridge, via SQS."""

from __future__ import annotations

import json
import uuid

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from distsync_core.files.intake import FileIntake, partner_profiles
from distsync_core.files.model import DEFAULT_MAX_RECORDS
from distsync_core.files.store import BucketObjects, FileRegistry, known_item_locations
from distsync_core.platform import ledger
from distsync_core.platform.config import env, env_int
from distsync_core.platform.events import EventPublisher
from distsync_core.platform.observability import instrument, logger, metrics

processor = BatchProcessor(event_type=EventType.SQS)
_intake: FileIntake | None = None


def intake() -> FileIntake:
    global _intake  # one set of clients and the partner registry per container
    if _intake is None:
        masterdata = env("MASTERDATA_TABLE_NAME")
        _intake = FileIntake(
            objects=BucketObjects(env("LANDING_BUCKET_NAME")),
            registry=FileRegistry(env("FILES_TABLE_NAME")),
            publish=EventPublisher(env("EVENT_BUS_NAME")).publish,
            hop=ledger.hop,
            known=lambda keys: known_item_locations(masterdata, keys),
            partners=partner_profiles(env("FILE_PARTNERS", "{}")),
            max_records=env_int("FILE_MAX_RECORDS", DEFAULT_MAX_RECORDS),
        )
    return _intake


def handle_record(record: SQSRecord) -> None:
    detail = json.loads(record.body)["detail"]
    key = detail["object"]["key"]
    outcome = intake().process(key, nonce=f"-{uuid.uuid4().hex[:8]}")
    logger.info("partner file processed", extra={"key": key, **outcome.as_dict()})
    metrics.add_metric(name="FilesProcessed", unit=MetricUnit.Count, value=1)
    if outcome.rejected or outcome.status in ("rejected", "duplicate"):
        metrics.add_metric(name="FileTransactionsRejected", unit=MetricUnit.Count, value=max(outcome.rejected, 1))


@instrument
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return process_partial_response(event=event, record_handler=handle_record, processor=processor, context=context)
