"""Context defaults, their validation, ASL rendering and the Docker-free layer build (no synth needed)."""

from __future__ import annotations

import json

import pytest
from synth_support import REPO_ROOT, cdk_json_context

from infra.config import CONTEXT_DEFAULTS, retention_days
from infra.domains.planning import ASL_PATH, render_definition
from infra.platform.shared_layer import build_shared_layer_dir

pytestmark = pytest.mark.infra


def test_cdk_json_carries_the_contract_defaults() -> None:
    cdk_json = json.loads((REPO_ROOT / "cdk.json").read_text())
    # machine-independent: the Makefile puts the venv first on PATH
    assert cdk_json["app"] == "python3 app.py"
    context = cdk_json_context()
    assert {k: context[k] for k in CONTEXT_DEFAULTS} == CONTEXT_DEFAULTS


def test_invalid_context_fails_synth_early() -> None:
    import aws_cdk as cdk

    from infra.config import DistsyncConfig

    for bad in (
        {"stage": "Prod_1"},
        {"approvalThresholdPercent": "0"},
        {"maxReceiveCount": "-1"},
        {"errorRatePercent": "0"},
        {"errorRatePercent": "100"},
        {"forecastToErpSlaSeconds": "-5"},
        {"dlqMaxAgeMinutes": "ten"},
        {"wafRateLimitPer5Min": "9"},  # AWS WAF's minimum is 10 per window
        {"webhookRateLimit": "0"},
        {"webhookRateLimit": "20000"},  # above the account throttle: would never apply
        {"webhookRateLimit": "300", "webhookBurstLimit": "200"},  # burst below one second's worth
        {"xraySdkSubsegments": "yes"},  # true or false only
        {"orderGapTimeoutSeconds": "0"},
        {"orderGapTimeoutSeconds": "901"},  # the gap timer is an SQS message delay: 15 minutes at most
    ):
        with pytest.raises(ValueError):
            DistsyncConfig.from_node(cdk.App(context=bad).node)
    with pytest.raises(ValueError):
        retention_days(31)


def test_concurrency_context_is_checked_against_what_lambda_accepts() -> None:
    import aws_cdk as cdk

    from infra.config import DistsyncConfig

    for bad in ({"erpMaxConcurrency": "1"}, {"wmsMaxConcurrency": "1001"}, {"webhookReservedConcurrency": "-1"}):
        with pytest.raises(ValueError, match="(?i)concurrency"):
            DistsyncConfig.from_node(cdk.App(context=bad).node)
    unreserved = DistsyncConfig.from_node(cdk.App(context={"decisionApiReservedConcurrency": "0"}).node)
    assert unreserved.decision_api_reserved_concurrency == 0


def test_a_bad_erp_landscape_fails_the_synth_with_the_reason() -> None:
    import json

    import aws_cdk as cdk

    from infra.config import DistsyncConfig

    def config(connections):
        return DistsyncConfig.from_node(cdk.App(context={"erpConnections": json.dumps(connections)}).node)

    s4 = {"name": "s4", "kind": "s4hana", "baseUrl": "https://s4", "secretName": "s", "locations": ["S4-*"]}
    for bad, reason in (
        ([], "non-empty"),
        ([{**s4, "kind": "sage"}], "kind must be one of"),
        ([s4, {**s4}], "unique lowercase name"),
        ([{**s4, "secretName": None}], "needs the secretName"),
        ([{**s4, "locations": []}], "location globs"),
        ([{**s4, "maxConcurrency": 1}], "2..1000"),
        ([{**s4, "baseUrl": None}], "baseUrl is required"),
    ):
        with pytest.raises(ValueError, match=reason):
            config(bad)
    landscape = config([s4, {"name": "rest", "kind": "rest", "locations": ["*"]}]).erp_connections
    assert landscape[1]["baseUrl"] == "https://erp.example.invalid/api"  # a rest connection takes erpBaseUrl


def test_a_bad_freeze_window_fails_the_synth_with_the_reason() -> None:
    import json

    import aws_cdk as cdk

    from infra.config import DistsyncConfig

    def config(windows):
        return DistsyncConfig.from_node(cdk.App(context={"freezeWindows": json.dumps(windows)}).node)

    mrp = {"name": "mrp-run", "schedule": "cron(0 1 * * ? *)", "durationMinutes": 90,
           "scope": {"connections": ["rest"], "locations": ["DC-*"]}}
    for bad, reason in (
        ({**mrp, "schedule": "cron(0 1 * * ?)"}, "needs 6 fields"),
        ({**mrp, "schedule": "cron(0 1 L * ? *)"}, "not supported"),
        ({**mrp, "schedule": "rate(1 day)"}, "schedule must be cron"),
        ({**mrp, "durationMinutes": 0}, "durationMinutes must be a whole number"),
        ({**mrp, "scope": {"connections": ["s4"]}}, "no ERP connection named s4"),
        ({**mrp, "scope": {"plants": ["1000"]}}, "connections and/or locations"),
    ):
        with pytest.raises(ValueError, match=reason):
            config([bad])
    assert config([mrp]).freeze_windows == [mrp]


def test_xray_sdk_subsegments_flag_from_cdk_json_or_the_command_line() -> None:
    import aws_cdk as cdk

    from infra.config import DistsyncConfig

    assert DistsyncConfig.from_node(cdk.App(context={}).node).xray_sdk_subsegments is False
    for value, expected in ((True, True), (False, False), ("true", True), ("False", False), ("", False)):
        config = DistsyncConfig.from_node(cdk.App(context={"xraySdkSubsegments": value}).node)
        assert config.xray_sdk_subsegments is expected, value


def test_render_definition_replaces_every_placeholder() -> None:
    text = render_definition(
        ASL_PATH.read_text(),
        request_function_arn="arn:req",
        outcome_function_arn="arn:out",
        timeout_seconds=60,
    )
    states = json.loads(text)["States"]
    assert states["RequestPlannerDecision"]["TimeoutSeconds"] == 60
    assert states["RequestPlannerDecision"]["Parameters"]["FunctionName"] == "arn:req"
    assert states["RecordOutcome"]["Parameters"]["FunctionName"] == "arn:out"
    with pytest.raises(ValueError, match="not found"):
        render_definition("{}", request_function_arn="a", outcome_function_arn="b", timeout_seconds=1)


def test_shared_layer_is_built_for_the_lambda_platform() -> None:
    site = build_shared_layer_dir() / "python"  # cached: no pip run while requirements are unchanged
    assert (site / "distsync_core" / "__init__.py").is_file()
    assert (site / "aws_lambda_powertools").is_dir()
    # binary wheels for CPython 3.13 on x86_64 Linux, whatever Python runs the synth
    assert list((site / "pydantic_core").glob("*.cpython-313-x86_64-linux-gnu.so"))
    assert not (REPO_ROOT / "layers" / "shared" / "python" / "pydantic_core").exists()
