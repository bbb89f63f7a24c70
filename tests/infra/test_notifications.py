"""Notification topics: one per audience, encrypted with their own rotating key, TLS only; email subscribers
from context notificationEmails; alarms forwarded by the notifier; publishers and the console link wired."""

from __future__ import annotations

import pytest
from synth_support import Synth

pytestmark = pytest.mark.infra


def _topics(s: Synth) -> dict[str, str]:
    return {name: s.logical_id(topic) for name, topic in s.stack.platform.notifications.topics.items()}


def test_one_encrypted_tls_only_topic_per_audience(dev: Synth) -> None:
    topics = _topics(dev)
    assert set(topics) == {"planners", "operations"}
    key_id = dev.logical_id(dev.stack.platform.notifications.key)
    assert dev.props(key_id)["EnableKeyRotation"] is True
    policies = list(dev.of_type("AWS::SNS::TopicPolicy").values())
    for audience, topic_id in topics.items():
        assert dev.props(topic_id)["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}, audience
        [policy] = [p for p in policies if {"Ref": topic_id} in p["Properties"]["Topics"]]
        assert any(st["Effect"] == "Deny" and st.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
                   for st in policy["Properties"]["PolicyDocument"]["Statement"]), audience
        assert dev.tpl["Outputs"][f"{audience.capitalize()}TopicArn"]["Value"] == {"Ref": topic_id}


def _email_subscriptions(s: Synth) -> set[tuple[str, str]]:
    names = {v: k for k, v in _topics(s).items()}
    return {(names[sub["Properties"]["TopicArn"]["Ref"]], sub["Properties"]["Endpoint"])
            for sub in s.of_type("AWS::SNS::Subscription").values() if sub["Properties"]["Protocol"] == "email"}


def test_email_subscribers_come_from_context(dev: Synth, prod: Synth) -> None:
    assert _email_subscriptions(dev) == set()  # cdk.json: {}
    assert _email_subscriptions(prod) == {("planners", "planners@example.com"),
                                          ("planners", "lead-planner@example.com"), ("operations", "ops@example.com")}


def test_alarms_reach_the_notifier_and_the_messages_link_the_console(dev: Synth, prod: Synth) -> None:
    notifier = dev.function_ids["alarm_notifier"]
    alarm_topic = dev.logical_id(dev.stack.platform.alarm_topic)
    [sub] = [s["Properties"] for s in dev.of_type("AWS::SNS::Subscription").values()
             if s["Properties"]["Protocol"] == "lambda"]
    assert sub["TopicArn"] == {"Ref": alarm_topic} and sub["Endpoint"] == {"Fn::GetAtt": [notifier, "Arn"]}
    for s, url in ((dev, "http://127.0.0.1:8080"), (prod, "https://ops.example.com")):
        for folder in ("approval_request", "shipment_exception_task", "alarm_notifier"):
            assert s.props(s.function_ids[folder])["Environment"]["Variables"]["CONSOLE_URL"] == url, folder
    # the approval request reads the inventory slice's projection, declared after the planning slice
    env = dev.props(dev.function_ids["approval_request"])["Environment"]["Variables"]
    assert env["INVENTORY_TABLE_NAME"] == {"Ref": dev.table_ids["inventory"]}


@pytest.mark.parametrize(("value", "message"), [
    ('{"finance": ["a@example.com"]}', "unknown audience 'finance'"),
    ('{"planners": "a@example.com"}', "must be a list of email addresses"),
    ('{"planners": ["not-an-email"]}', "must be a list of email addresses"),
])
def test_bad_notification_emails_fail_the_synth(value: str, message: str) -> None:
    from infra.config import _notification_emails

    with pytest.raises(ValueError, match=message):
        _notification_emails(value)
