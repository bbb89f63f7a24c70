"""Deprecation and sunset of contract versions: the decision at its edges, the header formats (RFC 9745,
RFC 8594, RFC 8288 links), the context's validation and the webhook intake's 410."""

import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from distsync_core.contracts import CONTRACTS, contract_for
from distsync_core.platform import lifecycle
from distsync_core.platform.lifecycle import Lifecycle, decide, http_date, lifecycles, sf_date
from distsync_core.platform.problems import Gone
from distsync_core.platform.signing import signed_headers
from distsync_core.platform.webhooks import accept

V1 = contract_for("InventoryBalanceChanged", "1")
DEPRECATED = datetime(2027, 1, 1, tzinfo=UTC)
SUNSET = datetime(2027, 6, 30, tzinfo=UTC)
TABLE = {("InventoryBalanceChanged", "1"): Lifecycle(DEPRECATED, SUNSET)}
SECOND = timedelta(seconds=1)
IMF_FIXDATE = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
                         r"\d{4} \d{2}:\d{2}:\d{2} GMT$")


@pytest.mark.parametrize(("now", "status"), [
    (DEPRECATED - SECOND, "current"),
    (DEPRECATED, "deprecated"),
    (SUNSET - SECOND, "deprecated"),
    (SUNSET, "sunset"),
    (SUNSET + timedelta(days=400), "sunset"),
])
def test_status_changes_exactly_at_the_deprecation_and_sunset_moments(now, status):
    assert decide(V1, now, TABLE).status == status


def test_a_version_without_lifecycle_is_current_and_gets_no_headers():
    decision = decide(contract_for("InventoryBalanceChanged", "2"), SUNSET, TABLE)
    assert (decision.status, decision.headers(), decision.successor) == ("current", {}, None)


def test_deprecated_version_headers_follow_the_rfcs():
    headers = decide(V1, DEPRECATED + SECOND, TABLE).headers()
    assert headers["Deprecation"] == "@1798761600"  # RFC 9651 Date: seconds since the epoch of 2027-01-01
    assert headers["Sunset"] == "Wed, 30 Jun 2027 00:00:00 GMT" and IMF_FIXDATE.match(headers["Sunset"])
    successor, policy = headers["Link"].split(", ")
    assert successor == ('<https://github.com/distsync/distsync/blob/main/schemas/InventoryBalanceChanged-v2.json>; '
                         'rel="successor-version"')
    assert policy.endswith('; rel="deprecation"; type="text/html"')


def test_an_announced_deprecation_is_told_before_it_applies():
    decision = decide(V1, DEPRECATED - timedelta(days=30), TABLE)
    assert decision.status == "current" and decision.headers()["Deprecation"] == "@1798761600"


def test_without_a_sunset_date_there_is_no_sunset_header():
    headers = decide(V1, DEPRECATED, {("InventoryBalanceChanged", "1"): Lifecycle(DEPRECATED)}).headers()
    assert set(headers) == {"Deprecation", "Link"}


def test_header_dates_are_utc_whole_seconds():
    moment = datetime(2027, 3, 1, 12, 30, 15, 999_000, tzinfo=UTC).astimezone(
        datetime.now().astimezone().tzinfo)
    assert sf_date(moment) == "@1803904215"
    assert http_date(moment) == "Mon, 01 Mar 2027 12:30:15 GMT"


def test_context_overrides_parse_dates_and_date_times():
    table = lifecycles(json.dumps({"InventoryBalanceChanged/1": {
        "deprecated": "2027-01-01", "sunset": "2027-06-30T12:00:00+02:00"}}))
    assert table[("InventoryBalanceChanged", "1")] == Lifecycle(DEPRECATED, datetime(2027, 6, 30, 10, tzinfo=UTC))


@pytest.mark.parametrize(("value", "reason"), [
    ({"Nope/1": {"deprecated": "2027-01-01"}}, "not a registered"),
    ({"InventoryBalanceChanged/7": {"deprecated": "2027-01-01"}}, "not a registered"),
    ({"InventoryBalanceChanged/2": {"deprecated": "2027-01-01"}}, "latest version"),
    ({"ItemUpserted/2": {"deprecated": "2027-01-01"}}, "latest version"),
    ({"InventoryBalanceChanged/1": {"deprecated": "01/01/2027"}}, "ISO date"),
    ({"InventoryBalanceChanged/1": {"deprecated": "2027-01-01T00:00:00"}}, "with an offset"),
    ({"InventoryBalanceChanged/1": {"deprecated": "2027-06-30", "sunset": "2027-06-30"}}, "after its deprecation"),
    ({"InventoryBalanceChanged/1": {"deprecated": "2027-06-30", "sunset": "2027-01-01"}}, "after its deprecation"),
    ({"InventoryBalanceChanged/1": {"sunset": "2027-06-30"}}, "no deprecation date"),
    ({"InventoryBalanceChanged/1": {"retired": "2027-06-30"}}, "'deprecated' and 'sunset'"),
    ({"InventoryBalanceChanged/1": {}}, "'deprecated' and 'sunset'"),
    ([], "JSON object"),
])
def test_bad_context_is_refused_with_the_reason(value, reason):
    with pytest.raises(ValueError, match=reason):
        lifecycles(json.dumps(value))


def test_the_registry_itself_obeys_the_rules():
    lifecycles()  # raises if a registered deprecation were on a latest version or out of order
    for contract in CONTRACTS.values():
        assert (contract.sunset is None or contract.deprecated is not None)


def test_the_deployed_table_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv(lifecycle.ENVIRONMENT_VARIABLE, '{"InventoryBalanceChanged/1": {"deprecated": "2027-01-01"}}')
    assert lifecycle.deployed_lifecycles()[("InventoryBalanceChanged", "1")].deprecated == DEPRECATED
    monkeypatch.delenv(lifecycle.ENVIRONMENT_VARIABLE)
    assert ("InventoryBalanceChanged", "1") not in lifecycle.deployed_lifecycles()


# ------------------------------------------------------------------ the webhook intake
SECRET = "s3cret"
BALANCE = {"itemId": "SKU-1", "locationId": "DC-1", "onHand": 5, "allocated": 0, "inTransit": 0,
           "asOf": "2026-11-27T00:00:00+00:00", "sourceSystem": "erp"}


def post(data, now: datetime, version="1"):
    raw = json.dumps({"eventType": "InventoryBalanceChanged", "eventVersion": version,
                      "occurredAt": "2026-11-27T00:00:00+00:00", "data": data}).encode()
    headers = {"content-type": "application/json", **signed_headers(SECRET, raw, now.timestamp())}
    return accept("erp", headers, raw, [SECRET], now.timestamp(), TABLE)


def test_a_deprecated_version_is_accepted_with_its_decision():
    accepted = post(BALANCE, DEPRECATED)
    assert accepted.deprecation is not None and accepted.deprecation.status == "deprecated"
    assert accepted.envelope.metadata.event_version == "1"  # published as posted; consumers upcast


def test_a_sunset_version_is_410_naming_the_successor_before_its_data_is_read():
    with pytest.raises(Gone) as info:
        post({"not": "a balance"}, SUNSET)
    body = info.value.body()
    assert body["status"] == 410 and body["type"].endswith("#gone")
    assert body["successorVersion"] == "2" and body["successorSchemaName"] == "InventoryBalanceChanged-v2"
    assert body["successorSchema"].endswith("/schemas/InventoryBalanceChanged-v2.json")
    assert "sunset on 2027-06-30 00:00 UTC" in body["detail"] and "eventVersion '2'" in body["detail"]


def test_the_successor_is_accepted_after_the_sunset():
    accepted = post({**BALANCE, "lots": []}, SUNSET, version="2")
    assert accepted.deprecation is not None and accepted.deprecation.status == "current"
    assert accepted.deprecation.headers() == {}


def test_registry_dates_apply_and_context_overrides_them_field_by_field(monkeypatch):
    import dataclasses
    from datetime import date

    key = ("InventoryBalanceChanged", "1")
    registered = dataclasses.replace(V1, deprecated=date(2027, 1, 1), sunset=date(2027, 12, 31))
    monkeypatch.setitem(lifecycle.CONTRACTS, key, registered)
    assert lifecycles()[key] == Lifecycle(DEPRECATED, datetime(2027, 12, 31, tzinfo=UTC))
    # the deployment moves the sunset earlier and keeps the registry's deprecation
    assert lifecycles('{"InventoryBalanceChanged/1": {"sunset": "2027-06-30"}}')[key] == Lifecycle(DEPRECATED, SUNSET)
    with pytest.raises(ValueError, match="after its deprecation"):
        lifecycles('{"InventoryBalanceChanged/1": {"deprecated": "2028-01-01"}}')
