"""Oracle NetSuite simulator: the parts of SuiteTalk REST web services the ``netsuite`` connector uses, as the
documentation describes them (docs/connectors/netsuite.md lists the pages and what is a guess).

- Token-based authentication: every ``/services/`` request must carry an ``OAuth`` Authorization header signed
  with HMAC-SHA256 over the RFC 5849 base string (query parameters included), realm = the account id; a bad
  signature, an unknown key or token, a stale timestamp or a nonce seen before is ``401`` with NetSuite's error
  body and "Invalid login attempt" (the reason goes to the request log, as NetSuite's Login Audit Trail).
- ``GET/PATCH /services/rest/record/v1/inventoryItem/{id|eid:externalId}``: the item with its keyed
  ``locations`` sublist (``expandSubResources=true`` expands it); a PATCH updates the line with the same
  ``location`` and answers ``204`` with ``Location``.
- ``POST /services/rest/query/v1/suiteql?limit=&offset=`` with ``Prefer: transient``: the query runs (SQLite
  with TO_CHAR/TO_TIMESTAMP) over tables ``item``, ``location`` and ``inventoryItemLocations``; pages of at
  most 1000 rows, the offset a multiple of the limit, ``hasMore``/``items``/``links``/``totalResults``.
- at most ``concurrency_limit`` requests at once (the account's limit): beyond it ``429`` with
  ``CONCURRENCY_LIMIT_EXCEEDED`` and no Retry-After (NetSuite documents none).
- every answer carries an ``X-N-OperationId``.

Control surface (its own root; the local stack mounts it at ``/_sim/netsuite/``):
``GET /_sim/netsuite/records``, ``GET /_sim/netsuite/requests`` (method, path, status, the OAuth parameters
without the signature, Prefer, why a login was refused), ``POST /_sim/netsuite/records`` (a NetSuite user's
edit, NetSuite field names or ``{"itemId","locationId","safetyStock","reorderPoint","leadTimeDays"}``; one or
``{"records": [...]}``; only lastmodifieddate moves: NetSuite pushes nothing, it waits to be polled),
``POST /_sim/netsuite/faults`` ``{"status": 429|503, "count": N, "retryAfter": S}``,
``POST /_sim/netsuite/stock`` (stock as inventory transactions would leave it: the short form ``{"itemId",
"locationId", "onHand", "allocated", "inTransit", "onOrder"?}`` or NetSuite's names ``{"itemId"|"externalId",
"location": {"id"|"refName"}, "quantityOnHand", "quantityCommitted", "quantityInTransit", "quantityOnOrder"}``;
one or ``{"stock": [...]}``; creates the item and location when new; the quantities are the SuiteQL columns
``quantityonhand``, ``quantitycommitted``, ``quantityintransit``, ``quantityonorder`` and ``quantityavailable``
(on hand less committed) of ``inventoryItemLocations``; an existing item's lastmodifieddate does not move),
``GET /_sim/netsuite/stock``.
"""

from __future__ import annotations

import hmac
import re
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from distsync_core.connectors.netsuite import parse_authorization, realm, sign, signature_base_string

from .http import JsonRequest, JsonServer

Answer = tuple[int, Any, dict[str, str]]
_ITEM = re.compile(r"/services/rest/record/v1/inventoryItem/(?P<key>[^/]+)")
_SUITEQL = re.compile(r"/services/rest/query/v1/suiteql")
_INVALID_LOGIN = ("Invalid login attempt. For more details, see the Login Audit Trail in the NetSuite UI at "
                  "Setup > Users/Roles > User Management > View Login Audit Trail.")
_TITLES = {400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed",
           429: "Too Many Requests", 503: "Service Unavailable"}
# stock: the short form's names and NetSuite's -> column
_STOCK_FIELDS = (("onHand", "quantityOnHand", "quantityonhand"), ("allocated", "quantityCommitted", "quantitycommitted"),
                 ("inTransit", "quantityInTransit", "quantityintransit"), ("onOrder", "quantityOnOrder", "quantityonorder"))
_LINE_FIELDS = (("reorderPoint", "reorderpoint"), ("preferredStockLevel", "preferredstocklevel"),
                ("safetyStockLevel", "safetystocklevel"), ("leadTime", "leadtime"))  # REST name -> column
TIMESTAMP_WINDOW = 300  # seconds a timestamp may be off (a simulator choice: NetSuite does not publish one)
_SCHEMA = """
CREATE TABLE item (id INTEGER PRIMARY KEY, itemid TEXT UNIQUE, externalid TEXT UNIQUE,
                   itemtype TEXT DEFAULT 'InvtPart', lastmodifieddate TEXT);
CREATE TABLE location (id INTEGER PRIMARY KEY, name TEXT UNIQUE);
CREATE TABLE inventoryitemlocations (item INTEGER, location INTEGER, reorderpoint REAL, preferredstocklevel REAL,
                                     safetystocklevel REAL, leadtime INTEGER, quantityonhand REAL,
                                     quantitycommitted REAL, quantityintransit REAL, quantityonorder REAL,
                                     quantityavailable REAL, PRIMARY KEY (item, location));
"""
# Oracle date format elements SuiteQL queries use -> strftime
_ORACLE_FORMAT = (("YYYY", "%Y"), ("MM", "%m"), ("DD", "%d"), ("HH24", "%H"), ("MI", "%M"), ("SS", "%S"))


def _strftime(oracle: str) -> str:
    for element, directive in _ORACLE_FORMAT:
        oracle = oracle.replace(element, directive)
    return oracle.replace('"T"', "T")


def _to_char(value: str | None, fmt: str) -> str | None:
    return None if value is None else datetime.fromisoformat(value).strftime(_strftime(fmt))


def _to_timestamp(value: str | None, fmt: str) -> str | None:
    return None if value is None else datetime.strptime(value, _strftime(fmt)).isoformat(sep=" ", timespec="microseconds")


def ns_error(status: int, detail: str, code: str, **where: str) -> Answer:
    """NetSuite's error body (type, title, status, o:errorDetails with detail and o:errorCode)."""
    section = {400: "15.5.1", 401: "15.5.2", 404: "15.5.5", 405: "15.5.6", 429: "6.6.1", 503: "15.6.4"}
    doc = "https://www.rfc-editor.org/rfc/rfc6585.html#section-4" if status == 429 else \
        f"https://www.rfc-editor.org/rfc/rfc9110.html#section-{section.get(status, '15')}"
    return status, {"type": doc, "title": _TITLES.get(status, "Error"), "status": status,
                    "o:errorDetails": [{"detail": detail, "o:errorCode": code, **where}]}, {}


class NetSuiteSimulator(JsonServer):
    def __init__(self, port: int = 0, *, account_id: str = "1234567_SB1", consumer_key: str = "sim-consumer-key",
                 consumer_secret: str = "sim-consumer-secret", token_id: str = "sim-token-id",
                 token_secret: str = "sim-token-secret", concurrency_limit: int = 5):
        self.account_id = account_id
        self.consumer_key, self.consumer_secret = consumer_key, consumer_secret
        self.token_id, self.token_secret = token_id, token_secret
        self.concurrency_limit = concurrency_limit
        self._lock = threading.Condition()
        self._db = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        self._db.executescript(_SCHEMA)
        self._db.create_function("TO_CHAR", 2, _to_char, deterministic=True)
        self._db.create_function("TO_TIMESTAMP", 2, _to_timestamp, deterministic=True)
        self._nonces: set[tuple[str, str, str]] = set()
        self.log: list[dict[str, Any]] = []
        self._fault: dict[str, Any] = {"status": 0, "count": 0, "retryAfter": None}
        self.in_flight = self.max_in_flight = self.throttled = 0
        self._gate: threading.Event | None = None  # tests hold requests in flight with it
        super().__init__(
            [
                ("GET", _ITEM, self._api(self._get_item)),
                ("PATCH", _ITEM, self._api(self._patch_item)),
                ("POST", _SUITEQL, self._api(self._suiteql)),
                ("GET", re.compile(r"/_sim/netsuite/records"), lambda _r: (200, {"records": self.records()}, {})),
                ("POST", re.compile(r"/_sim/netsuite/records"), self._edit),
                ("GET", re.compile(r"/_sim/netsuite/requests"), lambda _r: (200, {"requests": self.requests()}, {})),
                ("POST", re.compile(r"/_sim/netsuite/faults"), self._faults),
                ("POST", re.compile(r"/_sim/netsuite/stock"), self._post_stock),
                ("GET", re.compile(r"/_sim/netsuite/stock"), lambda _r: (200, {"stock": self.stock()}, {})),
            ],
            port=port,
        )

    @property
    def base_url(self) -> str:
        """Where the connector points (``https://<account>.suitetalk.api.netsuite.com`` in NetSuite)."""
        return self.url

    def credentials(self) -> dict[str, str]:
        """The connection's secret as distsync stores it."""
        return {"accountId": self.account_id, "consumerKey": self.consumer_key,
                "consumerSecret": self.consumer_secret, "tokenId": self.token_id, "tokenSecret": self.token_secret}

    def rotate_token(self, token_id: str, token_secret: str) -> None:
        """A new access token replaces the old one (the old one is refused from now on)."""
        with self._lock:
            self.token_id, self.token_secret = token_id, token_secret

    # ------------------------------------------------------------------------------ the API's common path
    def _api(self, handler: Any) -> Any:
        def serve(request: JsonRequest, **groups: str) -> Answer:
            entry: dict[str, Any] = {"method": request.method, "path": request.path,
                                     "receivedAt": datetime.now(UTC).isoformat()}
            answer = self._serve(handler, request, groups, entry)
            status, body, headers = answer
            headers = {**headers, "X-N-OperationId": str(uuid.uuid4())}
            entry["status"] = status
            with self._lock:
                self.log.append(entry)
                self._lock.notify_all()
            return status, body, headers

        return serve

    def _serve(self, handler: Any, request: JsonRequest, groups: dict[str, str], entry: dict[str, Any]) -> Answer:
        fault = self._take_fault()
        if fault:
            entry["fault"] = fault["status"]
            retry = {"Retry-After": str(fault["retryAfter"])} if fault["retryAfter"] is not None else {}
            code = "CONCURRENCY_LIMIT_EXCEEDED" if fault["status"] == 429 else "UNEXPECTED_ERROR"
            status, body, _ = ns_error(fault["status"], "Injected fault.", code)
            return status, body, retry
        refused = self._authenticate(request, entry)
        if refused:
            entry["authError"] = refused
            status, body, _ = ns_error(401, _INVALID_LOGIN, "INVALID_LOGIN")
            return status, body, {"WWW-Authenticate": f'OAuth realm="{realm(self.account_id)}", '
                                                      'error="token_rejected", error_description="Invalid login attempt."'}
        with self._lock:
            if self.concurrency_limit and self.in_flight >= self.concurrency_limit:
                self.throttled += 1
                self._lock.notify_all()
                entry["throttled"] = True
                return ns_error(429, "Too many concurrent requests: the account's concurrency limit of "
                                f"{self.concurrency_limit} is reached.", "CONCURRENCY_LIMIT_EXCEEDED")
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            gate = self._gate
            self._lock.notify_all()
        try:
            if gate is not None:
                gate.wait(10)
            return handler(request, **groups)
        except (ValueError, KeyError, TypeError) as exc:
            return ns_error(400, f"Invalid request: {exc}", "USER_ERROR")
        finally:
            with self._lock:
                self.in_flight -= 1
                self._lock.notify_all()

    def _authenticate(self, request: JsonRequest, entry: dict[str, Any]) -> str | None:
        """None when the request is signed right, else why not (NetSuite only says "Invalid login attempt")."""
        params = parse_authorization(request.header("Authorization") or "")
        entry["oauth"] = {k: v for k, v in params.items() if k != "oauth_signature"}
        entry["prefer"] = request.header("Prefer")
        if not params:
            return "no OAuth Authorization header"
        with self._lock:
            consumer = (self.consumer_key, self.consumer_secret)
            token = (self.token_id, self.token_secret)
        if params.get("realm", "").upper() != realm(self.account_id):
            return f"realm {params.get('realm')!r} is not the account {realm(self.account_id)!r}"
        if params.get("oauth_signature_method") != "HMAC-SHA256":
            return f"signature method {params.get('oauth_signature_method')!r} (only HMAC-SHA256 since 2023.1)"
        if params.get("oauth_version", "1.0") != "1.0":
            return f"oauth_version {params.get('oauth_version')!r}"
        if params.get("oauth_consumer_key") != consumer[0]:
            return "unknown consumer key"
        if params.get("oauth_token") != token[0]:
            return "unknown or revoked token"
        nonce, timestamp = params.get("oauth_nonce", ""), params.get("oauth_timestamp", "")
        if len(nonce) < 6 or not timestamp.isdigit() or abs(int(timestamp) - time.time()) > TIMESTAMP_WINDOW:
            return "nonce shorter than 6 characters or timestamp outside the accepted window"
        host = request.header("Host") or f"127.0.0.1:{self.port}"
        url = f"http://{host}{request.path}"
        expected = sign(signature_base_string(request.method, url, params), consumer[1], token[1])
        if not hmac.compare_digest(expected, params.get("oauth_signature", "")):
            return "signature mismatch"
        with self._lock:
            key = (token[0], nonce, timestamp)
            if key in self._nonces:
                return "nonce and timestamp used before (a replay)"
            self._nonces.add(key)
        return None

    def _take_fault(self) -> dict[str, Any] | None:
        with self._lock:
            if self._fault["count"] > 0:
                self._fault["count"] -= 1
                return dict(self._fault)
        return None

    # ------------------------------------------------------------------------------ records
    def _item_row(self, key: str) -> tuple[Any, ...] | None:
        key = unquote(key)
        column, value = ("externalid", key[4:]) if key.startswith("eid:") else ("id", key)
        with self._lock:
            return self._db.execute(f"SELECT id, itemid, externalid, lastmodifieddate FROM item WHERE {column} = ?",
                                    (value,)).fetchone()

    def _record(self, row: tuple[Any, ...], expand: bool) -> dict[str, Any]:
        item_id, item_name, external_id, modified = row
        href = f"{self.url}/services/rest/record/v1/inventoryItem/{item_id}"
        locations: dict[str, Any] = {"links": [{"rel": "self", "href": f"{href}/locations"}]}
        if expand:
            with self._lock:
                lines = self._db.execute(
                    "SELECT il.location, l.name, il.reorderpoint, il.preferredstocklevel, il.safetystocklevel, "
                    "il.leadtime FROM inventoryitemlocations il JOIN location l ON l.id = il.location "
                    "WHERE il.item = ? ORDER BY il.location", (item_id,)).fetchall()
            items = [{"links": [], "location": {"id": str(loc), "refName": name}, "reorderPoint": rop,
                      "preferredStockLevel": pref, "safetyStockLevel": ss, "leadTime": lead}
                     for loc, name, rop, pref, ss, lead in lines]
            locations.update({"items": items, "totalResults": len(items), "count": len(items), "hasMore": False,
                              "offset": 0})
        return {"links": [{"rel": "self", "href": href}], "id": str(item_id), "itemId": item_name,
                "externalId": external_id, "itemType": {"id": "InvtPart"},
                "lastModifiedDate": modified.replace(" ", "T") + "Z", "locations": locations}

    def _get_item(self, request: JsonRequest, key: str) -> Answer:
        row = self._item_row(key)
        if row is None:
            return ns_error(404, "The record instance does not exist. Provide a valid record instance ID.",
                            "NONEXISTENT_ID", **{"o:urlPath": "/inventoryItem"})
        expand = parse_qs(urlsplit(request.path).query).get("expandSubResources", ["false"])[-1] == "true"
        return 200, self._record(row, expand), {}

    def _patch_item(self, request: JsonRequest, key: str) -> Answer:
        row = self._item_row(key)
        if row is None:
            return ns_error(404, "The record instance does not exist. Provide a valid record instance ID.",
                            "NONEXISTENT_ID", **{"o:urlPath": "/inventoryItem"})
        parsed = self._patch_lines(((request.json() or {}).get("locations") or {}).get("items") or [])
        if not isinstance(parsed, list):
            return parsed
        updates = parsed
        with self._lock:
            for location, _ in updates:
                if self._db.execute("SELECT 1 FROM location WHERE id = ?", (location,)).fetchone() is None:
                    return ns_error(400, f"Invalid location reference key {location}.", "INVALID_KEY_OR_REF",
                                    **{"o:errorPath": "locations.items.location"})
            for location, values in updates:
                self._upsert_line(row[0], location, values)
            self._touch(row[0])
        return 204, None, {"Location": f"{self.url}/services/rest/record/v1/inventoryItem/{row[0]}"}

    def _patch_lines(self, lines: Any) -> list[tuple[int, dict[str, Any]]] | Answer:
        """The ``locations`` lines of a PATCH as (location id, columns to set), or NetSuite's 400."""
        if not isinstance(lines, list):
            return ns_error(400, "Invalid sublist format: locations.items must be an array.", "INVALID_CONTENT",
                            **{"o:errorPath": "locations.items"})
        updates = []
        for n, line in enumerate(lines):
            ref = line.get("location") or {}
            try:
                location = int(ref.get("id") if isinstance(ref, dict) else ref)
            except (TypeError, ValueError):
                return ns_error(400, "Invalid field value for location: a reference {\"id\": ...} is required.",
                                "USER_ERROR", **{"o:errorPath": f"locations.items[{n}].location"})
            values = {}
            for rest_name, column in _LINE_FIELDS:
                if rest_name in line:
                    value = line[rest_name]
                    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)
                                              or value < 0):
                        return ns_error(400, f"Invalid number (must be at least 0): {value!r}.", "NUMBER_REQD",
                                        **{"o:errorPath": f"locations.items[{n}].{rest_name}"})
                    values[column] = value
            updates.append((location, values))
        return updates

    def _upsert_line(self, item: int, location: int, values: dict[str, Any]) -> None:
        self._db.execute("INSERT OR IGNORE INTO inventoryitemlocations (item, location) VALUES (?, ?)", (item, location))
        for column, value in values.items():  # columns from a fixed list above
            self._db.execute(f"UPDATE inventoryitemlocations SET {column} = ? WHERE item = ? AND location = ?",
                             (value, item, location))

    def _touch(self, item: int, when: str | None = None) -> None:
        stamp = when or datetime.now(UTC).isoformat(sep=" ", timespec="microseconds")[:26]
        self._db.execute("UPDATE item SET lastmodifieddate = ? WHERE id = ?", (stamp, item))

    # ------------------------------------------------------------------------------ SuiteQL
    def _suiteql(self, request: JsonRequest) -> Answer:
        if (request.header("Prefer") or "").strip().lower() != "transient":
            return ns_error(400, "The request header 'Prefer: transient' is required for SuiteQL queries.",
                            "INVALID_HEADER", **{"o:errorHeader": "Prefer"})
        query = parse_qs(urlsplit(request.path).query)
        try:
            limit = int(query.get("limit", ["1000"])[-1])
            offset = int(query.get("offset", ["0"])[-1])
        except ValueError:
            return ns_error(400, "Invalid value for the query parameter limit or offset.", "INVALID_PARAMETER")
        if not 1 <= limit <= 1000:
            return ns_error(400, "The limit must be between 1 and 1000.", "INVALID_PARAMETER",
                            **{"o:errorQueryParam": "limit"})
        if offset < 0 or offset % limit:
            return ns_error(400, "The offset must be a multiple of the limit.", "INVALID_PARAMETER",
                            **{"o:errorQueryParam": "offset"})
        q = str((request.json() or {}).get("q") or "").strip()
        if not q.upper().startswith("SELECT") or ";" in q:
            return ns_error(400, "Invalid search query: only one SELECT statement is allowed.", "INVALID_PARAMETER",
                            **{"o:errorPath": "q"})
        try:
            with self._lock:
                cursor = self._db.execute(q)
                columns = [d[0].lower() for d in cursor.description]
                rows = cursor.fetchall()
        except (sqlite3.Error, ValueError) as exc:
            return ns_error(400, f"Invalid search query. Detailed unprocessed description follows. {exc}",
                            "INVALID_PARAMETER", **{"o:errorPath": "q"})
        rows = rows[:100_000]  # SuiteQL's most rows per query
        page = rows[offset:offset + limit]
        base = f"{self.url}{_SUITEQL.pattern}"
        links = [{"rel": "self", "href": f"{base}?limit={limit}&offset={offset}"}]
        if offset + limit < len(rows):
            links.append({"rel": "next", "href": f"{base}?limit={limit}&offset={offset + limit}"})
        if offset:
            links.append({"rel": "previous", "href": f"{base}?limit={limit}&offset={offset - limit}"})
        items = [{"links": [], **{c: (None if v is None else str(v)) for c, v in zip(columns, r, strict=True)}}
                 for r in page]
        return 200, {"links": links, "count": len(items), "hasMore": offset + limit < len(rows), "items": items,
                     "offset": offset, "totalResults": len(rows)}, {}

    # ------------------------------------------------------------------------------ control surface
    def records(self) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute("SELECT id, itemid, externalid, lastmodifieddate FROM item ORDER BY id").fetchall()
        out = []
        for row in rows:
            record = self._record(row, expand=True)
            record["short"] = [{"itemId": row[2] or row[1], "locationId": line["location"]["refName"],
                                "safetyStock": line["safetyStockLevel"], "reorderPoint": line["reorderPoint"],
                                "leadTimeDays": line["leadTime"]} for line in record["locations"]["items"]]
            out.append(record)
        return out

    def requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(e) for e in self.log]

    def edit(self, change: dict[str, Any]) -> dict[str, Any]:
        """A NetSuite user's edit: creates the item and location when new. NetSuite form ``{"itemId",
        "externalId", "locations": {"items": [{"location": {"id"|"refName"}, "reorderPoint", ...}]}}`` or the
        short form; ``lastModifiedDate`` (``YYYY-MM-DD HH:MM:SS[.ffffff]``) sets the stamp (for ties)."""
        if "locationId" in change:
            lines = [{"location": {"refName": str(change["locationId"])},
                      **({"safetyStockLevel": change["safetyStock"]} if "safetyStock" in change else {}),
                      **({"reorderPoint": change["reorderPoint"]} if "reorderPoint" in change else {}),
                      **({"leadTime": change["leadTimeDays"]} if "leadTimeDays" in change else {})}]
            item_name, external = str(change["itemId"]), str(change.get("externalId", change["itemId"]))
        else:
            lines = (change.get("locations") or {}).get("items") or []
            item_name, external = str(change["itemId"]), str(change.get("externalId", change["itemId"]))
        when = change.get("lastModifiedDate")
        if when is not None:
            when = datetime.fromisoformat(str(when).replace("T", " ").rstrip("Z")).isoformat(sep=" ",
                                                                                             timespec="microseconds")
        with self._lock:
            self._db.execute("INSERT OR IGNORE INTO item (itemid, externalid) VALUES (?, ?)", (item_name, external))
            item = self._db.execute("SELECT id FROM item WHERE itemid = ?", (item_name,)).fetchone()[0]
            for line in lines:
                ref = line.get("location") or {}
                location = self._location(ref)
                values = {column: line[name] for name, column in _LINE_FIELDS if name in line}
                self._upsert_line(item, location, values)
            self._touch(item, when)
            row = self._db.execute("SELECT id, itemid, externalid, lastmodifieddate FROM item WHERE id = ?",
                                   (item,)).fetchone()
        return self._record(row, expand=True)

    def set_stock(self, change: dict[str, Any]) -> dict[str, Any]:
        """Set an item-location's quantities (short form or NetSuite's names); the others are left as they are.
        A new item or location is created (a new item gets a lastmodifieddate, an existing one keeps its own:
        inventory transactions do not edit the item record)."""
        short = "locationId" in change
        ref = {"refName": str(change["locationId"])} if short else dict(change.get("location") or {})
        item_name = str(change.get("itemId") or change.get("externalId") or "")
        if not item_name or not (ref.get("id") is not None or ref.get("refName")):
            raise ValueError("stock needs itemId (or externalId) and locationId (or location {id|refName})")
        values = {}
        for short_name, ns_name, column in _STOCK_FIELDS:
            name = short_name if short else ns_name
            if name in change:
                value = change[name]
                if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
                    raise ValueError(f"{name} must be a number, not {value!r}")
                values[column] = value
        external = str(change.get("externalId", item_name))
        with self._lock:
            row = self._db.execute("SELECT id FROM item WHERE itemid = ?", (item_name,)).fetchone()
            if row is None:
                self._db.execute("INSERT INTO item (itemid, externalid) VALUES (?, ?)", (item_name, external))
                row = self._db.execute("SELECT id FROM item WHERE itemid = ?", (item_name,)).fetchone()
                self._touch(row[0])
            location = self._location(ref)
            self._upsert_line(row[0], location, values)
            self._db.execute("UPDATE inventoryitemlocations SET quantityavailable = "
                             "COALESCE(quantityonhand, 0) - COALESCE(quantitycommitted, 0) WHERE item = ? AND "
                             "location = ?", (row[0], location))
        return next(r for r in self.stock() if r["item"] == row[0] and r["location"] == location)

    def stock(self) -> list[dict[str, Any]]:
        with self._lock:
            cursor = self._db.execute(
                "SELECT il.item, i.itemid, i.externalid, il.location, l.name AS locationname, il.quantityonhand, "
                "il.quantitycommitted, il.quantityintransit, il.quantityonorder, il.quantityavailable "
                "FROM inventoryitemlocations il JOIN item i ON i.id = il.item JOIN location l ON l.id = il.location "
                "ORDER BY il.item, il.location")
            columns = [d[0] for d in cursor.description]
            return [dict(zip(columns, r, strict=True)) for r in cursor.fetchall()]

    def _post_stock(self, request: JsonRequest) -> Answer:
        body = request.json()
        changes = body["stock"] if isinstance(body, dict) and "stock" in body else [body]
        try:
            return 200, {"stock": [self.set_stock(c) for c in changes]}, {}
        except (ValueError, KeyError, TypeError) as exc:
            return 400, {"error": str(exc)}, {}

    def _location(self, ref: dict[str, Any]) -> int:
        if ref.get("id") is not None:
            self._db.execute("INSERT OR IGNORE INTO location (id, name) VALUES (?, ?)",
                             (int(ref["id"]), str(ref.get("refName") or f"Location {ref['id']}")))
            return int(ref["id"])
        self._db.execute("INSERT OR IGNORE INTO location (name) VALUES (?)", (str(ref["refName"]),))
        return int(self._db.execute("SELECT id FROM location WHERE name = ?", (str(ref["refName"]),)).fetchone()[0])

    def location_id(self, name: str) -> str:
        with self._lock:
            return str(self._location({"refName": name}))

    def _edit(self, request: JsonRequest) -> Answer:
        body = request.json()
        changes = body["records"] if isinstance(body, dict) and "records" in body else [body]
        return 200, {"records": [self.edit(c) for c in changes]}, {}

    def inject_faults(self, status: int, count: int, retry_after: float | None = None) -> None:
        with self._lock:
            self._fault = {"status": status, "count": count, "retryAfter": retry_after}

    def _faults(self, request: JsonRequest) -> Answer:
        body = request.json()
        status, count, retry_after = int(body.get("status", 503)), int(body["count"]), body.get("retryAfter")
        if status not in (429, 503) or count < 0 or (retry_after is not None and float(retry_after) < 0):
            return 400, {"error": "status must be 429 or 503, count >= 0, retryAfter >= 0"}, {}
        self.inject_faults(status, count, None if retry_after is None else float(retry_after))
        return 200, {"status": status, "count": count, "retryAfter": retry_after}, {}

    # ------------------------------------------------------------------------------ for tests
    @contextmanager
    def holding(self) -> Iterator[threading.Event]:
        """Requests admitted while this is open wait in flight until the event is set (or it closes)."""
        gate = threading.Event()
        with self._lock:
            self._gate = gate
        try:
            yield gate
        finally:
            gate.set()
            with self._lock:
                self._gate = None

    def wait_until(self, predicate: Any, timeout: float = 10) -> bool:
        """Wait for ``predicate(self)`` (re-checked whenever a request starts, ends or is throttled)."""
        with self._lock:
            return self._lock.wait_for(lambda: predicate(self), timeout)

