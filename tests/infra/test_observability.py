"""Operations: the trace table's business-key index, the dashboards and the business-threshold alarms."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
from synth_support import FOLDERS, Synth

from infra.platform.observability import Domain, Observability

pytestmark = pytest.mark.infra

PIPELINES = (
    "MasterdataPipeline",
    "PlanningPipeline",
    "ErpUpdatePipeline",
    "WarehouseNotificationPipeline",
    "InventoryPipeline",
    "PlanningSyncPipeline",
    "OrderIntakePipeline",
    "OrderPipeline",
    "OrderGapPipeline",
    "ShipmentPipeline",
    "SupplierPipeline",
    "ForecastPipeline",
    "CycleFilePipeline",
    "PostingRecorderPipeline",
    "FileIntakePipeline",
)
# dashboard key -> (pipelines, function folders, business metrics it must show)
DOMAIN_DASHBOARDS = {
    "masterdata": (["MasterdataPipeline"], ["masterdata_transformer"], {"RecordsQuarantined"}),
    "planning": (
        ["PlanningPipeline", "ForecastPipeline", "PlanningSyncPipeline"],
        [
            "planning_transformer",
            "forecast_transformer",
            "planning_sync",
            "approval_api",
            "approval_request",
            "approval_outcome",
        ],
        {
            "UpdatesAutoApproved",
            "ApprovalsStarted",
            "ApprovalsApproved",
            "ApprovalsRejected",
            "ApprovalTurnaround",
        },
    ),
    "erp-adapter": (
        ["ErpUpdatePipeline"], ["erp_updater", "freeze_windows"],
        {"ErpUpdatesApplied", "ErpUpdatesSuperseded", "ErpWritesHeld", "ForecastToErpLatency"},
    ),
    "warehouse": (["WarehouseNotificationPipeline"], ["warehouse_notifier"], {"RecordsDeadLettered"}),
    "inventory": (
        ["InventoryPipeline"],
        ["inventory_transformer", "atp_api", "inventory_accuracy"],
        {"StaleBalancesIgnored", "InventoryFreshness", "InventoryAccuracyPercent"},
    ),
    "orders": (
        ["OrderIntakePipeline", "OrderPipeline", "OrderGapPipeline"],
        ["order_router", "order_transformer", "order_gap"],
        {"OrderUpdatesOutOfOrder", "OrderUpdatesHeld", "OrderStatusPropagation"},
    ),
    "fulfillment": (
        ["ShipmentPipeline"],
        ["shipment_transformer", "shipment_exception_task", "exception_api"],
        {"ShipmentExceptionsOpened"},
    ),
    "supplier": (
        ["SupplierPipeline"],
        ["supplier_transformer", "supplier_performance"],
        {"PlanningExceptionsRaised", "StaleLeadTimesIgnored", "SupplierPerformanceMeasured"},
    ),
    "webhook-api": ([], ["webhook_api"], {"WebhooksAccepted"}),
    "forecast-cycles": (
        ["CycleFilePipeline"],
        ["cycle_starter", "cycle_prepare", "cycle_chunk", "cycle_summary"],
        {"CycleRowsRead", "CycleRowsChanged", "CycleRowsRejected", "CycleApprovalsRequired", "CyclesFailed",
         "CycleDuration"},
    ),
    "finance": (["PostingRecorderPipeline"], ["posting_recorder", "reconciliation"], {"ReconciliationMismatches"}),
    "partner-files": (["FileIntakePipeline"], ["file_ingest"], {"FilesProcessed", "FileTransactionsRejected"}),
    "connectors": ([], ["connector_events", "connector_sync"], set()),
    "planning-extracts": ([], ["planning_extract"], set()),
    "drift": ([], ["parameter_drift"], {"DriftChangedByHand", "DriftAppliedButLost", "DriftNeverApplied", "DriftInSync",
                                        "DriftNotCompared", "DriftCorrectionsSent"}),
    "notifications": ([], ["alarm_notifier"], set()),
}
# dashboard key -> the state machine it shows (DistsyncStack attribute, dotted for a construct's)
STATE_MACHINES = {  # dashboard -> key of its state machine in the platform's registry
    "planning": "approval",
    "fulfillment": "shipment-exception",
    "forecast-cycles": "forecast-cycle",
}
EMF = {"Namespace": "Distsync", "Dimensions": [{"Name": "service", "Value": "distsync"}]}


def _render(node: Any) -> str:
    """A Fn::Join'ed string with Ref/GetAtt rendered as <logicalId> / <logicalId.Attr>."""
    if isinstance(node, str):
        return node
    out = []
    for part in node["Fn::Join"][1]:
        if isinstance(part, str):
            out.append(part)
        elif "Ref" in part:
            out.append(f"<{part['Ref']}>")
        else:
            out.append("<{}.{}>".format(*part["Fn::GetAtt"]))
    return "".join(out)


def _dashboard(synth: Synth, key: str) -> tuple[str, dict[str, Any]]:
    props = synth.props(synth.logical_id(synth.stack.observability.dashboards[key]))
    return props["DashboardName"], json.loads(_render(props["DashboardBody"]))


def _metrics(body: dict[str, Any]) -> set[tuple[str, str, str]]:
    """(namespace, metric name, first dimension value) of every metric on the dashboard."""
    found = set()
    for widget in body["widgets"]:
        for metric in widget["properties"].get("metrics", []):
            if isinstance(metric[0], str) and metric[0] != ".":
                found.add((metric[0], metric[1], metric[3] if len(metric) > 3 else ""))
    return found


def _alarmed(body: dict[str, Any]) -> set[str]:
    """Names of the alarms on the dashboard's alarm-status widgets (referenced by ARN built from the name)."""
    names = set()
    for widget in body["widgets"]:
        for arn in widget["properties"]["alarms"] if widget["type"] == "alarm" else []:
            assert arn.startswith("arn:<AWS::Partition>:cloudwatch:<AWS::Region>:<AWS::AccountId>:alarm:"), (
                arn
            )
            names.add(arn.split(":alarm:", 1)[1])
    return names


def _alarm(synth: Synth, key: str) -> dict[str, Any]:
    return synth.props(synth.logical_id(synth.stack.observability.alarms[key]))


def _topic_ref(synth: Synth) -> dict[str, str]:
    return {"Ref": synth.logical_id(synth.stack.node.find_child("Alarms").topic)}


def test_trace_table_is_indexed_by_business_key(dev: Synth) -> None:
    p = dev.props(dev.table_ids["trace"])
    (index,) = p["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "byBusinessKey"
    assert index["KeySchema"] == [
        {"AttributeName": "businessKey", "KeyType": "HASH"},
        {"AttributeName": "at", "KeyType": "RANGE"},
    ]
    assert index["Projection"] == {"ProjectionType": "ALL"}
    assert {"AttributeName": "businessKey", "AttributeType": "S"} in p["AttributeDefinitions"]
    assert {"AttributeName": "at", "AttributeType": "S"} in p["AttributeDefinitions"]
    assert "ProvisionedThroughput" not in index  # on demand like the table


def test_one_dashboard_per_domain_plus_overview(dev: Synth) -> None:
    dashboards = dev.of_type("AWS::CloudWatch::Dashboard")
    names = {d["Properties"]["DashboardName"] for d in dashboards.values()}
    # plus the partners' use and throttles (test_partner_limits.py)
    assert names == {f"distsync-dev-{key}" for key in [*DOMAIN_DASHBOARDS, "overview", "partners"]}
    assert len(dashboards) == len(names)

    pipelines = dev.stack.platform.pipelines
    names = dev.stack.observability.alarm_names
    for key, (pipeline_ids, folders, business) in DOMAIN_DASHBOARDS.items():
        _, body = _dashboard(dev, key)
        metrics = _metrics(body)
        for pipeline_id in pipeline_ids:
            queue, dlq = (
                dev.logical_id(pipelines[pipeline_id].queue),
                dev.logical_id(pipelines[pipeline_id].dlq),
            )
            for queue_id in (queue, dlq):
                for name in ("ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage"):
                    assert ("AWS/SQS", name, f"<{queue_id}.QueueName>") in metrics, (key, queue_id, name)
        for folder in folders:
            fn = f"<{dev.function_ids[folder]}>"
            for name in ("Invocations", "Errors", "Duration", "Throttles"):
                assert ("AWS/Lambda", name, fn) in metrics, (key, folder, name)
        assert business <= {name for ns, name, _ in metrics if ns == "Distsync"}, key
        # the domain's own alarms are on it
        shown = _alarmed(body)
        for folder in folders:
            assert names[f"error-rate:{folder}"] in shown
        for pipeline_id in pipeline_ids:
            assert names[f"dlq-depth:{pipeline_id}"] in shown
            assert names[f"dlq-age:{pipeline_id}"] in shown

    _, planning = _dashboard(dev, "planning")
    sm = f"<{dev.logical_id(dev.stack.platform.state_machines['approval'])}>"
    assert ("AWS/States", "ExecutionsFailed", sm) in _metrics(planning)


def test_workflows_and_the_planning_sync_lag_alarm_are_on_their_domain_dashboards(dev: Synth) -> None:
    names = dev.stack.observability.alarm_names
    _, planning = _dashboard(dev, "planning")
    for key, state_machine in STATE_MACHINES.items():
        sm = f"<{dev.logical_id(dev.stack.platform.state_machines[state_machine])}>"
        for name in ("ExecutionsStarted", "ExecutionsFailed", "ExecutionsTimedOut"):
            assert ("AWS/States", name, sm) in _metrics(_dashboard(dev, key)[1]), (key, name)
    # planning sync's queue lag alarm is on its domain's dashboard (and the overview: every alarm)
    assert names["queue-lag:PlanningSyncPipeline"] == "distsync-dev-PlanningSyncPipeline-lag"
    assert names["queue-lag:PlanningSyncPipeline"] in _alarmed(planning)


def test_every_pipeline_and_function_is_on_exactly_one_domain_dashboard(dev: Synth) -> None:
    assert set(dev.stack.platform.pipelines) == set(PIPELINES)
    placed_pipelines = [p for pipelines, _, _ in DOMAIN_DASHBOARDS.values() for p in pipelines]
    assert sorted(placed_pipelines) == sorted(PIPELINES)
    placed_functions = [f for _, folders, _ in DOMAIN_DASHBOARDS.values() for f in folders]
    assert sorted(placed_functions) == sorted(FOLDERS)
    # and on no other domain dashboard than its own (the overview shows all of them)
    for key in DOMAIN_DASHBOARDS:
        shown = {dim for ns, _, dim in _metrics(_dashboard(dev, key)[1]) if ns == "AWS/Lambda"}
        expected = {f"<{dev.function_ids[folder]}>" for folder in DOMAIN_DASHBOARDS[key][1]}
        assert shown == expected, key


def test_overview_shows_api_every_dlq_and_the_slas(dev: Synth) -> None:
    _, body = _dashboard(dev, "overview")
    metrics = _metrics(body)
    for name in ("Count", "4XXError", "5XXError", "Latency"):
        assert ("AWS/ApiGateway", name, "distsync-dev") in metrics, name  # ApiName dimension
    for pipeline in dev.stack.platform.pipelines.values():
        dlq = f"<{dev.logical_id(pipeline.dlq)}.QueueName>"
        assert ("AWS/SQS", "ApproximateNumberOfMessagesVisible", dlq) in metrics
    assert {
        ("Distsync", "ForecastToErpLatency", "distsync"),
        ("Distsync", "ApprovalTurnaround", "distsync"),
        ("Distsync", "FailureRecoveryTime", "distsync"),  # emitted when a redriven message is delivered
    } <= metrics
    # SLA lines at the context thresholds (ms and s, the units the metrics are emitted in)
    annotations = {
        w["properties"]["title"].split(" ")[1]: w["properties"]["annotations"]["horizontal"][0]["value"]
        for w in body["widgets"]
        if w["properties"].get("title", "").startswith("SLA:")
    }
    assert annotations == {"ForecastToErpLatency": 900_000, "ApprovalTurnaround": 86_400}
    every_alarm = {a["Properties"]["AlarmName"] for a in dev.of_type("AWS::CloudWatch::Alarm").values()}
    assert _alarmed(body) == every_alarm
    # by name, never Fn::GetAtt: moto (the local runtime) creates dashboards but skips alarms
    assert "DeadLetterQueueAlarm" not in json.dumps(
        dev.props(dev.logical_id(dev.stack.observability.dashboards["overview"]))
    )


def _expected_alarms(synth: Synth, *, dlq_minutes: int, error_percent: float, sla_s: int, sla_h: int):
    """alarm key -> (plain metric or None for metric math, statistic key/value, threshold, alarm name)"""
    expected: dict[str, tuple[dict[str, Any] | None, tuple[str, str] | None, float, str]] = {}
    stage = synth.stack.config.stage
    platform = synth.stack.platform
    # one DLQ age alarm per owning team (10 queues an alarm), one error rate alarm per team (5 functions an alarm)
    for kind, owners, per_alarm, threshold in (("dlq-age", platform.pipeline_owners, 10, dlq_minutes * 60),
                                               ("error-rate", platform.function_owners, 5, error_percent)):
        for team in set(owners.values()):
            count = sum(1 for t in owners.values() if t == team)
            for chunk in range(-(-count // per_alarm)):
                suffix = f"-{chunk + 1}" if chunk else ""
                expected[f"{kind}:{team}{suffix}"] = (None, None, threshold, f"distsync-{stage}-{team}{suffix}-{kind}")
    expected["api-5xx-rate"] = (None, None, error_percent, f"distsync-{stage}-api-5xx-rate")
    expected["sla:forecast-to-erp"] = (
        {**EMF, "MetricName": "ForecastToErpLatency"},
        ("ExtendedStatistic", "p95"),
        sla_s * 1000,
        f"distsync-{stage}-forecast-to-erp-sla",
    )
    expected["sla:approval-turnaround"] = (
        {**EMF, "MetricName": "ApprovalTurnaround"},
        ("ExtendedStatistic", "p95"),
        sla_h * 3600,
        f"distsync-{stage}-approval-turnaround-sla",
    )
    return expected


def _assert_alarms(synth: Synth, **thresholds: Any) -> None:
    expected = _expected_alarms(synth, **thresholds)
    assert set(synth.stack.observability.alarms) == set(expected)
    topic = _topic_ref(synth)
    for key, (metric, statistic, threshold, name) in expected.items():
        p = _alarm(synth, key)
        assert p["AlarmName"] == name, key
        assert p["Threshold"] == threshold, key
        assert p["ComparisonOperator"] == "GreaterThanThreshold", key
        assert p["EvaluationPeriods"] == 1 and p["DatapointsToAlarm"] == 1, key
        assert p["TreatMissingData"] == "notBreaching", key
        assert p["AlarmActions"] == [topic], key
        assert "OKActions" not in p and "InsufficientDataActions" not in p, key
        if metric is not None:
            assert {k: p[k] for k in metric} == metric, key
            assert p[statistic[0]] == statistic[1], key
            assert "Metrics" not in p, key


def test_alarm_thresholds_default_from_cdk_json(dev: Synth) -> None:
    _assert_alarms(dev, dlq_minutes=60, error_percent=5, sla_s=900, sla_h=24)
    assert _alarm(dev, "sla:forecast-to-erp")["Period"] == 900
    assert _alarm(dev, "sla:approval-turnaround")["Period"] == 3600
    assert {m["MetricStat"]["Period"] for m in _alarm(dev, "dlq-age:masterdata")["Metrics"] if "MetricStat" in m} \
        == {300}


def test_each_teams_dlq_age_alarm_watches_every_dead_letter_queue_of_its_pipelines(dev: Synth) -> None:
    platform, names = dev.stack.platform, dev.stack.observability.alarm_names
    watched: dict[str, set[str]] = {}
    for key in dev.stack.observability.alarms:
        if key.startswith("dlq-age:"):
            props = _alarm(dev, key)
            assert [m["Expression"] for m in props["Metrics"] if "Expression" in m] == ["MAX(METRICS())"]
            queues = [m["MetricStat"]["Metric"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
                      for m in props["Metrics"] if "MetricStat" in m]
            assert len(queues) <= 10  # CloudWatch's limit of metrics in one alarm's math
            watched[props["AlarmName"]] = set(queues)
    for pipeline_id, pipeline in platform.pipelines.items():  # every DLQ, in its own team's alarm
        team = platform.pipeline_owners[pipeline_id]
        assert dev.logical_id(pipeline.dlq) in watched[names[f"dlq-age:{pipeline_id}"]]
        assert names[f"dlq-age:{pipeline_id}"].startswith(f"distsync-dev-{team}")


def test_alarm_thresholds_follow_string_context(prod: Synth) -> None:
    # synth_support.PROD_CONTEXT: dlqMaxAgeMinutes=30, errorRatePercent=2.5, forecastToErpSlaSeconds=600, ...
    _assert_alarms(prod, dlq_minutes=30, error_percent=2.5, sla_s=600, sla_h=8)
    _, overview = _dashboard(prod, "overview")
    assert any(
        a["value"] == 600_000
        for w in overview["widgets"]
        for a in w["properties"].get("annotations", {}).get("horizontal", [])
    )


def test_error_rates_are_errors_over_invocations_in_percent(dev: Synth) -> None:
    """Per owning team, the highest of its functions' error rates (5 functions an alarm: 10 metrics), and every
    function in its own team's alarm."""
    platform, names = dev.stack.platform, dev.stack.observability.alarm_names
    watched: dict[str, set[str]] = {}
    for key in dev.stack.observability.alarms:
        if not key.startswith("error-rate:"):
            continue
        metrics = _alarm(dev, key)["Metrics"]
        entries = {m["Id"]: m for m in metrics}
        (top,) = [m for m in metrics if m.get("ReturnData", True) is not False and "Expression" in m]
        rates = top["Expression"].removeprefix("MAX([").removesuffix("])").split(", ")
        stats = [m for m in metrics if "MetricStat" in m]
        assert len(stats) <= 10 and len(stats) == 2 * len(rates)
        functions = set()
        for rate in rates:
            i = rate.removeprefix("r")
            assert entries[rate]["Expression"] == f"100 * e{i} / n{i}"
            errors, invocations = entries[f"e{i}"]["MetricStat"], entries[f"n{i}"]["MetricStat"]
            assert (errors["Metric"]["MetricName"], invocations["Metric"]["MetricName"]) == ("Errors", "Invocations")
            assert errors["Metric"]["Dimensions"] == invocations["Metric"]["Dimensions"]
            assert (errors["Stat"], errors["Period"], invocations["Stat"]) == ("Sum", 300, "Sum")
            functions.add(errors["Metric"]["Dimensions"][0]["Value"]["Ref"])
        watched[names[key]] = functions
    for folder in FOLDERS:
        team = platform.function_owners[folder]
        assert names[f"error-rate:{folder}"].startswith(f"distsync-dev-{team}")
        assert dev.function_ids[folder] in watched[names[f"error-rate:{folder}"]]

    (expression, *inputs) = _alarm(dev, "api-5xx-rate")["Metrics"]
    assert expression["Expression"] == "100 * server_errors / requests"
    stats = {m["Id"]: m["MetricStat"] for m in inputs}
    api = [{"Name": "ApiName", "Value": "distsync-dev"}]
    for metric_id, name in (("server_errors", "5XXError"), ("requests", "Count")):
        assert stats[metric_id]["Metric"] == {
            "Namespace": "AWS/ApiGateway",
            "MetricName": name,
            "Dimensions": api,
        }
        assert (stats[metric_id]["Stat"], stats[metric_id]["Period"]) == ("Sum", 300)


def test_a_new_pipeline_gets_a_dashboard_and_an_unplaced_function_fails() -> None:
    consumer, extra = object(), object()
    pipelines = {
        "MasterdataPipeline": SimpleNamespace(function=consumer),
        "CreditCheckPipeline": SimpleNamespace(function=extra),
    }
    domains = Observability._complete(
        [Domain(key="masterdata", title="Master data", pipelines=("MasterdataPipeline",))],
        pipelines,  # type: ignore[arg-type]
        {"masterdata_transformer": consumer, "credit_check": extra},  # type: ignore[dict-item]
    )
    assert [(d.key, d.pipelines) for d in domains] == [
        ("masterdata", ("MasterdataPipeline",)),
        ("credit-check", ("CreditCheckPipeline",)),
    ]
    with pytest.raises(ValueError, match="on no domain dashboard"):
        Observability._complete([], {}, {"orphan": object()})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="unknown pipelines"):
        Observability._complete([Domain(key="x", title="x", pipelines=("Nope",))], {}, {})
