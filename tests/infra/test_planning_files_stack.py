"""File-based planning platforms (issue 14): the SFTP endpoint (infra/domains/sftp.py) synthesized with
``sftpPartners``, none without it; the planning extract's schedule (infra/domains/planning_extracts.py); the
manifest flag of the forecast cycles."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cdk_nag import AwsSolutionsChecks
from synth_support import Synth

pytestmark = pytest.mark.infra

KEY_A = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEx4mplE0nlyN0tAr3alK3yF0rT3st1ngPurp0s3s0nly planner@kinaxis"
KEY_B = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHs3c0ndK3yF0rR0tat10nAndN0th1ngEls3AtA11xx"
PARTNERS = {
    "kinaxis": {"publicKeys": [KEY_A, KEY_B]},  # homePrefix defaults to cycles/
    "o9-edi": {"publicKeys": [KEY_A], "homePrefix": "inbound/o9/"},
}


@pytest.fixture(scope="module")
def sftp(synth: Callable[..., Synth]) -> Synth:
    return synth(sftpPartners=json.dumps(PARTNERS), sftpSecurityPolicy="TransferSecurityPolicy-2023-05")


def _bucket_arn(s: Synth) -> dict[str, Any]:
    return {"Fn::GetAtt": [s.logical_id(s.stack.platform.landing.bucket), "Arn"]}


def _user(s: Synth, name: str) -> dict[str, Any]:
    (props,) = [r["Properties"] for r in s.of_type("AWS::Transfer::User").values() if r["Properties"]["UserName"] == name]
    return props


def test_no_partner_no_server(dev: Synth) -> None:
    assert dev.of_type("AWS::Transfer::Server") == {} and dev.of_type("AWS::Transfer::User") == {}
    assert not {"SftpServerId", "SftpEndpoint"} & set(dev.tpl["Outputs"])


def test_sftp_server_is_sftp_only_service_managed_on_s3_with_the_named_security_policy(sftp: Synth) -> None:
    ((server_id, server),) = sftp.of_type("AWS::Transfer::Server").items()
    p = server["Properties"]
    assert (p["Domain"], p["EndpointType"], p["IdentityProviderType"], p["Protocols"]) == (
        "S3", "PUBLIC", "SERVICE_MANAGED", ["SFTP"])
    assert p["SecurityPolicyName"] == "TransferSecurityPolicy-2023-05"  # context sftpSecurityPolicy
    (log_group_id,) = [lid for lid in sftp.of_type("AWS::Logs::LogGroup") if lid.startswith("PlanningSftp")]
    assert p["StructuredLogDestinations"] == [{"Fn::GetAtt": [log_group_id, "Arn"]}]
    logging_role = p["LoggingRole"]["Fn::GetAtt"][0]
    assert sftp.role_statements(logging_role) == [{
        "Action": ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
        "Effect": "Allow", "Resource": {"Fn::GetAtt": [log_group_id, "Arn"]}}]
    trust = sftp.props(logging_role)["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Principal"] == {"Service": "transfer.amazonaws.com"}
    assert set(trust["Condition"]) == {"StringEquals", "ArnLike"}  # confused deputy: this account's servers
    assert sftp.tpl["Outputs"]["SftpServerId"]["Value"] == {"Fn::GetAtt": [server_id, "ServerId"]}


def test_one_user_per_partner_with_a_logical_home_on_its_prefix_and_its_keys(sftp: Synth) -> None:
    bucket = {"Ref": sftp.logical_id(sftp.stack.platform.landing.bucket)}
    for name, prefix, keys in (("kinaxis", "cycles", [KEY_A, KEY_B]), ("o9-edi", "inbound/o9", [KEY_A])):
        user = _user(sftp, name)
        assert user["HomeDirectoryType"] == "LOGICAL"
        assert user["HomeDirectoryMappings"] == [{"Entry": "/", "Target": {"Fn::Join": ["", ["/", bucket, f"/{prefix}"]]}}]
        assert user["SshPublicKeys"] == keys
        assert "ServerId" in user and "Role" in user


def test_each_user_role_may_list_read_and_write_its_prefix_only(sftp: Synth) -> None:
    for name, prefix in (("kinaxis", "cycles/"), ("o9-edi", "inbound/o9/")):
        role_id = _user(sftp, name)["Role"]["Fn::GetAtt"][0]
        statements = sftp.role_statements(role_id)
        assert statements == [
            {"Action": "s3:ListBucket", "Effect": "Allow", "Resource": _bucket_arn(sftp),
             "Condition": {"StringLike": {"s3:prefix": [f"{prefix}*"]}}},
            {"Action": ["s3:GetObject", "s3:PutObject"], "Effect": "Allow",
             "Resource": {"Fn::Join": ["", [_bucket_arn(sftp), f"/{prefix}*"]]}},
        ], name
        trust = sftp.props(role_id)["AssumeRolePolicyDocument"]["Statement"][0]
        assert trust["Principal"] == {"Service": "transfer.amazonaws.com"}
        source = json.dumps(trust["Condition"]["ArnLike"]["aws:SourceArn"])
        assert ":user/" in source and "ServerId" in source  # users of this server only


def test_sftp_stack_passes_cdk_nag_and_cfn_lint(sftp: Synth, tmp_path: Path) -> None:
    report = AwsSolutionsChecks(verbose=True).validate_scope(sftp.stack)
    findings = [f"{v.severity} {v.rule_name}: {[r.construct_path for r in v.violating_resources]}"
                for v in report.violations]
    assert findings == [], "\n".join(findings)
    from cfnlint.api import ManualArgs, lint_file

    template_file = tmp_path / "sftp.template.json"
    template_file.write_text(json.dumps(sftp.tpl, separators=(",", ":")))  # as written (suppressTemplateIndentation)
    matches = lint_file(template_file, config=ManualArgs(regions=["us-east-1", "eu-central-1"]))
    assert [f"{m.rule.id} {m.message}" for m in matches if m.rule.id != "W3005"] == []


@pytest.mark.parametrize("bad", [
    {"ab": {"publicKeys": [KEY_A]}},  # user name too short
    {"kinaxis": {"publicKeys": []}},
    {"kinaxis": {"publicKeys": ["not a key"]}},
    {"kinaxis": {"publicKeys": [KEY_A], "homePrefix": "/cycles"}},
])
def test_bad_partners_fail_the_synth(synth: Callable[..., Synth], bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="sftpPartners"):
        synth(sftpPartners=json.dumps(bad))


def test_planning_extract_runs_on_its_schedule(dev: Synth) -> None:
    (p,) = [r["Properties"] for r in dev.of_type("AWS::Scheduler::Schedule").values()
            if r["Properties"]["Name"] == "distsync-dev-planning-extract"]
    assert (p["ScheduleExpression"], p["ScheduleExpressionTimezone"]) == ("cron(0 4 * * ? *)", "UTC")
    assert p["Target"]["Arn"] == {"Fn::GetAtt": [dev.function_ids["planning_extract"], "Arn"]}
    assert json.loads(p["Target"]["Input"])["scheduledTime"] == "<aws.scheduler.scheduled-time>"
    assert dev.tpl["Outputs"]["PlanningExtractFunctionName"]["Value"] == {"Ref": dev.function_ids["planning_extract"]}


def test_manifest_flag_reaches_the_starter(dev: Synth, synth: Callable[..., Synth]) -> None:
    def flag(s: Synth) -> str:
        return s.props(s.function_ids["cycle_starter"])["Environment"]["Variables"]["CYCLE_MANIFEST_REQUIRED"]

    assert flag(dev) == "false"  # existing deployments keep starting on the data file
    assert flag(synth(cycleManifestRequired="true")) == "true"
