"""Property-based: whatever the data, the webhook intake either accepts an event that its exported JSON
Schema also accepts, or rejects it with a 400 problem naming the failing fields under `data.`."""

import json
from datetime import UTC, datetime

import jsonschema
from hypothesis import given, settings
from hypothesis import strategies as st

from distsync.schemas import render_all
from distsync_core.platform.problems import ProblemError
from distsync_core.platform.signing import signed_headers
from distsync_core.platform.webhooks import accept

NOW = 1_800_000_000.0
SCHEMA = json.loads(render_all()["ReplenishmentRecommended-v1.json"])["properties"]["data"]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=80),
)
ids = st.one_of(st.from_regex(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$", fullmatch=True), st.text(max_size=70), scalars)
quantities = st.one_of(st.floats(min_value=0, max_value=1e9), st.integers(min_value=-5, max_value=10**10), scalars,
                       st.integers(min_value=0, max_value=99).map(str), st.booleans())  # "5" and true are not numbers
data = st.fixed_dictionaries(
    {},
    optional={
        "itemId": ids, "locationId": ids, "planningCycleId": ids,
        "recommendedSafetyStock": quantities, "recommendedReorderPoint": quantities,
        "unexpected": scalars,
    },
)


@settings(max_examples=300, deadline=None)
@given(data)
def test_accepted_means_schema_valid_and_rejected_means_named_fields(payload):
    raw = json.dumps({"eventType": "ReplenishmentRecommended", "eventVersion": "1",
                      "occurredAt": datetime(2026, 11, 27, tzinfo=UTC).isoformat(), "data": payload}).encode()
    headers = {"Content-Type": "application/json", **signed_headers("k", raw, NOW)}
    try:
        accepted = accept("planning", headers, raw, ["k"], NOW)
    except ProblemError as problem:
        assert problem.status == 400 and problem.errors
        assert all(e["field"].startswith("data") and e["message"] for e in problem.errors)
        assert not jsonschema.Draft4Validator(SCHEMA).is_valid(payload)
        return
    jsonschema.Draft4Validator(SCHEMA).validate(payload)
    assert accepted.envelope.data == accepted.data.model_dump(by_alias=True, mode="json")
