"""The Business Central kind against payloads written from Microsoft's public references (no live BC was
available): webhook notifications and the handshake (learn.microsoft.com .../api-reference/v2.0/
dynamics-subscriptions), OData v4 JSON with @odata.etag and @odata.nextLink, BC's error bodies
(.../webservices/dynamics-error-codes) and a JSON $batch answer (.../webservices/use-odata-batch)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

import pytest

from distsync_core.connectors.businesscentral import (
    STOCK_FIELDS,
    BusinessCentralConnector,
    ClientStateMismatch,
    CollectionChanged,
    Subscription,
    lead_time_days,
    parse_notification_body,
    parse_stock,
    validation_response,
)
from distsync_core.connectors.http import Answer, ClientCredentials
from distsync_core.connectors.port import (
    Conflict,
    ConnectorError,
    NotFound,
    PlanningParameters,
    Snapshot,
    StockBalance,
    WriteRequest,
)

COMPANY = "b18aed47-c385-49d2-b954-dbdf8ad71780"
BASE = "https://api.businesscentral.dynamics.com/v2.0/contoso-tenant/production"
SKUS = f"/api/distsync/planning/v1.0/companies({COMPANY})/stockkeepingUnits"

# the sample notification of Microsoft's "Working with webhooks" page: batched across subscriptions, with a
# collection entry (its clientState made ours)
DOC_SAMPLE = {"value": [
    {"subscriptionId": "webhookItemsId", "clientState": "someClientState",
     "expirationDateTime": "2018-10-29T07:52:31Z",
     "resource": "api/v2.0/companies(b18aed47-c385-49d2-b954-dbdf8ad71780)/items(26814998-936a-401c-81c1-0e848a64971d)",
     "changeType": "updated", "lastModifiedDateTime": "2018-10-26T12:54:20.467Z"},
    {"subscriptionId": "webhookCustomersId", "clientState": "someClientState",
     "expirationDateTime": "2018-10-29T12:50:30Z",
     "resource": "api/v2.0/companies(b18aed47-c385-49d2-b954-dbdf8ad71780)/customers(130bbd17-dbb9-4790-9b12-2b0e9c9d22c3)",
     "changeType": "created", "lastModifiedDateTime": "2018-10-26T12:54:26.057Z"},
    {"subscriptionId": "webhookCustomersId", "clientState": "someClientState",
     "expirationDateTime": "2018-10-29T12:50:30Z",
     "resource": "api/v2.0/companies(b18aed47-c385-49d2-b954-dbdf8ad71780)/customers(4b4f31f0-dc1c-4033-b2aa-ab03ca1d6ebc)",
     "changeType": "deleted", "lastModifiedDateTime": "2018-10-26T12:54:30.503Z"},
    {"subscriptionId": "salesInvoice", "clientState": "someClientState",
     "expirationDateTime": "2018-10-20T10:55:01Z",
     "resource": "/api/v2.0/companies(7dbba574-5f69-4167-a43e-fb975045de15)/salesInvoices?$filter=lastDateTimeModified%20gt%202018-10-15T11:00:00Z",
     "changeType": "collection", "lastModifiedDateTime": "2018-10-26T12:54:30.503Z"},
]}


def body(doc: Any) -> bytes:
    return json.dumps(doc).encode()


def row(sid: str, item: str, location: str, modified: str, ss: float = 10, rop: float = 20,
        etag: str = 'W/"JzQ0O0VnQUFBQUo3QlRJQU1BQXdBRFFBQUFBQUFBPT0xOzAwOyc="') -> dict[str, Any]:
    return {"@odata.etag": etag, "systemId": sid, "itemNo": item, "locationCode": location, "variantCode": "",
            "reorderPoint": rop, "safetyStockQuantity": ss, "leadTimeCalculation": "5D",
            "lastModifiedDateTime": modified}


class FakeHttp:
    """ConnectorHttp's surface, answering recorded payloads in order and keeping what was asked."""

    def __init__(self, *answers: tuple[int, Any] | tuple[int, Any, dict[str, str]]):
        self.base_url = BASE
        self.answers = list(answers)
        self.sent: list[dict[str, Any]] = []

    def request(self, method: str, path: str, *, body: Any = None, headers: Any = None,
                correlation_id: str | None = None, ok: tuple[int, ...] = (200, 201, 204)) -> Answer:
        self.sent.append({"method": method, "path": path, "body": body, "headers": dict(headers or {})})
        status, payload, *extra = self.answers.pop(0)
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        answer_headers = extra[0] if extra else {}
        return Answer(status, answer_headers, data, answer_headers.get("request-id"))


def connector(*answers: Any) -> tuple[BusinessCentralConnector, FakeHttp]:
    bc = BusinessCentralConnector("bc", BASE, lambda: {}, {"companyId": COMPANY})
    fake = FakeHttp(*answers)
    bc.http = fake  # type: ignore[assignment]
    return bc, fake


def write(ss: float = 11, rop: float = 22) -> WriteRequest:
    return WriteRequest("1896-S", "EAST", PlanningParameters(ss, rop), correlation_id="c-1")


# --------------------------------------------------------------------------------------------- notifications
def test_the_documented_sample_parses_with_every_change_type_batched_across_subscriptions():
    entries = parse_notification_body(body(DOC_SAMPLE), "someClientState")
    assert [(e.subscription_id, e.change_type) for e in entries] == [
        ("webhookItemsId", "updated"), ("webhookCustomersId", "created"), ("webhookCustomersId", "deleted"),
        ("salesInvoice", "collection")]


def test_a_body_with_a_byte_order_mark_still_parses():  # BC before version 19 sent one
    assert len(parse_notification_body(b"\xef\xbb\xbf" + body(DOC_SAMPLE), "someClientState")) == 4


@pytest.mark.parametrize("states", [["wrong"] * 4, ["someClientState"] * 3 + ["wrong"], ["someClientState"] * 3 + [None]])
def test_a_wrong_client_state_anywhere_in_the_batch_refuses_the_whole_body(states):
    doc = {"value": [dict(e, clientState=s) for e, s in zip(DOC_SAMPLE["value"], states, strict=True)]}
    with pytest.raises(ClientStateMismatch, match="clientState"):
        parse_notification_body(body(doc), "someClientState")


def test_without_a_configured_client_state_nothing_is_accepted():
    with pytest.raises(ClientStateMismatch):
        parse_notification_body(body(DOC_SAMPLE), "")


def test_a_wrong_client_state_is_refused_before_a_malformed_field_is_looked_at():
    doc = {"value": [{"clientState": "forged", "changeType": "nonsense"}]}
    with pytest.raises(ClientStateMismatch):
        parse_notification_body(body(doc), "someClientState")


@pytest.mark.parametrize(("raw", "names"), [
    (b"not json", "not JSON"),
    (body({"values": []}), "'value' must be a non-empty list"),
    (body({"value": []}), "'value' must be a non-empty list"),
    (body({"value": [dict(DOC_SAMPLE["value"][0], changeType=None)]}), r"value\[0\]\.changeType"),
    (body({"value": [DOC_SAMPLE["value"][0], dict(DOC_SAMPLE["value"][1], changeType="renamed")]}),
     r"value\[1\]\.changeType 'renamed'"),
    (body({"value": [dict(DOC_SAMPLE["value"][0], lastModifiedDateTime="yesterday")]}),
     r"value\[0\]\.lastModifiedDateTime is not a date-time"),
    (body({"value": [{k: v for k, v in DOC_SAMPLE["value"][0].items() if k != "resource"}]}), r"value\[0\]\.resource"),
])
def test_a_malformed_body_raises_connector_error_naming_the_field(raw, names):
    with pytest.raises(ConnectorError, match=names):
        parse_notification_body(raw, "someClientState")


def test_collection_becomes_a_marker_for_a_delta_pull_and_other_resources_read_nothing():
    bc, fake = connector()  # no answers: any read would fail the test
    changes = bc.parse_notification(body(DOC_SAMPLE), "someClientState")
    assert changes == [CollectionChanged("salesInvoice", DOC_SAMPLE["value"][3]["resource"], "2018-10-26T12:54:30.503Z")]
    assert fake.sent == []


def test_a_stockkeeping_unit_change_is_read_once_for_its_item_and_location():
    sid = "26814998-936a-401c-81c1-0e848a64971d"
    entry = dict(DOC_SAMPLE["value"][0], resource=f"api/distsync/planning/v1.0/companies({COMPANY})/stockkeepingUnits({sid})")
    bc, fake = connector((200, row(sid, "1896-S", "EAST", "2018-10-26T12:54:20.467Z", ss=7, rop=9)))
    changes = bc.parse_notification(body({"value": [entry, entry]}), "someClientState")  # BC may repeat one
    assert [(c.item_id, c.location_id, c.parameters) for c in changes] == [
        ("1896-S", "EAST", PlanningParameters(7, 9, 5))]
    assert [s["path"] for s in fake.sent] == [f"{SKUS}({sid})"]


# ----------------------------------------------------------------------------------------- the handshake
def test_the_validation_token_is_echoed_only_while_a_subscription_is_pending():
    query = parse_qs("validationToken=Zm9vYmFy-_42")
    assert validation_response(query, pending=True) == (200, "Zm9vYmFy-_42")
    assert validation_response({"validationToken": "abc"}, pending=True) == (200, "abc")
    assert validation_response(query, pending=False)[0] == 403
    assert validation_response({}, pending=True)[0] == 400
    assert validation_response({"validationToken": "a\r\nSet-Cookie: x"}, pending=True)[0] == 400
    assert validation_response({"validationToken": "x" * 1025}, pending=True)[0] == 400
    assert BusinessCentralConnector.validation_response(query, pending=True) == (200, "Zm9vYmFy-_42")


def test_a_subscription_is_renewed_a_day_before_its_three_days_run_out():
    from datetime import UTC, datetime

    sub = Subscription("id", "https://x", "r", "s", "2026-01-04T12:00:00Z", 'W/"1"')
    assert not sub.needs_renewal(datetime(2026, 1, 3, 11, 59, tzinfo=UTC))
    assert sub.needs_renewal(datetime(2026, 1, 3, 12, 0, tzinfo=UTC))


# --------------------------------------------------------------------------------------- OData v4 payloads
def test_a_read_filters_by_item_location_and_blank_variant_and_keeps_the_etag():
    etag = 'W/"JzQ0O0VnQUFBQUo3QlRJQU1BQXdBRFFBQUFBQUFBPT0xOzAwOyc="'
    bc, fake = connector((200, {"@odata.context": f"{BASE}{SKUS}/$metadata", "value": [
        row("5d115c9c-44e3-ea11-bb43-000d3a2feca1", "O'Brien", "EAST", "2024-01-01T00:00:00Z", etag=etag)]}))
    snapshot = bc.read_parameters("O'Brien", "EAST", correlation_id="c")
    assert snapshot == Snapshot(PlanningParameters(10, 20, 5), etag)
    assert fake.sent[0]["path"] == (f"{SKUS}?$filter=itemNo%20eq%20%27O%27%27Brien%27%20and%20locationCode%20eq%20"
                                    "%27EAST%27%20and%20variantCode%20eq%20%27%27")


def test_no_stockkeeping_unit_reads_as_none_and_is_not_created():
    bc, fake = connector((200, {"value": []}))
    snapshot = bc.read_parameters("1896-S", "EAST", correlation_id="c")
    assert snapshot == Snapshot(None)
    with pytest.raises(NotFound, match="a BC user creates it"):
        bc.write_parameters(write(), snapshot)
    assert len(fake.sent) == 1


def test_a_write_patches_the_system_id_with_the_etag_and_returns_the_request_id():
    sid = "5d115c9c-44e3-ea11-bb43-000d3a2feca1"
    bc, fake = connector((200, {"value": [row(sid, "1896-S", "EAST", "2024-01-01T00:00:00Z", etag='W/"e1"')]}),
                         (200, row(sid, "1896-S", "EAST", "2024-01-02T00:00:00Z", 11, 22), {"request-id": "r-9"}))
    snapshot = bc.read_parameters("1896-S", "EAST", correlation_id="c")
    assert bc.write_parameters(write(), snapshot) == "r-9"
    patch = fake.sent[1]
    assert (patch["method"], patch["path"], patch["headers"]) == ("PATCH", f"{SKUS}({sid})", {"If-Match": 'W/"e1"'})
    assert patch["body"] == {"safetyStockQuantity": 11, "reorderPoint": 22}


@pytest.mark.parametrize(("status", "error", "raised"), [
    (412, {"code": "Request_EntityChanged", "message": "Another user has already changed the record."}, Conflict),
    (409, {"code": "Request_EntityChanged", "message": "Another user has already changed the record."}, Conflict),
    (404, {"code": "BadRequest_NotFound", "message": "The Stockkeeping Unit does not exist."}, NotFound),
    (400, {"code": "Application_FieldValidationException", "message": "Reorder Point must not be negative"},
     ConnectorError),
])
def test_error_bodies_keep_bcs_words(status, error, raised):
    sid = "5d115c9c-44e3-ea11-bb43-000d3a2feca1"
    bc, _ = connector((200, {"value": [row(sid, "1896-S", "EAST", "2024-01-01T00:00:00Z")]}),
                      (status, {"error": error}))
    snapshot = bc.read_parameters("1896-S", "EAST", correlation_id="c")
    with pytest.raises(raised, match=error["code"]) as caught:
        bc.write_parameters(write(), snapshot)
    assert error["message"] in str(caught.value)


def test_a_missing_api_page_is_a_setup_error_not_a_missing_record():
    bc, _ = connector((404, {"error": {"code": "BadRequest_NotFound",
                                       "message": "No HTTP resource was found that matches the request URI."}}))
    with pytest.raises(ConnectorError, match="is the API page installed") as caught:
        bc.read_parameters("1896-S", "EAST", correlation_id="c")
    assert not isinstance(caught.value, NotFound)


def test_the_delta_pull_follows_next_links_and_orders_by_time_then_system_id():
    a, b, c, d = ("aaaaaaaa-0000-0000-0000-000000000000", "bbbbbbbb-0000-0000-0000-000000000000",
                  "cccccccc-0000-0000-0000-000000000000", "dddddddd-0000-0000-0000-000000000000")
    page2 = f"{BASE}{SKUS}?$filter=x&$skiptoken=2"
    bc, fake = connector(
        (200, {"value": [row(d, "D", "EAST", "2024-01-01T10:00:00Z"), row(c, "C", "EAST", "2024-01-01T09:00:00.5Z")],
               "@odata.nextLink": page2}),
        (200, {"value": [row(b, "B", "EAST", "2024-01-01T09:00:00.500Z"), row(a, "A", "EAST", "2024-01-01T11:00:00Z")]}))
    page = bc.read_changes(None, correlation_id="c", limit=3)
    assert [x.item_id for x in page.changes] == ["B", "C", "D"]  # 09:00:00.5 twice: the SystemId decides
    assert page.cursor == f"2024-01-01T10:00:00Z|{d}"
    assert fake.sent[1]["path"] == f"{SKUS}?$filter=x&$skiptoken=2"
    assert fake.sent[0]["headers"] == {"Prefer": "odata.maxpagesize=3"}


def test_the_next_pull_asks_from_the_cursor_and_skips_what_it_already_handed_out():
    b, c = "bbbbbbbb-0000-0000-0000-000000000000", "cccccccc-0000-0000-0000-000000000000"
    bc, fake = connector((200, {"value": [row(b, "B", "EAST", "2024-01-01T09:00:00.5Z"),
                                          row(c, "C", "EAST", "2024-01-01T09:00:00.5Z")]}))
    page = bc.read_changes(f"2024-01-01T09:00:00.500Z|{b}", correlation_id="c")
    assert [x.item_id for x in page.changes] == ["C"]
    assert "lastModifiedDateTime%20ge%202024-01-01T09%3A00%3A00.500Z" in fake.sent[0]["path"]
    bc, _ = connector((200, {"value": []}))
    assert bc.read_changes(page.cursor, correlation_id="c").cursor is None  # nothing new: the cursor stays


def test_a_next_link_off_the_connection_is_never_followed():
    bc, fake = connector((200, {"value": [], "@odata.nextLink": "https://evil.example/v2.0/x?$skiptoken=1"}))
    with pytest.raises(ConnectorError, match="leaves the connection"):
        bc.read_changes(None, correlation_id="c")
    assert len(fake.sent) == 1


def test_a_json_batch_answer_is_matched_by_id_whatever_its_order():
    sids = ["11111111-0000-0000-0000-000000000000", "22222222-0000-0000-0000-000000000000",
            "33333333-0000-0000-0000-000000000000"]
    bc, fake = connector(*[(200, {"value": [row(s, f"I{i}", "EAST", "2024-01-01T00:00:00Z", etag=f'W/"{i}"')]})
                           for i, s in enumerate(sids)],
                         (200, {"responses": [  # the shape of Microsoft's $batch example, answered out of order
                             {"id": "2", "status": 400, "headers": {"content-type": "application/json; odata.metadata=minimal"},
                              "body": {"error": {"code": "Unknown", "message": "'x' is not an option. CorrelationId: x."}}},
                             {"id": "0", "status": 200, "headers": {"request-id": "r-0"}, "body": {}},
                             {"id": "1", "status": 412, "headers": {},
                              "body": {"error": {"code": "Request_EntityChanged", "message": "Another user has already changed the record."}}}]}))
    writes = []
    for i in range(3):
        request = WriteRequest(f"I{i}", "EAST", PlanningParameters(1, 2), correlation_id="c")
        writes.append((request, bc.read_parameters(f"I{i}", "EAST", correlation_id="c")))
    results = bc.write_many(writes, correlation_id="c")
    assert [(r.status, r.request_id, type(r.error).__name__) for r in results] == [
        (200, "r-0", "NoneType"), (412, None, "Conflict"), (400, None, "ConnectorError")]
    batch = fake.sent[-1]
    assert batch["path"] == "/api/distsync/planning/v1.0/$batch"
    assert batch["body"]["requests"][1] == {
        "id": "1", "method": "PATCH", "url": f"companies({COMPANY})/stockkeepingUnits({sids[1]})",
        "headers": {"Content-Type": "application/json", "If-Match": 'W/"1"'},
        "body": {"safetyStockQuantity": 1, "reorderPoint": 2}}


def test_more_than_a_hundred_writes_go_in_batches_of_a_hundred():
    bc, fake = connector(*[(200, {"responses": [{"id": str(i), "status": 204, "headers": {}} for i in range(n)]})
                           for n in (100, 5)])
    bc._system_ids.update({(f"I{i}", "EAST"): f"{i:08d}-0000-0000-0000-000000000000" for i in range(105)})
    writes = [(WriteRequest(f"I{i}", "EAST", PlanningParameters(1, 2), correlation_id="c"),
               Snapshot(PlanningParameters(0, 0), 'W/"x"')) for i in range(105)]
    assert len(bc.write_many(writes, correlation_id="c")) == 105
    assert [len(s["body"]["requests"]) for s in fake.sent] == [100, 5]


# ----------------------------------------------------------------------------------------------- the rest
@pytest.mark.parametrize(("formula", "days"), [("5D", 5), ("<2W>", 14), ("1M", None), ("", None), (None, None)])
def test_lead_time_formulas_compare_in_days_where_they_can(formula, days):
    assert lead_time_days(formula) == days


def test_the_token_comes_from_entra_for_the_secrets_tenant_with_bcs_scope(monkeypatch):
    seen: list[ClientCredentials] = []

    def fake_fetch(self: ClientCredentials) -> None:
        seen.append(self)
        self._token, self._expires = "t", float("inf")

    monkeypatch.setattr(ClientCredentials, "_fetch", fake_fetch)
    bc = BusinessCentralConnector("bc", BASE, lambda: {"tenantId": "contoso-tenant", "clientId": "c",
                                                       "clientSecret": "s"}, {"companyId": COMPANY})
    assert bc.auth.headers("GET", BASE) == {"Authorization": "Bearer t"}
    assert (seen[0].token_url, seen[0].scope) == (
        "https://login.microsoftonline.com/contoso-tenant/oauth2/v2.0/token",
        "https://api.businesscentral.dynamics.com/.default")


def test_a_secret_without_client_credentials_is_named():
    bc = BusinessCentralConnector("bc", BASE, lambda: {"tenantId": "t"}, {"companyId": COMPANY})
    with pytest.raises(ConnectorError, match="clientId, clientSecret"):
        bc.auth.headers("GET", BASE)


def test_a_connection_without_a_company_is_refused():
    with pytest.raises(ValueError, match="companyId"):
        BusinessCentralConnector("bc", BASE, lambda: {}, {})


# A stockkeeping unit of the API page as OData v4 JSON, with the stock FlowFields (Decimal: JSON numbers)
SKU_WITH_STOCK = {"@odata.etag": 'W/"JzE4OzEyNjQ0NDg4MjcwMTk2MjY2NzExOzAwOyc="',
                  "systemId": "e8a4a1c0-3c2f-ef11-8e61-6045bdc8c192", "itemNo": "1896-S", "locationCode": "EAST",
                  "variantCode": "", "reorderPoint": 20, "safetyStockQuantity": 10, "leadTimeCalculation": "5D",
                  "lastModifiedDateTime": "2026-01-05T08:00:00.123Z", "inventory": 40.5, "qtyOnSalesOrder": 12,
                  "qtyInTransit": 0}


def test_a_stockkeeping_units_stock_fields_are_on_hand_allocated_and_in_transit():
    assert parse_stock(SKU_WITH_STOCK, "1896-S", "EAST", as_of="2026-01-05T09:00:00Z") == StockBalance(
        "1896-S", "EAST", 40.5, 12, 0, "2026-01-05T09:00:00Z")


def test_a_page_without_the_stock_fields_or_a_field_that_is_no_number_is_a_connector_error():
    old_page = {k: v for k, v in SKU_WITH_STOCK.items() if k not in STOCK_FIELDS}
    with pytest.raises(ConnectorError, match="lacks inventory, qtyOnSalesOrder, qtyInTransit: install the API page"):
        parse_stock(old_page, "1896-S", "EAST")
    with pytest.raises(ConnectorError, match="qtyInTransit is not a number"):
        parse_stock({**SKU_WITH_STOCK, "qtyInTransit": "5"}, "1896-S", "EAST")


def test_the_al_page_exposes_and_calculates_the_fields_the_connector_reads():
    from pathlib import Path

    page = (Path(__file__).parents[2] / "docs/connectors/businesscentral/StockkeepingUnitAPI.Page.al").read_text()
    for name, source in zip(STOCK_FIELDS, ("Rec.Inventory", 'Rec."Qty. on Sales Order"', 'Rec."Qty. in Transit"'),
                            strict=True):
        assert f"field({name}; {source})" in page
    assert 'Rec.CalcFields(Inventory, "Qty. on Sales Order", "Qty. in Transit");' in page
    assert 'tabledata "Item Ledger Entry" = R' in page and 'tabledata "Transfer Line" = R' in page
