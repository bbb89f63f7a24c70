"""The ``netsuite`` kind: Oracle NetSuite through SuiteTalk REST web services, signed with token-based
authentication (OAuth 1.0a, HMAC-SHA256, realm = account id). Stdlib only: the Lambda layer stays small.

- Reads the item's per-location planning fields from the REST Record API
  (``GET /services/rest/record/v1/inventoryItem/{id}?expandSubResources=true``, sublist ``locations``).
- Writes them with ``PATCH`` on the same record (a keyed sublist line is updated in place; 204 No Content).
  NetSuite documents no ETag/If-Match on REST records, so a snapshot has no version: the write is
  read-compare-write without a token (see docs/connectors/netsuite.md for the window that leaves).
- Reads an item's stock at a location with SuiteQL over the same table (``quantityonhand``,
  ``quantitycommitted``, ``quantityintransit``): :meth:`NetSuiteConnector.read_stock`.
- Pulls changes with SuiteQL (``POST /services/rest/query/v1/suiteql``, ``Prefer: transient``) ordered by a
  unique key (last modified second, item id, location id); the cursor is the last key seen, so rows sharing a
  timestamp are neither skipped nor repeated across pulls.

Options: ``itemIdField`` (``externalId`` default, ``itemId`` or ``internalId``: what distsync's item id is in
NetSuite), ``locationMap`` (distsync location -> NetSuite location internal id; without it a location is looked
up by name), ``pageSize`` (SuiteQL rows per page, at most 1000), ``fields`` (REST/SuiteQL field names, should an
account's metadata catalogue name them differently), ``http`` (:class:`ConnectorHttp` settings).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from ..partners.base import PartnerRejected
from .http import Answer, ConnectorHttp
from .port import (
    ChangePage,
    ConnectorError,
    ItemLocationChange,
    NotFound,
    PlanningParameters,
    Snapshot,
    StockBalance,
    WriteRequest,
)

RECORD = "/services/rest/record/v1"
SUITEQL = "/services/rest/query/v1/suiteql"
MAX_PAGE = 1000  # NetSuite's largest page (Collection Paging)
TS_FORMAT = "YYYY-MM-DD HH24:MI:SS"  # the cursor's timestamp, fixed width so it also sorts as text
# REST record field names (sublist ``locations`` of ``inventoryItem``) and their SuiteQL columns
# (table ``inventoryItemLocations``). Named after the SOAP schema's InventoryItemLocations; an account whose
# metadata catalogue differs overrides them with options["fields"].
FIELDS = {
    "sublist": "locations", "location": "location", "reorderPoint": "reorderPoint",
    "safetyStock": "safetyStockLevel", "preferredStock": "preferredStockLevel", "leadTime": "leadTime",
    "table": "inventoryItemLocations", "colItem": "item", "colLocation": "location",
    "colReorderPoint": "reorderpoint", "colSafetyStock": "safetystocklevel", "colLeadTime": "leadtime",
    # stock (read only): on hand at the location, committed to orders, shipped on transfer orders to it and not
    # yet received
    "colOnHand": "quantityonhand", "colCommitted": "quantitycommitted", "colInTransit": "quantityintransit",
}
ERROR_STATUSES = tuple(s for s in range(400, 500) if s not in (404, 429))  # NetSuite's words, not raw bytes


# ------------------------------------------------------------------------------------------- OAuth 1.0a
def percent_encode(value: str) -> str:
    """RFC 5849 3.6: UTF-8, then every octet but ALPHA / DIGIT / "-" / "." / "_" / "~" as %XX (upper case)."""
    return quote(value, safe="~")


def base_string_uri(url: str) -> str:
    """RFC 5849 3.4.1.2: scheme and host lower case, the default port dropped, no query or fragment."""
    parts = urlsplit(url)
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    default = {"http": 80, "https": 443}.get(scheme)
    netloc = host if parts.port in (None, default) else f"{host}:{parts.port}"
    return f"{scheme}://{netloc}{parts.path or '/'}"


def normalized_parameters(pairs: Iterable[tuple[str, str]]) -> str:
    """RFC 5849 3.4.1.3.2: encode names and values, sort by name then value, join ``name=value`` with ``&``."""
    encoded = sorted((percent_encode(k), percent_encode(v)) for k, v in pairs)
    return "&".join(f"{k}={v}" for k, v in encoded)


def signature_base_string(method: str, url: str, oauth_params: Mapping[str, str],
                          body_params: Iterable[tuple[str, str]] = ()) -> str:
    """RFC 5849 3.4.1: the query's parameters (decoded), the oauth_* parameters (never ``realm`` or
    ``oauth_signature``) and form-encoded body parameters (distsync sends JSON, so none)."""
    query = parse_qsl(urlsplit(url).query, keep_blank_values=True)
    oauth = [(k, v) for k, v in oauth_params.items() if k not in ("realm", "oauth_signature")]
    params = normalized_parameters([*query, *oauth, *body_params])
    return "&".join((method.upper(), percent_encode(base_string_uri(url)), percent_encode(params)))


def sign(base_string: str, consumer_secret: str, token_secret: str, method: str = "HMAC-SHA256") -> str:
    """RFC 5849 3.4.2 (HMAC-SHA1) and its SHA-256 variant NetSuite requires; base64 of the MAC."""
    digest = {"HMAC-SHA256": hashlib.sha256, "HMAC-SHA1": hashlib.sha1}[method]
    key = f"{percent_encode(consumer_secret)}&{percent_encode(token_secret)}".encode()
    return base64.b64encode(hmac.new(key, base_string.encode(), digest).digest()).decode()


def authorization_header(realm: str, params: Mapping[str, str]) -> str:
    """RFC 5849 3.5.1: ``OAuth realm="...", name="value", ...`` with the values percent-encoded."""
    fields_ = [f'realm="{realm}"', *(f'{percent_encode(k)}="{percent_encode(v)}"' for k, v in params.items())]
    return "OAuth " + ", ".join(fields_)


def parse_authorization(value: str) -> dict[str, str]:
    """The parameters of an ``OAuth ...`` Authorization header (values percent-decoded)."""
    from urllib.parse import unquote

    if not value.lower().startswith("oauth "):
        return {}
    return {k: unquote(v) for k, v in re.findall(r'([A-Za-z0-9_]+)="([^"]*)"', value[6:])}


@dataclass
class TokenBasedAuth:
    """NetSuite TBA as an :class:`~.http.Auth`: every request signed anew (a fresh nonce and timestamp, so a
    retry is never a replay). ``credentials`` returns ``{"accountId", "consumerKey", "consumerSecret",
    "tokenId", "tokenSecret"}``, read once and again after a 401 (a rotated token is picked up)."""

    credentials: Callable[[], Mapping[str, str]]
    clock: Callable[[], float] = time.time

    _cached: Mapping[str, str] | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def headers(self, method: str, url: str) -> dict[str, str]:
        with self._lock:
            if self._cached is None:
                creds = self.credentials()
                missing = [k for k in ("accountId", "consumerKey", "consumerSecret", "tokenId", "tokenSecret")
                           if not creds.get(k)]
                if missing:
                    raise ConnectorError(f"the NetSuite connection's secret lacks {', '.join(missing)}")
                self._cached = creds
            creds = self._cached
        params = {"oauth_consumer_key": creds["consumerKey"], "oauth_token": creds["tokenId"],
                  "oauth_signature_method": "HMAC-SHA256", "oauth_timestamp": str(int(self.clock())),
                  "oauth_nonce": secrets.token_hex(16), "oauth_version": "1.0"}
        params["oauth_signature"] = sign(signature_base_string(method, url, params),
                                         creds["consumerSecret"], creds["tokenSecret"])
        return {"Authorization": authorization_header(realm(creds["accountId"]), params)}

    def invalidate(self) -> None:
        with self._lock:
            self._cached = None


def realm(account_id: str) -> str:
    """The account id as the realm: upper case with an underscore (``1234567_SB1``), though the host name
    spells it ``1234567-sb1``."""
    return account_id.strip().upper().replace("-", "_")


# ------------------------------------------------------------------------------------------- SuiteQL
@dataclass(frozen=True)
class CursorKey:
    """Where a delta pull stopped: the last row's modified second (``YYYY-MM-DD HH:MM:SS``) and its unique
    tie-breakers (item and location internal ids)."""

    modified: str
    item: int
    location: int

    def encode(self) -> str:
        return f"v1|{self.modified}|{self.item}|{self.location}"

    @staticmethod
    def decode(cursor: str) -> CursorKey:
        parts = cursor.split("|")
        if len(parts) != 4 or parts[0] != "v1" or not re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", parts[1]):
            raise ConnectorError(f"not a NetSuite delta cursor: {cursor!r}")
        try:
            return CursorKey(parts[1], int(parts[2]), int(parts[3]))
        except ValueError as exc:
            raise ConnectorError(f"not a NetSuite delta cursor: {cursor!r}") from exc


@dataclass(frozen=True)
class SuiteQlPage:
    items: list[dict[str, Any]]
    has_more: bool
    offset: int
    total: int | None
    next_href: str | None


def parse_suiteql_page(body: Any) -> SuiteQlPage:
    """A SuiteQL answer: ``items`` (each with its own ``links``), ``hasMore``, ``offset``, ``totalResults`` and
    ``links`` (``rel`` next/previous/first/last/self)."""
    if not isinstance(body, dict) or not isinstance(body.get("items"), list) or "hasMore" not in body:
        raise ConnectorError(f"not a SuiteQL page (items/hasMore missing): {body!r:.200}")
    links = {link.get("rel"): link.get("href") for link in body.get("links") or [] if isinstance(link, dict)}
    rows = [{k.lower(): v for k, v in row.items() if k != "links"} for row in body["items"]]
    total = body.get("totalResults")
    return SuiteQlPage(rows, bool(body["hasMore"]), int(body.get("offset") or 0),
                       int(total) if total is not None else None, links.get("next"))


def sql_string(value: str) -> str:
    """A SuiteQL string literal: single quotes doubled (distsync ids never reach a query otherwise)."""
    return "'" + value.replace("'", "''") + "'"


def parse_stock_row(row: Mapping[str, Any], item_id: str, location_id: str, *, as_of: str | None = None,
                    name: str = "netsuite") -> StockBalance:
    """A row of :meth:`NetSuiteConnector.stock_query` (``onhand``, ``committed``, ``intransit``; SuiteQL answers
    numbers as strings and an empty quantity as null, which is 0) as a balance. NetSuite's quantities are in the
    item's base unit (not named here: ``unit_of_measure`` None)."""
    try:
        values = [float(row.get(column) or 0) for column in ("onhand", "committed", "intransit")]
    except (TypeError, ValueError) as exc:
        raise ConnectorError(f"{name}: stock quantities that are not numbers: {dict(row)!r:.200}") from exc
    return StockBalance(item_id, location_id, values[0], values[1], values[2], as_of)


def _now_utc() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def error_words(answer: Answer) -> tuple[str | None, str]:
    """NetSuite's error body ``{"type","title","status","o:errorDetails":[{"detail","o:errorCode"}]}`` as
    (first error code, the details joined); a body that is not one: its first bytes."""
    try:
        body = answer.json()
    except ConnectorError:
        body = None
    details = body.get("o:errorDetails") if isinstance(body, dict) else None
    if not isinstance(details, list) or not details:
        title = body.get("title") if isinstance(body, dict) else None
        return None, str(title or answer.data[:300].decode("utf-8", "replace"))
    code = next((d.get("o:errorCode") for d in details if isinstance(d, dict) and d.get("o:errorCode")), None)
    words = "; ".join(str(d.get("detail")) for d in details if isinstance(d, dict) and d.get("detail"))
    return code, words or str(body.get("title") or "")


# ------------------------------------------------------------------------------------------- connector
class NetSuiteConnector:
    kind = "netsuite"

    def __init__(self, name: str, base_url: str, credentials: Callable[[], dict[str, str]] | None = None,
                 options: dict[str, Any] | None = None):
        options = options or {}
        self.name = name
        self.auth = TokenBasedAuth(credentials or dict)
        # X-N-OperationId: NetSuite's id of a request, seen on its answers (not in the REST guide; see the doc)
        self.http = ConnectorHttp(name, base_url, self.auth, request_id_headers=("X-N-OperationId",),
                                  **options.get("http", {}))
        self.item_id_field = options.get("itemIdField", "externalId")
        if self.item_id_field not in ("externalId", "itemId", "internalId"):
            raise ValueError(f"{name}: itemIdField must be externalId, itemId or internalId")
        self.location_map: dict[str, str] = {str(k): str(v) for k, v in (options.get("locationMap") or {}).items()}
        self._distsync_location = {v: k for k, v in self.location_map.items()}
        self.page_size = max(1, min(int(options.get("pageSize", MAX_PAGE)), MAX_PAGE))
        self.f = {**FIELDS, **options.get("fields", {})}
        self._ids: dict[tuple[str, str], str] = {}  # looked-up internal ids, per container (they do not change)

    # -------------------------------------------------------------------------------- read and write
    def read_parameters(self, item_id: str, location_id: str, *, correlation_id: str) -> Snapshot:
        item = self._item_key(item_id, correlation_id)
        location = self._location_id(location_id, correlation_id)
        if item is None or location is None:
            return Snapshot(None)
        answer = self._call("GET", f"{RECORD}/inventoryItem/{item}?expandSubResources=true", correlation_id)
        if answer.status == 404:
            return Snapshot(None)
        line = self._line(answer.json(), location)
        return Snapshot(None if line is None else self._parameters(line))  # no version: none documented

    def write_parameters(self, request: WriteRequest, snapshot: Snapshot) -> str | None:
        item = self._item_key(request.item_id, request.correlation_id)
        location = self._location_id(request.location_id, request.correlation_id)
        if item is None or location is None:
            raise NotFound(f"{self.name}: no NetSuite item {request.item_id!r} or location {request.location_id!r}")
        f, target = self.f, request.target
        line: dict[str, Any] = {f["location"]: {"id": location}, f["safetyStock"]: target.safety_stock,
                                f["reorderPoint"]: target.reorder_point}
        if target.lead_time_days is not None:
            line[f["leadTime"]] = target.lead_time_days
        # locations is keyed by location: the matching line is updated, the others are left as they are
        answer = self._call("PATCH", f"{RECORD}/inventoryItem/{item}", request.correlation_id,
                            body={f["sublist"]: {"items": [line]}})
        if answer.status == 404:
            raise NotFound(f"{self.name}: NetSuite has no inventory item {request.item_id!r}")
        return answer.request_id

    def restart_point(self, cursor: str) -> str:
        """Where the next pull starts once this one caught up: the cursor's whole second again. NetSuite keeps
        seconds, so a row saved in the second the pull read it (after it was read) has the cursor's time and a
        tie-breaker at or below it; read again, an unchanged row is not published again."""
        key = CursorKey.decode(cursor)
        return CursorKey(key.modified, 0, 0).encode()

    # -------------------------------------------------------------------------------- stock
    def read_stock(self, item_id: str, location_id: str, *, correlation_id: str) -> StockBalance | None:
        """The item's quantities at the location from SuiteQL over ``inventoryItemLocations``: on hand,
        committed (as ``allocated``) and in transit. None: NetSuite has no such item, location or item-location
        line. Quantities NetSuite leaves empty are 0."""
        location = self._location_id(location_id, correlation_id)
        if location is None or (self.item_id_field == "internalId" and not item_id.isdigit()):
            return None
        page = self._suiteql(self.stock_query(item_id, location), correlation_id, limit=2, offset=0)
        if not page.items:
            return None
        if len(page.items) > 1:
            raise ConnectorError(f"{self.name}: {len(page.items)} inventory item location lines for "
                                 f"{item_id}@{location_id}")
        return parse_stock_row(page.items[0], item_id, location_id, as_of=_now_utc(), name=self.name)

    def stock_query(self, item_id: str, location: str) -> str:
        """One item-location's stock columns; the item named as ``itemIdField`` says, the location by its
        internal id (numbers only reach the query as numbers, strings as quoted literals)."""
        f = self.f
        if not location.isdigit():
            raise ConnectorError(f"{self.name}: NetSuite location ids are numbers, not {location!r} (locationMap)")
        if self.item_id_field == "internalId":
            item_where = f"item.id = {int(item_id)}"
        else:
            item_where = f"item.{self.item_id_field.lower()} = {sql_string(item_id)}"
        location_key = int(location)
        return (f"SELECT il.{f['colOnHand']} AS onhand, il.{f['colCommitted']} AS committed, "
                f"il.{f['colInTransit']} AS intransit "
                f"FROM item JOIN {f['table']} il ON il.{f['colItem']} = item.id "
                f"WHERE {item_where} AND il.{f['colLocation']} = {location_key}")

    # -------------------------------------------------------------------------------- delta pull
    def read_changes(self, cursor: str | None, *, correlation_id: str, limit: int = 500) -> ChangePage:
        """Item-locations changed after ``cursor``, oldest first, at most ``limit`` (whole pages are read; rows
        past ``limit`` are left for the next pull, which starts after the last row returned)."""
        key = CursorKey.decode(cursor) if cursor else None
        query = self.delta_query(key)
        changes: list[ItemLocationChange] = []
        last: CursorKey | None = None
        page_size = max(1, min(self.page_size, limit))
        offset = 0
        while len(changes) < limit:
            page = self._suiteql(query, correlation_id, limit=page_size, offset=offset)
            for row in page.items:
                last = CursorKey(str(row["modified"]), int(row["itemid"]), int(row["locationid"]))
                change = self._change(row)
                if change is not None:
                    changes.append(change)
                if len(changes) >= limit:
                    break
            if not page.has_more or not page.items:
                break
            offset += page_size  # NetSuite wants the offset a multiple of the limit
        return ChangePage(changes, last.encode() if last else None)

    def delta_query(self, after: CursorKey | None) -> str:
        """Rows after ``after`` in (modified second, item, location) order. The coarse ``>=`` on the timestamp
        lets NetSuite use its index; the exact key compares the same text the rows are ordered by, so
        sub-second precision never makes a row come back or go missing."""
        f = self.f
        modified = f"TO_CHAR(item.lastmodifieddate, '{TS_FORMAT}')"
        item_col = {"externalId": "item.externalid", "itemId": "item.itemid", "internalId": "item.id"}
        where = "item.itemtype = 'InvtPart'"
        if after is not None:
            ts = sql_string(after.modified)
            where += (f" AND item.lastmodifieddate >= TO_TIMESTAMP({ts}, '{TS_FORMAT}')"
                      f" AND ({modified} > {ts} OR ({modified} = {ts} AND (item.id > {after.item}"
                      f" OR (item.id = {after.item} AND il.{f['colLocation']} > {after.location}))))")
        return (f"SELECT {modified} AS modified, item.id AS itemid, {item_col[self.item_id_field]} AS itemkey, "
                f"il.{f['colLocation']} AS locationid, loc.name AS locationname, "
                f"il.{f['colSafetyStock']} AS safetystock, il.{f['colReorderPoint']} AS reorderpoint, "
                f"il.{f['colLeadTime']} AS leadtime "
                f"FROM item JOIN {f['table']} il ON il.{f['colItem']} = item.id "
                f"JOIN location loc ON loc.id = il.{f['colLocation']} "
                f"WHERE {where} ORDER BY modified, item.id, il.{f['colLocation']}")

    # -------------------------------------------------------------------------------- helpers
    def _call(self, method: str, path: str, correlation_id: str, *, body: Any = None,
              headers: Mapping[str, str] | None = None) -> Answer:
        answer = self.http.request(method, path, body=body, headers=headers, correlation_id=correlation_id,
                                   ok=(200, 204, *ERROR_STATUSES))
        if answer.status in ERROR_STATUSES:
            code, words = error_words(answer)
            hint = (" (NetSuite refuses the token: check accountId, consumer key/secret and token id/secret in "
                    "the connection's secret, that the token is not revoked, and the clock; the reason is in "
                    "NetSuite's Login Audit Trail)") if answer.status == 401 else ""
            raise PartnerRejected(answer.status, f"{code or 'error'}: {words}{hint}", self.name)
        return answer

    def _suiteql(self, query: str, correlation_id: str, *, limit: int, offset: int) -> SuiteQlPage:
        answer = self._call("POST", f"{SUITEQL}?limit={limit}&offset={offset}", correlation_id,
                            body={"q": query}, headers={"Prefer": "transient"})
        return parse_suiteql_page(answer.json())

    def _lookup(self, kind: str, query: str, correlation_id: str) -> str | None:
        if (kind, query) not in self._ids:
            page = self._suiteql(query, correlation_id, limit=2, offset=0)
            if len(page.items) > 1:
                raise ConnectorError(f"{self.name}: more than one NetSuite {kind} matches ({query})")
            if not page.items:
                return None  # not cached: it may be created later
            self._ids[(kind, query)] = str(page.items[0]["id"])
        return self._ids[(kind, query)]

    def _item_key(self, item_id: str, correlation_id: str) -> str | None:
        """The item as it goes in a record URL: ``eid:<externalId>`` (NetSuite takes external ids wherever an
        internal id goes), the internal id found by ``itemId``, or the internal id itself."""
        if self.item_id_field == "externalId":
            return "eid:" + quote(item_id, safe="")
        if self.item_id_field == "internalId":
            return quote(item_id, safe="")
        return self._lookup("item", f"SELECT id FROM item WHERE itemid = {sql_string(item_id)}", correlation_id)

    def _location_id(self, location_id: str, correlation_id: str) -> str | None:
        if self.location_map:
            return self.location_map.get(location_id)
        return self._lookup("location", f"SELECT id FROM location WHERE name = {sql_string(location_id)}",
                            correlation_id)

    def _line(self, record: Any, location: str) -> dict[str, Any] | None:
        sublist = record.get(self.f["sublist"]) if isinstance(record, dict) else None
        items = sublist.get("items") if isinstance(sublist, dict) else None
        if not isinstance(items, list):
            raise ConnectorError(f"{self.name}: the inventory item has no {self.f['sublist']} sublist items "
                                 f"(expandSubResources): {record!r:.200}")
        for line in items:
            ref = line.get(self.f["location"]) if isinstance(line, dict) else None
            if str(ref.get("id") if isinstance(ref, dict) else ref) == location:
                return line
        return None

    def _parameters(self, line: Mapping[str, Any]) -> PlanningParameters:
        f = self.f
        try:  # an empty field is no parameter set in NetSuite: 0 for distsync
            lead = line.get(f["leadTime"])
            return PlanningParameters(float(line.get(f["safetyStock"]) or 0), float(line.get(f["reorderPoint"]) or 0),
                                      None if lead in (None, "") else int(float(lead)))
        except (TypeError, ValueError) as exc:
            raise ConnectorError(f"{self.name}: planning fields that are not numbers: {dict(line)!r:.200}") from exc

    def _change(self, row: Mapping[str, Any]) -> ItemLocationChange | None:
        """A SuiteQL row as distsync's change; None for a location distsync does not map (not its own)."""
        location = str(row["locationid"])
        if self.location_map:
            if location not in self._distsync_location:
                return None
            location = self._distsync_location[location]
        else:
            location = str(row.get("locationname") or location)
        if not row.get("itemkey"):
            return None  # an item distsync cannot name (no external id): not one of its own
        lead = row.get("leadtime")
        try:
            parameters = PlanningParameters(float(row.get("safetystock") or 0), float(row.get("reorderpoint") or 0),
                                            None if lead in (None, "") else int(float(lead)))
        except (TypeError, ValueError):
            parameters = None  # read it then (claim check)
        return ItemLocationChange(str(row["itemkey"]), location, parameters,
                                  changed_at=str(row["modified"]).replace(" ", "T"))
