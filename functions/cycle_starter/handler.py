"""Forecast cycles: a cycle file landed (S3 "Object Created" -> default bus -> this pipeline's queue) ->
start the cycle state machine, named after the cycle id, so the same file dropped twice runs once.

What starts a cycle (``distsync_core.planning.manifest.trigger``): its manifest
(``cycles/<cycleId>.manifest.json``) always; its data file (``cycles/<cycleId>.csv[.gz]``) only while
``CYCLE_MANIFEST_REQUIRED`` (context ``cycleManifestRequired``) is false, else the data file waits for the
manifest. Whatever starts the run, the execution's ``key`` is that object: the prepare step reads a manifest's
listing from it."""

from __future__ import annotations

import json

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from distsync_core.planning.cycles import CycleFileRejected, cycle_correlation_id
from distsync_core.planning.manifest import trigger
from distsync_core.platform import ledger
from distsync_core.platform.aws import client
from distsync_core.platform.config import env, env_flag
from distsync_core.platform.observability import instrument, logger

STAGE = "cycle"
processor = BatchProcessor(event_type=EventType.SQS)


def start_cycle(record: SQSRecord) -> None:
    detail = json.loads(record.body)["detail"]
    bucket, key = detail["bucket"]["name"], detail["object"]["key"]
    try:
        cycle = trigger(key, manifest_required=env_flag("CYCLE_MANIFEST_REQUIRED", False))
    except CycleFileRejected as exc:  # no retry can fix a name: record it and let the message go
        logger.warning("cycle file refused", extra={"key": key, "reason": str(exc)})
        ledger.hop(f"cycle-file-{key}"[:200], STAGE, "rejected", str(exc))
        return
    cid = cycle_correlation_id(cycle.cycle_id)
    logger.set_correlation_id(cid)
    if not cycle.starts:
        logger.info("cycle data file waits for its manifest", extra={"cycleId": cycle.cycle_id, "key": key})
        ledger.hop(cid, STAGE, "ok", f"{key} landed: the cycle starts on cycles/{cycle.cycle_id}.manifest.json "
                   "(cycleManifestRequired)", business_key=f"CYCLE#{cycle.cycle_id}")
        return
    sfn = client("stepfunctions")
    try:
        execution = sfn.start_execution(
            stateMachineArn=env("CYCLE_STATE_MACHINE_ARN"),
            name=cycle.cycle_id,  # one execution per cycle id: a second drop of the file starts nothing
            input=json.dumps({"cycleId": cycle.cycle_id, "bucket": bucket, "key": key}),
        )
    except sfn.exceptions.ExecutionAlreadyExists:
        logger.info("cycle already started", extra={"cycleId": cycle.cycle_id, "key": key})
        ledger.hop(cid, STAGE, "ok", f"{key} landed again: cycle {cycle.cycle_id} already ran or runs; nothing started",
                   business_key=f"CYCLE#{cycle.cycle_id}")
        return
    size = detail["object"].get("size")
    ledger.hop(cid, STAGE, "ok", f"cycle {cycle.kind} file {key} ({size} bytes) landed: execution {execution['executionArn']} started",
               business_key=f"CYCLE#{cycle.cycle_id}")


@instrument
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return process_partial_response(event=event, record_handler=start_cycle, processor=processor, context=context)
