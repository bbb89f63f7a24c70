"""The NetSuite kind's protocol pieces against public references: the OAuth 1.0a signature base string and
signature (RFC 5849's own examples), SuiteQL pages, the delta cursor and NetSuite's error bodies."""

from __future__ import annotations

import json

import pytest

from distsync_core.connectors.http import Answer
from distsync_core.connectors.netsuite import (
    CursorKey,
    NetSuiteConnector,
    TokenBasedAuth,
    authorization_header,
    base_string_uri,
    error_words,
    parse_authorization,
    parse_stock_row,
    parse_suiteql_page,
    percent_encode,
    realm,
    sign,
    signature_base_string,
    sql_string,
)
from distsync_core.connectors.port import ConnectorError, StockBalance

# RFC 5849 section 3.4.1.1: the request and the signature base string it prints (body c2&a3=2+q is form data)
RFC_REQUEST_URL = "http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b"
RFC_OAUTH = {"realm": "Example", "oauth_consumer_key": "9djdj82h48djs9d2", "oauth_token": "kkk9d7dh3k39sjv7",
             "oauth_signature_method": "HMAC-SHA1", "oauth_timestamp": "137131201", "oauth_nonce": "7d8f3e4a",
             "oauth_signature": "bYT5CMsGcbgUdFHObYMEfcx6bsw%3D"}
RFC_BASE_STRING = (
    "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q%26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D"
    "%26c2%3D%26oauth_consumer_key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_method%3DHMAC-SHA1"
    "%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk9d7dh3k39sjv7")


def test_the_signature_base_string_is_rfc_5849s_example_byte_for_byte():
    # realm and oauth_signature are left out; query and body parameters are decoded, re-encoded and sorted
    base = signature_base_string("post", RFC_REQUEST_URL, RFC_OAUTH, body_params=[("c2", ""), ("a3", "2 q")])
    assert base == RFC_BASE_STRING


def test_the_hmac_sha1_signature_of_rfc_5849_section_1_2():
    params = {"oauth_consumer_key": "dpf43f3p2l4k3l03", "oauth_token": "nnch734d00sl2jdk",
              "oauth_signature_method": "HMAC-SHA1", "oauth_timestamp": "137131202", "oauth_nonce": "chapoH"}
    base = signature_base_string("GET", "http://photos.example.net/photos?file=vacation.jpg&size=original", params)
    assert sign(base, "kd94hf93k423kf44", "pfkkdhi9sl3r4s00", "HMAC-SHA1") == "MdpQcU8iPSUjWoN/UDMsK2sui9I="


def test_the_hmac_sha256_signature_over_the_rfc_example():
    # NetSuite signs with HMAC-SHA256 only; this vector (the section 3.4.1.1 request, its client and token
    # secrets j49sk3j29djd / dh893hdasih9) is published in Faithlife's OAuth test suite
    params = {**RFC_OAUTH, "oauth_signature_method": "HMAC-SHA256"}
    base = signature_base_string("POST", RFC_REQUEST_URL, params, body_params=[("c2", ""), ("a3", "2 q")])
    assert sign(base, "j49sk3j29djd", "dh893hdasih9") == "ypAxjNip++Dm0fTM+gCl8wAo6ufSnseu1WHxL7py3BU="


@pytest.mark.parametrize(("raw", "encoded"), [
    ("abcXYZ019-._~", "abcXYZ019-._~"),  # unreserved: as they are
    ("a b+c/d=e&f", "a%20b%2Bc%2Fd%3De%26f"),  # space is %20, never +
    ("é", "%C3%A9"),  # UTF-8 octets, upper-case hex
])
def test_percent_encoding_is_rfc_5849_section_3_6(raw, encoded):
    assert percent_encode(raw) == encoded


def test_the_base_string_uri_drops_default_ports_and_lowercases_scheme_and_host():
    assert base_string_uri("HTTPS://1234567-SB1.SuiteTalk.Api.NetSuite.com:443/services/rest/record/v1/x?a=1") == \
        "https://1234567-sb1.suitetalk.api.netsuite.com/services/rest/record/v1/x"
    assert base_string_uri("http://127.0.0.1:8080/p") == "http://127.0.0.1:8080/p"


def test_a_netsuite_request_is_signed_with_its_query_parameters_and_the_account_as_realm():
    creds = {"accountId": "1234567-sb1", "consumerKey": "ck", "consumerSecret": "cs", "tokenId": "tk",
             "tokenSecret": "ts"}
    url = "https://1234567-sb1.suitetalk.api.netsuite.com/services/rest/query/v1/suiteql?limit=10&offset=20"
    auth = TokenBasedAuth(lambda: creds, clock=lambda: 1700000000)
    header = auth.headers("POST", url)["Authorization"]
    params = parse_authorization(header)
    assert params["realm"] == "1234567_SB1" == realm("1234567-sb1")
    assert (params["oauth_signature_method"], params["oauth_timestamp"], params["oauth_version"]) == \
        ("HMAC-SHA256", "1700000000", "1.0")
    base = signature_base_string("POST", url, params)
    assert "limit%3D10" in base and "offset%3D20" in base
    assert params["oauth_signature"] == sign(base, "cs", "ts")
    # a fresh nonce every request: a retry is never a replay
    assert parse_authorization(auth.headers("POST", url)["Authorization"])["oauth_nonce"] != params["oauth_nonce"]


def test_the_authorization_header_round_trips():
    params = {"oauth_consumer_key": "a b", "oauth_signature": "x+y/z="}
    assert parse_authorization(authorization_header("123_SB1", params)) == {"realm": "123_SB1", **params}


def test_a_secret_without_the_token_fields_is_refused_with_their_names():
    auth = TokenBasedAuth(lambda: {"accountId": "1", "consumerKey": "ck"})
    with pytest.raises(ConnectorError, match="consumerSecret, tokenId, tokenSecret"):
        auth.headers("GET", "https://1.suitetalk.api.netsuite.com/x")


# ------------------------------------------------------------------------------------------- SuiteQL
def test_a_suiteql_page_parses_items_hasmore_and_the_next_link():
    # the shape documented for SuiteQL through REST (Collection Paging)
    body = {"links": [{"rel": "next", "href": "https://d.suitetalk.api.netsuite.com/...?limit=2&offset=2"},
                      {"rel": "self", "href": "https://d.suitetalk.api.netsuite.com/...?limit=2&offset=0"}],
            "count": 2, "hasMore": True, "offset": 0, "totalResults": 5,
            "items": [{"links": [], "ID": "7", "modified": "2024-05-01 10:00:00"}, {"links": [], "id": "8"}]}
    page = parse_suiteql_page(body)
    assert page.items == [{"id": "7", "modified": "2024-05-01 10:00:00"}, {"id": "8"}]
    assert (page.has_more, page.offset, page.total) == (True, 0, 5)
    assert page.next_href.endswith("offset=2")
    last = parse_suiteql_page({"links": [], "count": 0, "hasMore": False, "items": [], "offset": 4})
    assert (last.has_more, last.next_href, last.total) == (False, None, None)


def test_an_answer_that_is_not_a_suiteql_page_is_refused():
    with pytest.raises(ConnectorError, match="not a SuiteQL page"):
        parse_suiteql_page({"items": []})


def test_the_cursor_round_trips_and_refuses_anything_else():
    key = CursorKey("2024-05-01 10:00:00", 42, 3)
    assert CursorKey.decode(key.encode()) == key
    for bad in ("", "v1|2024-05-01|1|2", "v2|2024-05-01 10:00:00|1|2", "v1|2024-05-01 10:00:00|x|2"):
        with pytest.raises(ConnectorError, match="not a NetSuite delta cursor"):
            CursorKey.decode(bad)


def test_the_delta_query_resumes_after_the_cursor_even_within_one_second():
    connector = NetSuiteConnector("ns", "https://1.suitetalk.api.netsuite.com", None, {})
    first = connector.delta_query(None)
    assert "ORDER BY modified, item.id, il.location" in first and "TO_TIMESTAMP" not in first
    query = connector.delta_query(CursorKey("2024-05-01 10:00:00", 42, 3))
    # rows of the same second come after the cursor by (item, location), never by the timestamp alone
    assert "item.lastmodifieddate >= TO_TIMESTAMP('2024-05-01 10:00:00', 'YYYY-MM-DD HH24:MI:SS')" in query
    assert ("TO_CHAR(item.lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS') = '2024-05-01 10:00:00' AND "
            "(item.id > 42 OR (item.id = 42 AND il.location > 3))") in query


def test_string_literals_are_quoted_for_suiteql():
    assert sql_string("O'Brien's") == "'O''Brien''s'"


# ------------------------------------------------------------------------------------------- errors
def answer(status: int, body: object) -> Answer:
    return Answer(status, {}, json.dumps(body).encode() if not isinstance(body, bytes) else body, None)


def test_netsuites_error_body_gives_its_code_and_words():
    # the format of "Error Handling in REST Web Services"
    body = {"type": "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.1", "title": "Bad Request",
            "status": 400, "o:errorDetails": [
                {"detail": "Invalid number (must be at least 0): -1.", "o:errorCode": "NUMBER_REQD",
                 "o:errorPath": "locations.items[0].reorderPoint"},
                {"detail": "Second problem."}]}
    assert error_words(answer(400, body)) == ("NUMBER_REQD", "Invalid number (must be at least 0): -1.; Second problem.")


def test_an_error_without_netsuites_details_keeps_its_title_or_bytes():
    assert error_words(answer(403, {"title": "Forbidden", "status": 403})) == (None, "Forbidden")
    assert error_words(answer(502, b"<html>bad gateway</html>")) == (None, "<html>bad gateway</html>")


# A SuiteQL answer to the stock query, shaped as the REST guide's SuiteQL samples: every value a string (or
# null for an empty field), each row with its own links, lower-case column aliases.
STOCK_PAGE = {"links": [{"rel": "self", "href": "https://1234567-sb1.suitetalk.api.netsuite.com/services/rest/query/"
                                               "v1/suiteql?limit=2&offset=0"}],
              "count": 1, "hasMore": False, "offset": 0, "totalResults": 1,
              "items": [{"links": [], "onhand": "120", "committed": "17.5", "intransit": None}]}


def test_a_stock_row_is_on_hand_committed_and_in_transit_with_nulls_as_zero():
    [row] = parse_suiteql_page(STOCK_PAGE).items
    assert parse_stock_row(row, "SKU-1", "DC-EAST", as_of="2026-01-01T00:00:00Z") == StockBalance(
        "SKU-1", "DC-EAST", 120, 17.5, 0, "2026-01-01T00:00:00Z")


def test_a_stock_row_that_is_not_numbers_is_a_connector_error():
    with pytest.raises(ConnectorError, match="not numbers"):
        parse_stock_row({"onhand": "lots"}, "SKU-1", "DC-EAST")


def test_the_stock_query_names_the_item_by_its_key_and_the_location_by_number():
    ns = NetSuiteConnector("ns", "https://1234567-sb1.suitetalk.api.netsuite.com")
    query = ns.stock_query("O'Brien-1", "7")
    assert query == ("SELECT il.quantityonhand AS onhand, il.quantitycommitted AS committed, "
                     "il.quantityintransit AS intransit FROM item JOIN inventoryItemLocations il ON il.item = item.id "
                     "WHERE item.externalid = 'O''Brien-1' AND il.location = 7")
    by_name = NetSuiteConnector("ns", "https://x", options={"itemIdField": "itemId"})
    assert "WHERE item.itemid = 'Widget' AND" in by_name.stock_query("Widget", "7")
    by_id = NetSuiteConnector("ns", "https://x", options={"itemIdField": "internalId"})
    assert "WHERE item.id = 42 AND" in by_id.stock_query("42", "7")
    with pytest.raises(ConnectorError, match="location ids are numbers"):
        ns.stock_query("SKU-1", "7 OR 1=1")
