"""The s4hana kind's wire format, from SAP's public references (no network): OData v2 JSON payloads and error
bodies, Edm.Decimal strings, a $batch answer shaped as SAP Gateway answers one, CloudEvents samples."""

from __future__ import annotations

import json

import pytest

from distsync_core.connectors.port import ConnectorError, PlanningParameters, StockBalance
from distsync_core.connectors.s4hana import (
    EVERY_PLANT,
    S4HanaConnector,
    build_batch,
    entity_etag,
    entity_path,
    format_days,
    format_quantity,
    odata_error,
    parse_batch,
    parse_cloud_event,
    parse_parameters,
    payload,
    stock_balance,
)

# A_ProductSupplyPlanning as OData v2 JSON: Edm.Decimal values are strings (API_PRODUCT_SRV metadata:
# SafetyStockQuantity and ReorderThresholdQuantity Decimal(13,3), PlannedDeliveryDurationInDays Decimal(3,0)).
ENTITY = {
    "d": {
        "__metadata": {
            "id": "https://s4.example/sap/opu/odata/sap/API_PRODUCT_SRV/A_ProductSupplyPlanning(Product='TG11',Plant='1010')",
            "uri": "https://s4.example/sap/opu/odata/sap/API_PRODUCT_SRV/A_ProductSupplyPlanning(Product='TG11',Plant='1010')",
            "type": "API_PRODUCT_SRV.A_ProductSupplyPlanningType",
            "etag": "W/\"'20240315103000.0000001'\"",
        },
        "Product": "TG11", "Plant": "1010", "SafetyStockQuantity": "110.000",
        "ReorderThresholdQuantity": "220.500", "PlannedDeliveryDurationInDays": "7", "BaseUnit": "PC",
    }
}

# SAP Gateway's error body (help.sap.com "Error Response Control for Backend Data Provider", JSON form)
ERROR = {"error": {"code": "API_PRD_MSG/015", "message": {"lang": "en", "value": "Key field Plant cannot be changed."},
                   "innererror": {"transactionid": "4FE1D144B9AD22F2E10000000A420C41", "errordetails": []}}}

# A $batch answer of three change sets, as SAP Gateway answers: a change set that succeeded is a nested
# multipart; one that failed is a single HTTP answer in its place (CRLF line ends, as on the wire).
BATCH_ANSWER = "\r\n".join([
    "--batchresponse_1d0c",
    "Content-Type: multipart/mixed; boundary=changesetresponse_aa",
    "",
    "--changesetresponse_aa",
    "Content-Type: application/http",
    "Content-Transfer-Encoding: binary",
    "",
    "HTTP/1.1 204 No Content",
    "Content-Length: 0",
    "dataserviceversion: 1.0",
    "etag: W/\"'20240315103001.0000002'\"",
    "x-correlationid: 7c1f0b1e",
    "",
    "",
    "--changesetresponse_aa--",
    "--batchresponse_1d0c",
    "Content-Type: application/http",
    "Content-Transfer-Encoding: binary",
    "",
    "HTTP/1.1 412 Precondition Failed",
    "Content-Type: application/json;charset=utf-8",
    "Content-Length: 150",
    "dataserviceversion: 1.0",
    "",
    json.dumps({"error": {"code": "/IWBEP/CM_MGW_RT/022",
                          "message": {"lang": "en", "value": "The data has been changed by another user"}}}),
    "--batchresponse_1d0c",
    "Content-Type: multipart/mixed; boundary=changesetresponse_bb",
    "",
    "--changesetresponse_bb",
    "Content-Type: application/http",
    "Content-Transfer-Encoding: binary",
    "",
    "HTTP/1.1 204 No Content",
    "Content-Length: 0",
    "",
    "",
    "--changesetresponse_bb--",
    "--batchresponse_1d0c--",
    "",
]).encode()

PRODUCT_CHANGED = {
    "specversion": "1.0", "type": "sap.s4.beh.product.v1.Product.Changed.v1", "source": "/default/sap.s4.beh/S4HCLNT100",
    "id": "a1b2c3d4-e5f6-7890-abcd-ef1234567890", "time": "2024-03-15T10:30:00Z",
    "datacontenttype": "application/json", "data": {"Product": "TG11"},
}


def test_an_entity_gives_parameters_and_its_etag():
    entity = ENTITY["d"]
    assert parse_parameters(entity) == PlanningParameters(110.0, 220.5, 7)
    assert entity_etag(entity) == "W/\"'20240315103000.0000001'\""
    assert parse_parameters({**entity, "PlannedDeliveryDurationInDays": None}).lead_time_days is None
    with pytest.raises(ConnectorError, match="SafetyStockQuantity is not a decimal"):
        parse_parameters({**entity, "SafetyStockQuantity": "1,5"})


@pytest.mark.parametrize(("value", "wire"), [(110, "110.000"), (220.5, "220.500"), (0.0005, "0.001"),
                                             (1.0004, "1.000"), (9999999999.999, "9999999999.999")])
def test_quantities_are_decimal_13_3_strings(value, wire):
    assert format_quantity(value) == wire


def test_what_does_not_fit_the_erp_types_is_refused_before_sending():
    with pytest.raises(ConnectorError, match="Decimal\\(13,3\\)"):
        format_quantity(1e10)
    with pytest.raises(ConnectorError, match="Decimal\\(3,0\\)"):
        format_days(1000)
    assert payload(PlanningParameters(110, 220.5, 14)) == {
        "SafetyStockQuantity": "110.000", "ReorderThresholdQuantity": "220.500", "PlannedDeliveryDurationInDays": "14"}
    assert "PlannedDeliveryDurationInDays" not in payload(PlanningParameters(1, 2))


def test_keys_are_odata_string_literals_in_the_path():
    assert entity_path("TG11", "1010") == \
        "/sap/opu/odata/sap/API_PRODUCT_SRV/A_ProductSupplyPlanning(Product='TG11',Plant='1010')"
    assert entity_path("O'B/1", "10 1", relative=True) == "A_ProductSupplyPlanning(Product='O''B%2F1',Plant='10%201')"


def test_odata_error_bodies_give_saps_words_and_trace_id():
    assert odata_error(json.dumps(ERROR).encode()) == \
        "API_PRD_MSG/015: Key field Plant cannot be changed. (SAP transaction 4FE1D144B9AD22F2E10000000A420C41)"
    xml = (b'<error xmlns="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"><code>/IWBEP/CM_TEA/004'
           b'</code><message xml:lang="en">Team ID is not in the defined range.</message></error>')
    assert odata_error(xml) == "/IWBEP/CM_TEA/004: Team ID is not in the defined range."
    assert odata_error(b"CSRF token validation failed") is None


def test_a_batch_answer_is_one_result_per_change_set():
    answers = parse_batch(BATCH_ANSWER, "multipart/mixed; boundary=batchresponse_1d0c")
    assert [a.status for a in answers] == [204, 412, 204]
    assert answers[0].header("x-correlationid") == "7c1f0b1e"
    assert "changed by another user" in odata_error(answers[1].data)


def test_a_batch_request_has_one_change_set_per_write():
    body = build_batch([("PATCH", "A_ProductSupplyPlanning(Product='A',Plant='1010')", {"If-Match": 'W/"1"'},
                         {"SafetyStockQuantity": "1.000"}),
                        ("MERGE", "A_ProductSupplyPlanning(Product='B',Plant='1010')", {}, {})], "batch_x").decode()
    assert body.count("Content-Type: multipart/mixed; boundary=changeset_") == 2
    assert "\r\nPATCH A_ProductSupplyPlanning(Product='A',Plant='1010') HTTP/1.1\r\n" in body
    assert "\r\nIf-Match: W/\"1\"\r\n" in body
    assert "\r\nPOST A_ProductSupplyPlanning(Product='B',Plant='1010') HTTP/1.1\r\n" in body
    assert "X-HTTP-Method: MERGE" in body and body.endswith("--batch_x--\r\n")


def test_a_product_event_names_the_product_for_a_claim_check():
    event = parse_cloud_event(json.dumps(PRODUCT_CHANGED).encode())
    assert (event.type, event.product, event.plant, event.time) == (PRODUCT_CHANGED["type"], "TG11", None,
                                                                   "2024-03-15T10:30:00Z")
    conn = S4HanaConnector("s4", "https://s4.example", None, {"plantMap": {"DC-EAST": "1010"}})
    assert [(c.item_id, c.location_id) for c in conn.parse_business_event(json.dumps(PRODUCT_CHANGED).encode())] \
        == [("TG11", EVERY_PLANT)]
    with_plant = {**PRODUCT_CHANGED, "data": {"Product": "TG11", "Plant": "1010"}}
    assert [c.location_id for c in conn.parse_business_event(json.dumps(with_plant).encode())] == ["DC-EAST"]
    other = {**PRODUCT_CHANGED, "type": "sap.s4.beh.businesspartner.v1.BusinessPartner.Changed.v1",
             "data": {"BusinessPartner": "1000"}}
    assert conn.parse_business_event(json.dumps(other).encode()) == []  # well-formed, not ours: nothing to do


@pytest.mark.parametrize(("change", "message"), [
    ({"specversion": "0.3"}, "specversion must be '1.0'"),
    ({"id": ""}, "has no id"),
    ({"source": None}, "has no source"),
    ({"type": 7}, "has no type"),
    ({"time": "yesterday"}, "time is not an RFC 3339 timestamp"),
    ({"time": "2024-03-15T10:30:00"}, "time has no offset"),
    ({"datacontenttype": "application/xml"}, "datacontenttype must be application/json"),
    ({"data": "TG11"}, "has no data object"),
    ({"data": {"Plant": "1010"}}, "has no data.Product"),
    ({"data": {"Product": "TG11", "Plant": 1010}}, "data.Plant must be a plant id"),
])
def test_a_malformed_cloud_event_names_what_is_wrong(change, message):
    with pytest.raises(ConnectorError, match=message):
        parse_cloud_event(json.dumps({**PRODUCT_CHANGED, **change}).encode())


def test_what_is_not_a_cloud_event_at_all_is_refused():
    with pytest.raises(ConnectorError, match="not JSON"):
        parse_cloud_event(b"<xml/>")
    with pytest.raises(ConnectorError, match="not a JSON object"):
        parse_cloud_event(b"[]")


def test_a_delta_pull_is_refused_because_s4_pushes():
    conn = S4HanaConnector("s4", "https://s4.example", None, {})
    with pytest.raises(ConnectorError, match="no last-change field"):
        conn.read_changes(None, correlation_id="c-1")
    with pytest.raises(ValueError, match="PATCH or MERGE"):
        S4HanaConnector("s4", "https://s4.example", None, {"updateMethod": "PUT"})


# A_MatlStkInAcctMod rows as API_MATERIAL_STOCK_SRV answers them (OData v2 JSON; the service's metadata:
# MatlWrhsStkQtyInMatlBaseUnit Edm.Decimal(31,14), a string; InventoryStockType 01 = unrestricted use).
STOCK_PAGE = {"d": {"results": [
    {"__metadata": {"type": "API_MATERIAL_STOCK_SRV.A_MatlStkInAcctModType"}, "Material": "TG11", "Plant": "1010",
     "StorageLocation": "101A", "Batch": "", "Supplier": "", "Customer": "", "WBSElementInternalID": "00000000",
     "SDDocument": "", "SDDocumentItem": "000000", "InventorySpecialStockType": "", "InventoryStockType": "01",
     "WBSElementExternalID": "", "MaterialBaseUnit": "PC", "MatlWrhsStkQtyInMatlBaseUnit": "0.1"},
    {"Material": "TG11", "Plant": "1010", "StorageLocation": "101B", "Batch": "0000000012",
     "InventorySpecialStockType": "", "InventoryStockType": "01", "MaterialBaseUnit": "PC",
     "MatlWrhsStkQtyInMatlBaseUnit": "0.2"},
    {"Material": "TG11", "Plant": "1010", "StorageLocation": "101A", "InventorySpecialStockType": "",
     "InventoryStockType": "02", "MaterialBaseUnit": "PC", "MatlWrhsStkQtyInMatlBaseUnit": "40"},
    {"Material": "TG11", "Plant": "1010", "StorageLocation": "101A", "Supplier": "17300001",
     "InventorySpecialStockType": "K", "InventoryStockType": "01", "MaterialBaseUnit": "PC",
     "MatlWrhsStkQtyInMatlBaseUnit": "5.00000000000000"},
]}}


def test_stock_is_unrestricted_own_stock_summed_as_decimals():
    rows = STOCK_PAGE["d"]["results"]
    assert stock_balance(rows, "TG11", "DC-1", as_of="2026-01-01T00:00:00Z") == StockBalance(
        "TG11", "DC-1", 0.3, 0.0, 0.0, "2026-01-01T00:00:00Z", "PC")  # 0.1 + 0.2 exactly, not 0.30000000000000004
    assert stock_balance(rows, "TG11", "DC-1", include_special=True).on_hand == 5.3


def test_no_stock_rows_is_no_balance_and_rows_of_other_types_only_are_zero():
    assert stock_balance([], "TG11", "1010") is None
    assert stock_balance([STOCK_PAGE["d"]["results"][2]], "TG11", "1010").on_hand == 0


@pytest.mark.parametrize("row, words", [
    ({"InventoryStockType": "01", "MaterialBaseUnit": "PC"}, "without MatlWrhsStkQtyInMatlBaseUnit"),
    ({"InventoryStockType": "01", "MatlWrhsStkQtyInMatlBaseUnit": "lots"}, "not a decimal"),
    ({"InventoryStockType": "01", "MatlWrhsStkQtyInMatlBaseUnit": "1", "MaterialBaseUnit": "KG"}, "more than one"),
])
def test_a_stock_row_distsync_cannot_read_is_a_connector_error(row, words):
    with pytest.raises(ConnectorError, match=words):
        stock_balance([STOCK_PAGE["d"]["results"][0], row], "TG11", "1010")
