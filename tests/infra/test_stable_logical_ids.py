"""A deployed stack updates in place: CloudFormation replaces a resource whose logical id changes, and for a
stateful one that means an empty table, a lost queue backlog, a new API URL the partners don't know.

``snapshots/stateful_logical_ids.json`` holds the logical ids of every stateful resource of the dev stack as
deployed before the domain-slice restructure (issue 11). Each must still be in the template with its type;
new ones may be added (a new domain brings its own). Removing or renaming one on purpose (a migration with a
plan for its data) is done by rewriting the snapshot: ``python tests/infra/test_stable_logical_ids.py --write``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.infra

SNAPSHOT = Path(__file__).parent / "snapshots" / "stateful_logical_ids.json"

# What holds data or an identity others depend on (a URL, an ARN a partner or an operator was given).
STATEFUL_TYPES = (
    "AWS::DynamoDB::Table",
    "AWS::SQS::Queue",
    "AWS::S3::Bucket",
    "AWS::SecretsManager::Secret",
    "AWS::Events::EventBus",
    "AWS::Events::Archive",
    "AWS::StepFunctions::StateMachine",
    "AWS::KMS::Key",
    "AWS::SNS::Topic",
    "AWS::Logs::LogGroup",
    "AWS::EventSchemas::Registry",
    "AWS::EventSchemas::Schema",
    "AWS::Scheduler::Schedule",
    "AWS::ApiGateway::RestApi",
    "AWS::ApiGateway::Stage",
    "AWS::WAFv2::WebACL",
)


def stateful_ids(template: dict[str, Any]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {t: [] for t in STATEFUL_TYPES}
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] in found:
            found[resource["Type"]].append(logical_id)
    return {t: sorted(ids) for t, ids in found.items()}


def test_the_snapshot_covers_every_stateful_type_the_stack_has():
    snapshot = json.loads(SNAPSHOT.read_text())
    assert set(snapshot) == set(STATEFUL_TYPES)
    assert sum(len(ids) for ids in snapshot.values()) >= 100  # 11 tables, 28 queues, 30 log groups, ...


@pytest.mark.parametrize("resource_type", STATEFUL_TYPES)
def test_stateful_resources_keep_their_logical_ids(dev, resource_type):
    snapshot = json.loads(SNAPSHOT.read_text())[resource_type]
    now = stateful_ids(dev.tpl)[resource_type]
    missing = sorted(set(snapshot) - set(now))
    assert not missing, (
        f"{resource_type}: these logical ids are gone, so a deployed stack would replace them (and lose "
        f"their data or identity): {missing}. New ids in the template: {sorted(set(now) - set(snapshot))}"
    )


if __name__ == "__main__" and "--write" in sys.argv:
    sys.path.insert(0, str(Path(__file__).parent))
    from synth_support import synthesize

    SNAPSHOT.write_text(json.dumps(stateful_ids(synthesize({}).tpl), indent=1) + "\n")
    print(f"wrote {SNAPSHOT}")
