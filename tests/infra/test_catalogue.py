"""The committed event catalogue is what the code and the synthesized template say today."""

import pytest

from distsync.catalogue import consumers, render
from distsync.local.assembly import Assembly
from distsync.local.synth import ROOT

pytestmark = pytest.mark.infra


@pytest.fixture(scope="module")
def assembly(dev) -> Assembly:
    """cdk.json's context, as `make catalogue` synthesizes it: this tier's synth, not one more."""
    return Assembly(dev.stack.stack_name, dev.tpl)


def test_committed_catalogue_is_current(assembly):
    committed = (ROOT / "docs" / "event-catalogue.md").read_text()
    assert committed == render(assembly), "run `make catalogue` and commit docs/event-catalogue.md"


def test_every_routed_type_has_a_contract_and_a_consumer(assembly):
    from distsync_core.contracts import CONTRACTS

    routed = consumers(assembly)
    known = {(c.bus_source, c.event_type) for c in CONTRACTS.values()}
    ours = {key for key in routed if not key[0].startswith("aws.")}  # AWS's own events have no contract of ours
    assert ours <= known, "a rule routes an event type that has no contract"
    assert sorted(routed[("aws.s3", "Object Created")]) == [
        "CycleFilePipeline -> CycleStarterFunction", "FileIntakePipeline -> FileIngestFunction"]
    assert routed[("distsync.planning", "ReplenishmentRecommended")] == [
        "PlanningPipeline -> PlanningTransformerFunction"]
