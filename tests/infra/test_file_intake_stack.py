"""The partner file slice (infra/platform/file_landing.py, infra/domains/files.py): the landing
bucket (encryption, versioning, access logs, lifecycle rules, EventBridge notifications), the intake pipeline
on the account's default bus filtered to that bucket and inbound/, one file per invocation, the partner
registry in FILE_PARTNERS, the file registry table and the outputs; context flowing through."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from synth_support import Synth, cdk_json_context

from distsync_core.files.intake import partner_profiles
from infra.config import DistsyncConfig

pytestmark = pytest.mark.infra

# one extra synth for the file context keys, as `cdk synth -c key=value` passes them (strings)
FILE_CONTEXT = {
    "fileArchiveTransitionDays": "30",
    "fileRejectedExpiryDays": "60",
    "fileMaxRecords": "5000",
    "filePartners": json.dumps({"initech-3pl": {"source": "wms", "senderIds": ["INITECH"], "formats": ["x12"],
                                                "itemQualifiers": ["VP", "SK"]}}),
}


def _bucket(s: Synth) -> dict[str, Any]:
    return s.props(s.logical_id(s.stack.platform.landing.bucket))


def _rules(s: Synth) -> dict[str, dict[str, Any]]:
    return {r["Id"]: r for r in _bucket(s)["LifecycleConfiguration"]["Rules"]}


def _env(s: Synth) -> dict[str, Any]:
    return s.props(s.function_ids["file_ingest"])["Environment"]["Variables"]


def test_the_landing_bucket_is_encrypted_private_versioned_logged_and_notifies_eventbridge(dev: Synth) -> None:
    bucket = _bucket(dev)
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"] == [
        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True}
    # a deleted inbound original (the intake copies, then deletes) stays recoverable
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    logs_id = dev.logical_id(dev.stack.platform.landing.access_logs)
    assert bucket["LoggingConfiguration"] == {"DestinationBucketName": {"Ref": logs_id}, "LogFilePrefix": "landing/"}
    # S3 -> EventBridge on the bucket itself (no custom-resource Lambda for notifications)
    assert bucket["NotificationConfiguration"] == {"EventBridgeConfiguration": {"EventBridgeEnabled": True}}
    assert not dev.of_type("Custom::S3BucketNotifications")
    # TLS only, on the bucket and its log bucket; the log bucket takes log delivery for this bucket only
    for bucket_id in (dev.logical_id(dev.stack.platform.landing.bucket), logs_id):
        (policy,) = [p["Properties"] for p in dev.of_type("AWS::S3::BucketPolicy").values()
                     if p["Properties"]["Bucket"] == {"Ref": bucket_id}]
        assert any(st["Effect"] == "Deny" and st["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
                   for st in policy["PolicyDocument"]["Statement"]), bucket_id
    logs = dev.props(logs_id)
    assert logs["LifecycleConfiguration"]["Rules"] == [
        {"ExpirationInDays": 365, "Id": "expire-access-logs", "Status": "Enabled"}]
    assert "LoggingConfiguration" not in logs and "NotificationConfiguration" not in logs


def test_lifecycle_rules_per_prefix_follow_cdk_json(dev: Synth) -> None:
    rules = _rules(dev)
    assert rules["archive-to-glacier-ir"] == {
        "Id": "archive-to-glacier-ir", "Prefix": "archive/", "Status": "Enabled",
        "Transitions": [{"StorageClass": "GLACIER_IR", "TransitionInDays": 90}]}  # fileArchiveTransitionDays
    assert rules["expire-rejected"] == {
        "Id": "expire-rejected", "Prefix": "rejected/", "Status": "Enabled", "ExpirationInDays": 365}
    assert rules["expire-acks"] == {
        "Id": "expire-acks", "Prefix": "outbound/", "Status": "Enabled", "ExpirationInDays": 365}
    assert rules["old-versions-and-uploads"] == {
        "Id": "old-versions-and-uploads", "Status": "Enabled", "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}}
    # nothing ever expires what a partner dropped under inbound/ or the kept originals under archive/
    for rule in rules.values():
        if rule.get("Prefix") in ("inbound/", "archive/"):
            assert "ExpirationInDays" not in rule, rule
    assert not any(rule.get("Prefix", "").startswith("inbound") for rule in rules.values())


def test_the_intake_pipeline_takes_object_created_under_inbound_from_the_default_bus(dev: Synth) -> None:
    pipeline = dev.stack.platform.pipelines["FileIntakePipeline"]
    queue_id = dev.logical_id(pipeline.queue)
    (rule,) = [r["Properties"] for r in dev.of_type("AWS::Events::Rule").values()
               if any(t["Arn"] == {"Fn::GetAtt": [queue_id, "Arn"]} for t in r["Properties"]["Targets"])]
    assert rule["EventBusName"] == "default"  # S3 sends to the account's default bus only
    assert rule["EventPattern"] == {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {"bucket": {"name": [{"Ref": dev.logical_id(dev.stack.platform.landing.bucket)}]},
                   "object": {"key": [{"prefix": "inbound/"}]}},
    }
    # what the intake writes (archive/, rejected/, outbound/) never matches: no loop
    (mapping,) = [m["Properties"] for m in dev.of_type("AWS::Lambda::EventSourceMapping").values()
                  if m["Properties"]["EventSourceArn"] == {"Fn::GetAtt": [queue_id, "Arn"]}]
    assert mapping["FunctionName"] == {"Ref": dev.function_ids["file_ingest"]}
    assert mapping["BatchSize"] == 1  # one file per invocation: a big file has the whole timeout
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    queue = dev.props(queue_id)
    assert queue["VisibilityTimeout"] == 6 * 120  # 6 x the function's timeout (2 minutes)
    assert queue["RedrivePolicy"] == {"deadLetterTargetArn": {"Fn::GetAtt": [dev.logical_id(pipeline.dlq), "Arn"]},
                                      "maxReceiveCount": 3}
    assert dev.props(dev.function_ids["file_ingest"])["Timeout"] == 120


def test_the_intake_function_gets_the_partner_registry_and_its_resources(dev: Synth) -> None:
    env = _env(dev)
    assert env["LANDING_BUCKET_NAME"] == {"Ref": dev.logical_id(dev.stack.platform.landing.bucket)}
    assert env["FILES_TABLE_NAME"] == {"Ref": dev.table_ids["files"]}
    assert env["MASTERDATA_TABLE_NAME"] == {"Ref": dev.table_ids["masterdata"]}
    assert env["EVENT_BUS_NAME"] == {"Ref": dev.logical_id(dev.stack.platform.bus)}
    partners = json.loads(env["FILE_PARTNERS"])
    assert partners == cdk_json_context()["filePartners"]
    assert env["FILE_MAX_RECORDS"] == "200000"  # context fileMaxRecords
    # and the function's own reader takes every configured partner as configured
    profiles = partner_profiles(env["FILE_PARTNERS"])
    assert set(profiles) == {"acme-3pl", "globex-supplier", "planning", "erp"}
    acme = profiles["acme-3pl"]
    assert (acme.source, acme.sender_ids, acme.receiver_ids) == ("wms", ("ACMEWMS",), ("DISTSYNC",))
    assert dict(acme.location_map) == {"ACME-E1": "DC-EAST", "ACME-W1": "DC-WEST"}
    assert sorted(acme.formats) == ["edifact", "x12"]
    assert (profiles["globex-supplier"].supplier_id, profiles["globex-supplier"].sender_ids) == ("SUP-1", ("1556150",))
    assert sorted(profiles["erp"].formats) == ["csv"] and profiles["planning"].source == "planning"


def test_the_file_registry_is_keyed_by_checksum_and_named_in_the_outputs(dev: Synth) -> None:
    table = dev.props(dev.table_ids["files"])
    assert table["KeySchema"] == [{"AttributeName": "checksum", "KeyType": "HASH"}]
    assert table["BillingMode"] == "PAY_PER_REQUEST" and table["SSESpecification"] == {"SSEEnabled": True}
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert "TimeToLiveSpecification" not in table  # a checksum is remembered for good: applied once, ever
    outputs = dev.tpl["Outputs"]
    assert outputs["LandingBucketName"]["Value"] == {"Ref": dev.logical_id(dev.stack.platform.landing.bucket)}
    assert outputs["FilesTableName"]["Value"] == {"Ref": dev.table_ids["files"]}


def test_file_context_flows_into_the_lifecycle_rules_and_the_partner_registry(synth: Any) -> None:
    s: Synth = synth(**FILE_CONTEXT)
    rules = _rules(s)
    assert rules["archive-to-glacier-ir"]["Transitions"] == [{"StorageClass": "GLACIER_IR", "TransitionInDays": 30}]
    assert rules["expire-rejected"]["ExpirationInDays"] == 60
    assert rules["expire-acks"]["ExpirationInDays"] == 60
    assert _env(s)["FILE_MAX_RECORDS"] == "5000"
    partners = json.loads(_env(s)["FILE_PARTNERS"])
    assert partners == json.loads(FILE_CONTEXT["filePartners"])  # replaces the defaults, not merged into them
    (profile,) = partner_profiles(_env(s)["FILE_PARTNERS"]).values()
    assert (profile.partner_id, profile.item_qualifiers) == ("initech-3pl", ("VP", "SK"))


@pytest.mark.parametrize("bad", [
    {"filePartners": json.dumps({"ACME": {"source": "wms"}})},  # ids are lowercase folder names
    {"filePartners": json.dumps({"acme-3pl": {"source": "warehouse"}})},  # not a webhook source
    {"filePartners": json.dumps({"acme-3pl": {"senderIds": ["ACMEWMS"]}})},  # no source
    {"filePartners": "not json"},
    {"fileArchiveTransitionDays": "0"},
    {"fileRejectedExpiryDays": "-1"},
    {"fileMaxRecords": "0"},
])
def test_invalid_file_context_fails_synth_early(bad: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        DistsyncConfig.from_node(cdk.App(context=bad).node)
