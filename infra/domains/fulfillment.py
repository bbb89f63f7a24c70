"""Shipments and fulfillment: milestones to the ERP and customer channels; an exception opens a case, a
Step Functions workflow that waits for a signed resolution and escalates when its window closes."""

from __future__ import annotations

from infra import REPO_ROOT
from infra.platform import Domain, Platform
from infra.platform.platform import API_TIMEOUT, PARTNER_CALL_TIMEOUT, TASK_TIMEOUT
from infra.platform.workflow import AslWorkflow

OWNER = "fulfillment"  # the team its functions, pipelines and alarms name (infra/config.py DEFAULT_OWNERS)

EXCEPTION_ASL_PATH = REPO_ROOT / "state_machines" / "shipment_exception.asl.json"


def build(platform: Platform) -> AslWorkflow:
    config = platform.config
    cases = platform.domain_table("ExceptionCasesTable", "caseId")  # with the task token waiting for each
    task = platform.function(
        "ShipmentExceptionTaskFunction",
        "shipment_exception_task",
        TASK_TIMEOUT,
        "Opens and closes shipment exception cases (workflow tasks) and tells customer channels",
        EXCEPTIONS_TABLE_NAME=cases.table_name,
        CHANNELS_BASE_URL=config.channels_base_url,
        OPERATIONS_TOPIC_ARN=platform.notifications.topics["operations"].topic_arn,
        CONSOLE_URL=config.console_url,
    )
    cases.grant_write_data(task)
    platform.notifications.grant_publish("operations", task)  # an opened case tells operations
    workflow = AslWorkflow(
        platform.scope,
        "ShipmentExceptionWorkflow",
        asl_path=EXCEPTION_ASL_PATH,
        comment="Shipment exception: notify, wait for a resolution, escalate when the window closes",
        functions={"ExceptionTaskFunctionArn": task},
        numbers={"ExceptionTimeoutSeconds": config.shipment_exception_timeout_seconds},
        log_retention=platform.log_retention,
        removal_policy=platform.removal,
    )
    state_machine = workflow.state_machine
    platform.state_machine("shipment-exception", state_machine, output="ExceptionStateMachineArn")

    transformer = platform.function(
        "ShipmentTransformerFunction",
        "shipment_transformer",
        PARTNER_CALL_TIMEOUT,
        "Sends shipment milestones to the ERP and customer channels; exceptions open a case",
        **platform.partner_environment,
        CHANNELS_BASE_URL=config.channels_base_url,
        EXCEPTION_STATE_MACHINE_ARN=state_machine.state_machine_arn,
    )
    state_machine.grant_start_execution(transformer)
    platform.pipeline(
        "ShipmentPipeline",
        function=transformer,
        batch_size=5,
        sources=("distsync.fulfillment",),
        detail_types=("ShipmentMilestone",),
    )

    resolutions = platform.function(
        "ExceptionApiFunction",
        "exception_api",
        API_TIMEOUT,
        "Accepts signed shipment exception resolutions and resumes the waiting workflow",
        EXCEPTIONS_TABLE_NAME=cases.table_name,
    )
    cases.grant_read_write_data(resolutions)
    state_machine.grant_task_response(resolutions)
    platform.idempotency_table(resolutions)  # signatures accepted, once each
    platform.signed_api("v1/shipment-exceptions/{caseId}/resolution", "POST", resolutions, keys=["operations"],
                        reserved_concurrency=config.decision_api_reserved_concurrency)

    platform.metrics.count("ShipmentExceptionsOpened")
    platform.dashboard(
        Domain(
            key="fulfillment",
            title="Shipments and fulfillment (milestones, exceptions)",
            pipelines=("ShipmentPipeline",),
            functions=("shipment_exception_task", "exception_api"),
            state_machine="shipment-exception",
            metrics=("ShipmentExceptionsOpened", "RecordsRetried", "RecordsDeadLettered"),
        )
    )
    platform.output("ExceptionCasesTableName", cases.table_name)
    return workflow
