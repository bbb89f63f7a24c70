"""Encryption at rest: every resource type in the template is either checked here or holds no data.

A new resource type fails ``test_every_resource_type_is_classified`` until it is put in ``STORES_DATA``
(with its check below) or in ``HOLDS_NO_DATA`` on purpose.
"""

from __future__ import annotations

import pytest
from synth_support import Synth

pytestmark = pytest.mark.infra

# type -> how its data is encrypted at rest (docs/infrastructure-contract.md, "Encryption at rest")
STORES_DATA = {
    "AWS::SQS::Queue": "SQS-managed SSE (SqsManagedSseEnabled)",
    "AWS::DynamoDB::Table": "SSE with the AWS managed key aws/dynamodb (SSEEnabled)",
    "AWS::SNS::Topic": "customer-managed KMS keys (rotating): the alarm topic's, usable by CloudWatch; the "
                       "notification topics' (planners, operations)",
    "AWS::Events::Archive": "AWS owned key (EventBridge default; no KmsKeyIdentifier)",
    "AWS::Events::EventBus": "AWS owned key (EventBridge default; events in flight only)",
    "AWS::Logs::LogGroup": "CloudWatch Logs server-side encryption (always on, service-managed keys)",
    "AWS::SecretsManager::Secret": "the AWS managed key aws/secretsmanager (no KmsKeyId)",
    "AWS::StepFunctions::StateMachine": "AWS owned key (Step Functions default) for executions",
    "AWS::Lambda::Function": "environment variables with the AWS managed key aws/lambda (no secrets in them)",
    "AWS::Lambda::LayerVersion": "code stored by Lambda, encrypted at rest by the service",
    "AWS::S3::Bucket": "BucketEncryption required (the partner file landing bucket and its access logs: SSE-S3)",
}
HOLDS_NO_DATA = {
    "AWS::IAM::Role",
    "AWS::IAM::Policy",
    "AWS::KMS::Key",
    "AWS::SQS::QueuePolicy",
    "AWS::SNS::TopicPolicy",
    "AWS::SNS::Subscription",  # the alarm notifier's and the notificationEmails (addresses, no messages)
    "AWS::S3::BucketPolicy",  # TLS only; S3 server access log delivery (test_least_privilege)
    "AWS::Events::Rule",
    "AWS::EventSchemas::Registry",
    "AWS::EventSchemas::Schema",  # the public event contracts (schemas/*.json)
    "AWS::Lambda::Permission",
    "AWS::Lambda::EventSourceMapping",
    "AWS::ApiGateway::RestApi",
    "AWS::ApiGateway::Resource",
    "AWS::ApiGateway::Method",
    "AWS::ApiGateway::RequestValidator",
    "AWS::ApiGateway::Deployment",
    "AWS::ApiGateway::Stage",  # no cache cluster (a cache would need CacheDataEncrypted)
    "AWS::ApiGateway::Account",
    "AWS::ApiGateway::UsagePlan",  # limits only; the API keys on it are issued outside the stack (distsync keys)
    "AWS::ApiGateway::GatewayResponse",
    "AWS::Logs::MetricFilter",
    "AWS::CloudWatch::Alarm",
    "AWS::CloudWatch::Dashboard",
    "AWS::WAFv2::WebACL",
    "AWS::WAFv2::WebACLAssociation",
    "AWS::WAFv2::LoggingConfiguration",
    # the reconciliation schedule: its target input is a constant ({"trigger", "scheduledTime"}), encrypted
    # by EventBridge Scheduler with an AWS owned key (no KmsKeyArn)
    "AWS::Scheduler::Schedule",
}


def test_every_resource_type_is_classified(dev: Synth) -> None:
    types = {res["Type"] for res in dev.resources.values()}
    assert types - STORES_DATA.keys() - HOLDS_NO_DATA == set()


def test_queues_use_sse(dev: Synth) -> None:
    queues = dev.of_type("AWS::SQS::Queue")
    assert len(queues) == 2 * len(dev.stack.platform.pipelines) == 30  # fifteen pipelines, each a queue and a DLQ
    for lid, queue in queues.items():
        props = queue["Properties"]
        assert props.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in props, lid


def test_tables_use_sse(dev: Synth) -> None:
    for lid, table in dev.of_type("AWS::DynamoDB::Table").items():
        assert table["Properties"]["SSESpecification"]["SSEEnabled"] is True, lid


def test_topic_uses_a_rotating_key_of_this_stack(dev: Synth) -> None:
    for lid, topic in dev.of_type("AWS::SNS::Topic").items():
        key = topic["Properties"]["KmsMasterKeyId"]
        key_id = key["Fn::GetAtt"][0]
        assert dev.resources[key_id]["Type"] == "AWS::KMS::Key", lid
        assert dev.props(key_id)["EnableKeyRotation"] is True


def test_archive_bus_secret_and_state_machine_use_the_service_default_keys(dev: Synth) -> None:
    # Deliberate: the default keys (AWS owned / AWS managed) encrypt these; a customer-managed key would
    # need key policies for EventBridge, Step Functions and every reader. Changing that is a contract change.
    for kind, prop in (
        ("AWS::Events::Archive", "KmsKeyIdentifier"),
        ("AWS::Events::EventBus", "KmsKeyIdentifier"),
        ("AWS::SecretsManager::Secret", "KmsKeyId"),
        ("AWS::StepFunctions::StateMachine", "EncryptionConfiguration"),
    ):
        for lid, res in dev.of_type(kind).items():
            assert res["Properties"].get(prop) in (None, ""), (lid, prop)


def test_log_groups_have_retention_and_buckets_encryption(dev: Synth) -> None:
    for lid, group in dev.of_type("AWS::Logs::LogGroup").items():
        assert group["Properties"]["RetentionInDays"] > 0, lid
    for lid, bucket in dev.of_type("AWS::S3::Bucket").items():
        assert bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"], lid


def test_no_secret_values_in_function_environments(dev: Synth) -> None:
    for folder, fn_id in dev.function_ids.items():
        variables = dev.props(fn_id)["Environment"]["Variables"]
        for name in variables:
            assert not any(word in name for word in ("PASSWORD", "TOKEN", "KEY")) or name.endswith(("_ARN", "_ARNS")), (
                folder,
                name,
            )
        if "WEBHOOK_SECRET_ARN" in variables:  # the ARN (a Ref), never the value
            assert list(variables["WEBHOOK_SECRET_ARN"]) == ["Ref"], folder
