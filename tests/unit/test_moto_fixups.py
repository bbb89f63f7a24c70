"""The template fix-ups for moto's CloudFormation change only what they say."""

import json

from distsync.local.moto_backend import fix_template

TEMPLATE = {
    "Resources": {
        "Bus": {"Type": "AWS::Events::EventBus", "Properties": {"Name": "distsync-dev"}},
        "Archive": {"Type": "AWS::Events::Archive",
                    "Properties": {"SourceArn": {"Fn::GetAtt": ["Bus", "Arn"]}, "EventPattern": {"account": ["1"]}}},
        "Fn": {"Type": "AWS::Lambda::Function", "DependsOn": ["Role", "Mapping"],
               "Properties": {"Environment": {"Variables": {"BUS": {"Ref": "Bus"}, "SECRET": {"Ref": "Secret"}}}}},
        "Role": {"Type": "AWS::IAM::Role", "Properties": {}},
        "Mapping": {"Type": "AWS::Lambda::EventSourceMapping", "Properties": {}},
        "Secret": {"Type": "AWS::SecretsManager::Secret", "Properties": {}},
        "Key": {"Type": "AWS::KMS::Key", "Properties": {"Tags": [{"Key": "project", "Value": "distsync"}]}},
        "Alarm": {"Type": "AWS::CloudWatch::Alarm", "Properties": {}},
        "Dashboard": {"Type": "AWS::CloudWatch::Dashboard",
                      "Properties": {"DashboardBody": {"Fn::GetAtt": ["Alarm", "Arn"]}}},
        "Schedule": {"Type": "AWS::Scheduler::Schedule", "DependsOn": ["Role"],
                     "Properties": {"Target": {"Arn": {"Fn::GetAtt": ["Fn", "Arn"]}}}},
    },
    "Outputs": {"BusName": {"Value": {"Ref": "Bus"}}, "DashboardName": {"Value": {"Ref": "Dashboard"}},
                "ScheduleName": {"Value": {"Ref": "Schedule"}}},
    "Rules": {"CheckBootstrapVersion": {}},
}


def test_fix_ups():
    fixed = fix_template(TEMPLATE, created={"Secret": "arn:aws:secretsmanager:us-east-1:123456789012:secret:s"})
    res = fixed["Resources"]
    assert set(res) == {"Bus", "Archive", "Fn", "Role", "Key"}
    assert res["Fn"]["Properties"]["Environment"]["Variables"] == {
        "BUS": "distsync-dev", "SECRET": "arn:aws:secretsmanager:us-east-1:123456789012:secret:s"}
    assert res["Fn"]["DependsOn"] == ["Role"]
    assert json.loads(res["Archive"]["Properties"]["EventPattern"]) == {"account": ["1"]}
    assert res["Archive"]["Properties"]["SourceArn"] == {"Fn::GetAtt": ["Bus", "Arn"]}
    assert res["Key"]["Properties"]["Tags"] == [{"TagKey": "project", "TagValue": "distsync"}]
    assert fixed["Outputs"] == {"BusName": {"Value": "distsync-dev"}}
    assert "Rules" not in fixed
    assert "Mapping" in TEMPLATE["Resources"]  # the synthesized template itself is untouched


def test_fifo_queues_without_a_name_get_one_ending_in_fifo():
    template = {"Resources": {
        "OrdersQueue": {"Type": "AWS::SQS::Queue", "Properties": {"FifoQueue": True}},
        "NamedQueue": {"Type": "AWS::SQS::Queue", "Properties": {"FifoQueue": True, "QueueName": "mine.fifo"}},
        "StandardQueue": {"Type": "AWS::SQS::Queue", "Properties": {}},
    }}
    res = fix_template(template)["Resources"]
    assert res["OrdersQueue"]["Properties"]["QueueName"] == "OrdersQueue.fifo"
    assert res["NamedQueue"]["Properties"]["QueueName"] == "mine.fifo"
    assert "QueueName" not in res["StandardQueue"]["Properties"]


def test_what_the_runtime_runs_itself_is_left_out_and_unlinked():
    """The SFTP server and users (the runtime's own SFTP server serves them); a role naming the server's id
    keeps a placeholder, as moto refuses a Ref/GetAtt to an undefined resource."""
    template = {"Resources": {
        "Server": {"Type": "AWS::Transfer::Server", "Properties": {}},
        "User": {"Type": "AWS::Transfer::User", "Properties": {"ServerId": {"Fn::GetAtt": ["Server", "ServerId"]}}},
        "Role": {"Type": "AWS::IAM::Role", "Properties": {"Arn": {"Fn::Join": ["", ["user/", {"Fn::GetAtt": [
            "Server", "ServerId"]}, "/*"]]}}},
    }, "Outputs": {"SftpServerId": {"Value": {"Fn::GetAtt": ["Server", "ServerId"]}}}}
    fixed = fix_template(template)
    assert set(fixed["Resources"]) == {"Role"} and "SftpServerId" not in fixed["Outputs"]
    assert fixed["Resources"]["Role"]["Properties"]["Arn"] == {"Fn::Join": ["", ["user/", "local-Server", "/*"]]}
