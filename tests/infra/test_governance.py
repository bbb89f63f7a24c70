"""Ownership and contract lifecycle in the template: every alarm says whom to wake, every schema in the
registry names its owner, the webhook intake gets the deployment's lifecycle; the context is checked at synth."""

from __future__ import annotations

import json
import re

import aws_cdk as cdk
import pytest
from synth_support import PROD_CONTEXT

from distsync_core.contracts import CONTRACTS, TEAMS
from infra.config import DEFAULT_OWNERS, DistsyncConfig
from infra.domains import slices

pytestmark = pytest.mark.infra

OWNER = re.compile(r"Owner: (?P<team>[a-z-]+) \((?P<contact>[^)]+)\)")


def _text(value) -> str:
    """An alarm description may be a plain string or an Fn::Join (it names the stack)."""
    if isinstance(value, str):
        return value
    parts = value["Fn::Join"][1]
    return "".join(p if isinstance(p, str) else "<ref>" for p in parts)


def test_the_infra_and_the_registry_know_the_same_teams():
    assert DEFAULT_OWNERS == {team: owner.contact for team, owner in TEAMS.items()}
    assert {module.OWNER for module in slices()} <= set(DEFAULT_OWNERS)


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_every_alarm_description_names_its_owner_and_contact(stage, dev, prod):
    synth, contacts = (dev, DEFAULT_OWNERS) if stage == "dev" else (
        prod, {**DEFAULT_OWNERS, **json.loads(PROD_CONTEXT["owners"])})
    alarms = synth.of_type("AWS::CloudWatch::Alarm")
    assert len(alarms) > 30
    for logical_id, alarm in alarms.items():
        found = OWNER.search(_text(alarm["Properties"]["AlarmDescription"]))
        assert found, f"{logical_id} names no owner"
        assert contacts[found["team"]] == found["contact"], logical_id


def test_alarms_name_the_team_of_the_slice_that_declared_them(prod):
    alarms = {_text(a["Properties"]["AlarmName"]): _text(a["Properties"]["AlarmDescription"])
              for a in prod.of_type("AWS::CloudWatch::Alarm").values()}
    inventory = [d for n, d in alarms.items() if n.endswith("InventoryPipeline-dlq-depth")]
    assert inventory and inventory[0].endswith("Owner: inventory (@inventory-pager)")
    assert alarms["distsync-prod-reconciliation-mismatches"].endswith(
        "Owner: finance (finance-escalation@example.com)")
    assert alarms["distsync-prod-api-5xx-rate"].endswith("Owner: integration-platform (integration-oncall@example.com)")


def test_every_schema_in_the_registry_names_its_owner(prod):
    schemas = prod.of_type("AWS::EventSchemas::Schema")
    assert len(schemas) == len(CONTRACTS)  # one per registered version
    for schema in schemas.values():
        props = schema["Properties"]
        meta = json.loads(props["Content"])["x-distsync"]
        team = meta["owner"]["team"]
        assert {"Key": "owner", "Value": team} in props["Tags"]
        contact = {**DEFAULT_OWNERS, **json.loads(PROD_CONTEXT["owners"])}[team]
        assert f"Owner: {team} ({contact})" in props["Description"]
    [v1] = [s["Properties"] for s in schemas.values() if s["Properties"]["SchemaName"] == "InventoryBalanceChanged-v1"]
    assert v1["Description"].endswith("deprecated 2027-01-01, sunset 2027-06-30")


def test_the_webhook_intake_gets_the_deployments_lifecycle(dev, prod):
    def lifecycle(synth):
        [env] = [f["Properties"]["Environment"]["Variables"] for f in synth.of_type("AWS::Lambda::Function").values()
                 if "CONTRACT_LIFECYCLE" in f["Properties"].get("Environment", {}).get("Variables", {})]
        return json.loads(env["CONTRACT_LIFECYCLE"])

    assert lifecycle(dev) == {}
    assert lifecycle(prod) == json.loads(PROD_CONTEXT["contractLifecycle"])


@pytest.mark.parametrize(("context", "reason"), [
    ({"contractLifecycle": '{"Nope/1": {"deprecated": "2027-01-01"}}'}, "not a registered"),
    ({"contractLifecycle": '{"InventoryBalanceChanged/2": {"deprecated": "2027-01-01"}}'}, "latest version"),
    ({"contractLifecycle": '{"InventoryBalanceChanged/1": {"deprecated": "1.1.2027"}}'}, "ISO date"),
    ({"contractLifecycle": '{"InventoryBalanceChanged/1": {"deprecated": "2027-02-01", "sunset": "2027-01-01"}}'},
     "after its deprecation"),
    ({"contractLifecycle": '{"InventoryBalanceChanged/1": {"sunset": "2027-01-01"}}'}, "no deprecation date"),
    ({"owners": '{"nobody": "a@example.com"}'}, "unknown team"),
    ({"owners": '{"finance": "call me maybe"}'}, "email, @handle or #channel"),
])
def test_bad_governance_context_fails_the_synth_with_the_reason(context, reason):
    with pytest.raises(ValueError, match=reason):
        DistsyncConfig.from_node(cdk.App(context=context).node)


def test_the_usage_counters_table_is_an_output_the_cli_reads(dev):
    table = dev.logical_id(dev.stack.platform.tables.idempotency)
    assert dev.tpl["Outputs"]["ContractUsageTableName"]["Value"] == {"Ref": table}
