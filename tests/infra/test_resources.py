"""Backbone, tables, approval workflow, API, secret, alarm topic and outputs."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from synth_support import PROD_CONTEXT, REPO_ROOT, Synth, allowed_actions

pytestmark = pytest.mark.infra

OUTPUTS = {
    "ApiUrl",
    "EventBusName",
    "MasterDataTableName",
    "QuarantineTableName",
    "ApprovalsTableName",
    "TraceTableName",
    "ApprovalStateMachineArn",
    "WebhookSecretArn",
    "SigningKeyArns",
    "AlarmTopicArn",
    "ExceptionStateMachineArn",
    "InventoryTableName",
    "OrdersTableName",
    "ExceptionCasesTableName",
}


def test_stack_name_tags_and_no_machine_paths(dev: Synth) -> None:
    assert dev.stack.stack_name == "distsync-dev"
    assert dev.stack.node.id == "distsync-dev"
    tagged_types = {
        "AWS::Lambda::Function",
        "AWS::DynamoDB::Table",
        "AWS::SQS::Queue",
        "AWS::Events::EventBus",
        "AWS::StepFunctions::StateMachine",
        "AWS::SecretsManager::Secret",
        "AWS::SNS::Topic",
        "AWS::IAM::Role",
    }
    for logical_id, resource in dev.resources.items():
        if resource["Type"] in tagged_types:
            tags = {t["Key"]: t["Value"] for t in resource["Properties"]["Tags"]}
            assert tags["project"] == "distsync" and tags["stage"] == "dev", logical_id
    assert str(REPO_ROOT) not in json.dumps(dev.tpl)


def test_bus_archive_and_schema_registry(dev: Synth) -> None:
    (bus_id,) = dev.of_type("AWS::Events::EventBus")
    assert dev.props(bus_id)["Name"] == "distsync-dev"
    (archive_id,) = dev.of_type("AWS::Events::Archive")
    archive = dev.props(archive_id)
    assert archive["SourceArn"] == {"Fn::GetAtt": [bus_id, "Arn"]}
    assert archive["EventPattern"] == {"account": [{"Ref": "AWS::AccountId"}]}
    assert archive["RetentionDays"] == 90

    (registry_id,) = dev.of_type("AWS::EventSchemas::Registry")
    assert dev.props(registry_id)["RegistryName"] == "distsync-dev"
    files = {p.stem: p.read_text(encoding="utf-8") for p in (REPO_ROOT / "schemas").glob("*.json")}
    schemas = {
        s["Properties"]["SchemaName"]: s["Properties"]
        for s in dev.of_type("AWS::EventSchemas::Schema").values()
    }
    assert set(schemas) == set(files)
    for name, props in schemas.items():
        assert props["Type"] == "JSONSchemaDraft4"
        assert props["Content"] == files[name]
        assert props["RegistryName"] == {"Fn::GetAtt": [registry_id, "RegistryName"]}


def test_tables_on_demand_pitr_encrypted_and_keyed(dev: Synth) -> None:
    keys = {
        "masterdata": ([("pk", "HASH")], None),
        "quarantine": ([("quarantineId", "HASH")], None),
        "approvals": ([("approvalId", "HASH")], None),
        "trace": ([("correlationId", "HASH"), ("sk", "RANGE")], "expiresAt"),
        "idempotency": ([("id", "HASH")], "expiration"),
        "inventory": ([("pk", "HASH")], None),
        "orders": ([("orderId", "HASH")], None),
        # updates held until their predecessor arrives; each ends applied or quarantined, so no TTL
        "order_holds": ([("orderId", "HASH"), ("sequenceKey", "RANGE")], None),
        "exception_cases": ([("caseId", "HASH")], None),
        "cycle_runs": ([("cycleId", "HASH"), ("sk", "RANGE")], "expiresAt"),
        "postings": ([("postingId", "HASH")], None),  # + index byPeriod (tests/infra/test_reconciliation.py)
        "files": ([("checksum", "HASH")], None),  # the file registry: sha256 of a partner file's bytes
        "connector_state": ([("connection", "HASH")], None),  # each ERP connection's cursor and subscription
        # manual freeze windows (expire a week after their end) and held ERP writes (no TTL: never lost)
        "freeze": ([("pk", "HASH"), ("sk", "RANGE")], "expiresAt"),
        # each PO's confirmed lines, ship notices and goods receipts (kept: a year of POs is measured)
        "supplier_performance": ([("pk", "HASH"), ("sk", "RANGE")], None),
    }
    assert len(dev.of_type("AWS::DynamoDB::Table")) == len(keys)
    for name, (key_schema, ttl) in keys.items():
        logical_id = dev.table_ids[name]
        p = dev.props(logical_id)
        assert p["BillingMode"] == "PAY_PER_REQUEST"
        assert p["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
        assert p["SSESpecification"] == {"SSEEnabled": True}
        assert [(k["AttributeName"], k["KeyType"]) for k in p["KeySchema"]] == key_schema
        assert all(a["AttributeType"] == "S" for a in p["AttributeDefinitions"])
        if ttl:
            assert p["TimeToLiveSpecification"] == {"AttributeName": ttl, "Enabled": True}
        else:
            assert "TimeToLiveSpecification" not in p
        assert dev.resources[logical_id]["DeletionPolicy"] == "Delete"  # only prod retains


def test_quarantine_table_is_indexed_by_what_an_event_waits_for(dev: Synth) -> None:
    p = dev.props(dev.table_ids["quarantine"])
    (index,) = p["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "byWaitingFor"
    assert index["KeySchema"] == [
        {"AttributeName": "waitingFor", "KeyType": "HASH"},
        {"AttributeName": "quarantinedAt", "KeyType": "RANGE"},
    ]
    assert index["Projection"] == {"ProjectionType": "ALL"}
    assert {"AttributeName": "waitingFor", "AttributeType": "S"} in p["AttributeDefinitions"]
    assert {"AttributeName": "quarantinedAt", "AttributeType": "S"} in p["AttributeDefinitions"]
    assert "ProvisionedThroughput" not in index  # on demand like the table


def _definition(synth: Synth, state_machine: Any = None) -> str:
    """The state machine definition (the approval one by default) with the function ARN GetAtts rendered as
    <logicalId.Arn>."""
    p = synth.props(synth.logical_id(state_machine or synth.stack.platform.state_machines["approval"]))
    parts = p["DefinitionString"]["Fn::Join"][1]
    return "".join(x if isinstance(x, str) else f"<{x['Fn::GetAtt'][0]}.{x['Fn::GetAtt'][1]}>" for x in parts)


def test_approval_state_machine_definition_and_observability(dev: Synth) -> None:
    text = _definition(dev)
    definition = json.loads(text)
    request = definition["States"]["RequestPlannerDecision"]
    assert request["Resource"] == "arn:aws:states:::lambda:invoke.waitForTaskToken"
    assert request["Parameters"]["FunctionName"] == f"<{dev.function_ids['approval_request']}.Arn>"
    assert request["TimeoutSeconds"] == 86400
    outcome = definition["States"]["RecordOutcome"]
    assert outcome["Parameters"]["FunctionName"] == f"<{dev.function_ids['approval_outcome']}.Arn>"
    assert "${" not in text

    p = dev.props(dev.logical_id(dev.stack.platform.state_machines["approval"]))
    assert p["StateMachineType"] == "STANDARD"
    assert p["TracingConfiguration"] == {"Enabled": True}
    logging = p["LoggingConfiguration"]
    assert logging["Level"] == "ALL" and logging["IncludeExecutionData"] is False  # no task tokens in logs
    log_group_id = logging["Destinations"][0]["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]
    assert dev.props(log_group_id)["RetentionInDays"] == 30


@pytest.mark.parametrize(
    ("context", "timeout", "retention"),
    [({}, 172800, 30), (PROD_CONTEXT, int(PROD_CONTEXT["shipmentExceptionTimeoutSeconds"]), 90)],
    ids=["cdk-json", "string-context"],
)
def test_shipment_exception_state_machine_definition_and_observability(
    synth: Any, context: dict[str, str], timeout: int, retention: int
) -> None:
    s: Synth = synth(**context)
    sm = s.stack.platform.state_machines["shipment-exception"]
    text = _definition(s, sm)
    assert "${" not in text
    states = json.loads(text)["States"]
    task = f"<{s.function_ids['shipment_exception_task']}.Arn>"
    open_case = states["OpenCase"]
    assert open_case["Resource"] == "arn:aws:states:::lambda:invoke.waitForTaskToken"
    assert open_case["Parameters"]["FunctionName"] == task
    assert open_case["TimeoutSeconds"] == timeout  # shipmentExceptionTimeoutSeconds, an integer
    assert open_case["Catch"][0]["ErrorEquals"] == ["States.Timeout"]
    assert open_case["Catch"][0]["Next"] == "Escalate"
    assert states["CloseCase"]["Parameters"]["FunctionName"] == task
    # every task state invokes that one function
    functions = {st["Parameters"]["FunctionName"] for st in states.values() if st["Type"] == "Task"}
    assert functions == {task}

    p = s.props(s.logical_id(sm))
    assert p["StateMachineType"] == "STANDARD"
    assert p["TracingConfiguration"] == {"Enabled": True}
    logging = p["LoggingConfiguration"]
    assert logging["Level"] == "ALL" and logging["IncludeExecutionData"] is False  # no task tokens in logs
    log_group_id = logging["Destinations"][0]["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]
    assert s.props(log_group_id)["RetentionInDays"] == retention
    assert log_group_id != s.logical_id(s.stack.platform.state_machines["approval"].node.scope.log_group)  # a log group of its own

    # its role may invoke exactly the task function, by its unqualified ARN
    role_id = p["RoleArn"]["Fn::GetAtt"][0]
    assert role_id != s.props(s.logical_id(s.stack.platform.state_machines["approval"]))["RoleArn"]["Fn::GetAtt"][0]
    invoked = [(a, r) for a, r in allowed_actions(s.role_statements(role_id)) if a.startswith("lambda:")]
    assert invoked == [
        ("lambda:InvokeFunction", {"Fn::GetAtt": [s.function_ids["shipment_exception_task"], "Arn"]})
    ]


def test_rest_api_resources_stage_and_integrations(dev: Synth) -> None:
    (api_id,) = dev.of_type("AWS::ApiGateway::RestApi")
    assert dev.props(api_id)["EndpointConfiguration"] == {"Types": ["REGIONAL"]}
    resources = dev.of_type("AWS::ApiGateway::Resource")

    def path_of(ref: dict) -> str:
        if "Fn::GetAtt" in ref:  # the root resource
            return ""
        props = resources[ref["Ref"]]["Properties"]
        return f"{path_of(props['ParentId'])}/{props['PathPart']}"

    methods = {}
    for m in dev.of_type("AWS::ApiGateway::Method").values():
        p = m["Properties"]
        integration = p["Integration"]
        assert integration["Type"] == "AWS_PROXY" and integration["IntegrationHttpMethod"] == "POST"
        uri_parts = integration["Uri"]["Fn::Join"][1]
        (fn_id,) = [x["Fn::GetAtt"][0] for x in uri_parts if isinstance(x, dict) and "Fn::GetAtt" in x]
        methods[(p["HttpMethod"], path_of(p["ResourceId"]))] = fn_id
    assert methods == {
        ("GET", "/health"): dev.function_ids["webhook_api"],
        ("POST", "/v1/webhooks/{source}"): dev.function_ids["webhook_api"],
        ("POST", "/v1/approvals/{approvalId}"): dev.function_ids["approval_api"],
        ("GET", "/v1/atp/{itemId}/{locationId}"): dev.function_ids["atp_api"],
        ("POST", "/v1/shipment-exceptions/{caseId}/resolution"): dev.function_ids["exception_api"],
        ("POST", "/v1/connectors/{name}/events"): dev.function_ids["connector_events"],
    }

    (stage_id,) = dev.of_type("AWS::ApiGateway::Stage")
    stage = dev.props(stage_id)
    assert stage["StageName"] == "dev"
    assert stage["TracingEnabled"] is True
    assert "DestinationArn" in stage["AccessLogSetting"]
    assert json.loads(stage["AccessLogSetting"]["Format"])["requestId"] == "$context.requestId"
    settings = {(m["ResourcePath"], m["HttpMethod"]): m for m in stage["MethodSettings"]}
    assert set(settings) == {("/*", "*"), ("/~1v1~1webhooks~1{source}", "POST")}
    for method in settings.values():  # a method's own settings replace the stage's: logging repeated
        assert method["LoggingLevel"] == "INFO" and method["MetricsEnabled"] is True
        assert method["DataTraceEnabled"] is False
    default = settings[("/*", "*")]
    assert (default["ThrottlingRateLimit"], default["ThrottlingBurstLimit"]) == (100, 200)
    assert len(dev.of_type("AWS::ApiGateway::Account")) == 1  # execution logging needs the CloudWatch role


def test_methods_with_path_parameters_have_them_validated(dev: Synth) -> None:
    (validator_id,) = dev.of_type("AWS::ApiGateway::RequestValidator")
    validator = dev.props(validator_id)
    assert (validator["ValidateRequestParameters"], validator["ValidateRequestBody"]) == (True, False)
    resources = dev.of_type("AWS::ApiGateway::Resource")

    def path_of(ref: dict) -> str:
        if "Fn::GetAtt" in ref:
            return ""
        props = resources[ref["Ref"]]["Properties"]
        return f"{path_of(props['ParentId'])}/{props['PathPart']}"

    methods = {
        (p["HttpMethod"], path_of(p["ResourceId"])): p
        for p in (m["Properties"] for m in dev.of_type("AWS::ApiGateway::Method").values())
    }
    expected = {
        ("GET", "/health"): [],
        ("POST", "/v1/webhooks/{source}"): ["source"],
        ("POST", "/v1/approvals/{approvalId}"): ["approvalId"],
        ("GET", "/v1/atp/{itemId}/{locationId}"): ["itemId", "locationId"],
        ("POST", "/v1/shipment-exceptions/{caseId}/resolution"): ["caseId"],
        ("POST", "/v1/connectors/{name}/events"): ["name"],
    }
    assert set(methods) == set(expected)
    for key, names in expected.items():
        p = methods[key]
        if not names:
            assert "RequestParameters" not in p and "RequestValidatorId" not in p, key
            continue
        # every parameter of the path is required, and the validator checks them before the function runs
        assert p["RequestParameters"] == {f"method.request.path.{n}": True for n in names}, key
        assert p["RequestValidatorId"] == {"Ref": validator_id}, key
        assert sorted(re.findall(r"\{(\w+)\}", key[1])) == sorted(names), key


def test_every_source_and_role_has_its_own_generated_signing_key(dev: Synth) -> None:
    """One generated secret per partner source and API role (issue 12, finding 1), tagged with its name, plus
    the legacy shared key kept for in-place updates."""
    signs_as = {}
    for secret_id, secret in dev.of_type("AWS::SecretsManager::Secret").items():
        generate = secret["Properties"]["GenerateSecretString"]
        assert generate["ExcludePunctuation"] is True and generate["PasswordLength"] == 48
        assert "SecretString" not in secret["Properties"]  # generated by AWS, never a value in the template
        tags = {t["Key"]: t["Value"] for t in secret["Properties"].get("Tags", [])}
        signs_as[secret_id] = tags.get("distsync:signing-key")
    legacy = dev.logical_id(dev.stack.node.find_child("WebhookSecret").secret)
    assert signs_as.pop(legacy) is None
    assert sorted(signs_as.values()) == sorted(
        ["erp", "planning", "wms", "tms", "supplier", "channels", "planners", "operations"])


def test_alarm_topic_uses_a_rotating_cmk_usable_by_cloudwatch(dev: Synth) -> None:
    alarm_topic = dev.stack.platform.alarm_topic
    topic_id, key_id = dev.logical_id(alarm_topic), dev.logical_id(alarm_topic.node.scope.key)
    assert dev.props(topic_id)["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    key = dev.props(key_id)
    assert key["EnableKeyRotation"] is True
    assert any(
        s["Principal"] == {"Service": "cloudwatch.amazonaws.com"} and "kms:GenerateDataKey*" in s["Action"]
        for s in key["KeyPolicy"]["Statement"]
    )
    topic_policy = next(p for p in dev.of_type("AWS::SNS::TopicPolicy").values()
                        if {"Ref": topic_id} in p["Properties"]["Topics"])
    assert any(
        s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
        for s in topic_policy["Properties"]["PolicyDocument"]["Statement"]
    )


def test_outputs(dev: Synth) -> None:
    assert OUTPUTS <= set(dev.tpl["Outputs"])
    outputs = dev.tpl["Outputs"]
    assert outputs["EventBusName"]["Value"] == {"Ref": dev.logical_id(dev.stack.platform.bus)}
    assert outputs["MasterDataTableName"]["Value"] == {"Ref": dev.table_ids["masterdata"]}
    assert outputs["ApprovalStateMachineArn"]["Value"] == {"Ref": dev.logical_id(dev.stack.platform.state_machines["approval"])}
    assert outputs["ExceptionStateMachineArn"]["Value"] == {
        "Ref": dev.logical_id(dev.stack.platform.state_machines["shipment-exception"])
    }
    for output_id, table in (
        ("InventoryTableName", "inventory"),
        ("OrdersTableName", "orders"),
        ("ExceptionCasesTableName", "exception_cases"),
    ):
        assert outputs[output_id]["Value"] == {"Ref": dev.table_ids[table]}, output_id


def test_context_flows_into_names_environment_retention_and_policies(prod: Synth) -> None:
    # synth_support.PROD_CONTEXT: values as `cdk synth -c key=value` gives them, i.e. strings
    assert prod.stack.stack_name == "distsync-prod"
    (bus_id,) = prod.of_type("AWS::Events::EventBus")
    assert prod.props(bus_id)["Name"] == "distsync-prod"
    (archive_id,) = prod.of_type("AWS::Events::Archive")
    assert prod.props(archive_id)["RetentionDays"] == 30

    planning = prod.props(prod.function_ids["planning_transformer"])["Environment"]["Variables"]
    assert planning["APPROVAL_THRESHOLD_PERCENT"] == "35"
    assert planning["MAX_RECEIVE_COUNT"] == "5"
    assert planning["STAGE"] == "prod"
    erp = prod.props(prod.function_ids["erp_updater"])["Environment"]["Variables"]
    assert erp["ERP_BASE_URL"] == "https://erp.example.com/api"

    planning_sync = prod.logical_id(prod.stack.platform.pipelines["PlanningSyncPipeline"].queue)
    for lid, q in prod.of_type("AWS::SQS::Queue").items():
        if "RedrivePolicy" in q["Properties"]:
            # planningSyncMaxReceiveCount for the planning sync queue, maxReceiveCount for every other one
            expected = 50 if lid == planning_sync else 5
            assert q["Properties"]["RedrivePolicy"]["maxReceiveCount"] == expected, lid
    for lg in prod.of_type("AWS::Logs::LogGroup").values():
        assert lg["Properties"]["RetentionInDays"] == 90
    for table_id in prod.table_ids.values():
        assert prod.resources[table_id]["DeletionPolicy"] == "Retain"
    assert json.loads(_definition(prod))["States"]["RequestPlannerDecision"]["TimeoutSeconds"] == 3600
    (stage_id,) = prod.of_type("AWS::ApiGateway::Stage")
    assert prod.props(stage_id)["StageName"] == "prod"
