"""SAP S/4HANA simulator: the Product Master OData v2 service's supply planning data, as SAP Gateway serves it.

Under ``/sap/opu/odata/sap/API_PRODUCT_SRV``:

- ``GET /`` (service document) and any GET with ``x-csrf-token: Fetch``: a CSRF token bound to a session
  cookie (``SAP_SESSIONID_S4H_100``, set with ``sap-usercontext``); a modifying request without the token or
  with a stale one gets ``403`` with ``x-csrf-token: Required`` ("CSRF token validation failed")
- ``GET /A_ProductSupplyPlanning(Product='..',Plant='..')``: ``{"d": {...}}`` with ``__metadata.etag`` and an
  ``ETag`` header; quantities are Edm.Decimal strings ("110.000"); ``404`` with an OData error body
- ``GET /A_ProductSupplyPlanning?$filter=Product eq '..'``: ``{"d": {"results": [...], "__next": ...}}``, server
  paging (``page_size``) with ``$skiptoken``; ``$top`` and ``$select`` honoured
- ``PATCH`` (or ``MERGE``, or ``POST`` with ``X-HTTP-Method: MERGE``) on an entity: ``If-Match`` required
  (``428``), ``412`` on a stale ETag, ``204`` with the new ETag; a new ETag on every change
- ``POST /$batch`` (multipart/mixed): each change set in its own unit of work (a failed one is rolled back and
  answered by a single error response, the others go on), answered ``202``
- every modifying request needs ``Authorization``: Basic (``users``) or Bearer from ``POST /oauth/token``
  (form-encoded client credentials, tokens that expire after ``token_seconds``)

Control surface (``/_sim/s4/``, what the local stack mounts):

- ``GET records``, ``GET requests`` (method, path, status, ``x-csrf-token``, ``If-Match``, the Authorization
  scheme only), ``GET events`` (business events pushed, with the subscriber's status)
- ``POST records``: create or change a record as an S/4 user would (SAP field names, or ``{"itemId",
  "locationId", "safetyStock", "reorderPoint", "leadTimeDays"}``); then the product's business event is
  pushed to the subscriber
- ``POST subscriber`` ``{"url", "headers"?, "contentType"?}``: where events go (the event mesh's webhook; the
  headers carry its configured ``Authorization``)
- ``POST faults`` ``{"status": 429|503|412, "count": N, "retryAfter": S}``: the next N OData requests (412: the
  next N writes, as if a user saved the record between read and write) fail so
- ``POST expire`` ``{"sessions": true, "tokens": true}``: sessions time out (stale CSRF tokens), OAuth tokens
  expire
- ``POST stock``: book stock as goods movements would (the short form ``{"itemId", "locationId", "onHand",
  "allocated", "inTransit", "unitOfMeasure"?, "storageLocation"?, "batch"?}`` sets the unrestricted-use row of
  storage location ``0001`` (or the one named); ``allocated``/``inTransit`` have no place in the Material Stock
  API and are answered back under ``notInThisApi``), or SAP's field names of ``A_MatlStkInAcctMod`` (one row,
  its stock identifier fields blank unless given); one or ``{"stock": [...]}``. ``GET stock`` lists the rows.

The Material Stock read API (``/sap/opu/odata/sap/API_MATERIAL_STOCK_SRV``, communication scenario SAP_COM_0164):
``GET /A_MatlStkInAcctMod`` with ``$filter`` (``Field eq '...'`` clauses joined by ``and``), ``$select``,
``$top`` and server paging (``__next`` with ``$skiptoken``); quantities (``MatlWrhsStkQtyInMatlBaseUnit``,
Edm.Decimal(31,14)) as strings; the same logon, throttling faults and error bodies as the product service. The
``A_MaterialStock`` entity set and its ``to_MatlStkInAcctMod`` navigation are not simulated.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from email import message_from_bytes
from email.message import Message
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from .http import JsonRequest, JsonServer, entries

SERVICE = "/sap/opu/odata/sap/API_PRODUCT_SRV"
STOCK_SERVICE = "/sap/opu/odata/sap/API_MATERIAL_STOCK_SRV"
STOCK_TYPE = "API_MATERIAL_STOCK_SRV.A_MatlStkInAcctModType"
# A_MatlStkInAcctMod's key (the stock identifier) and its other properties, as the service's metadata lists them
STOCK_KEY = ("Material", "Plant", "StorageLocation", "Batch", "Supplier", "Customer", "WBSElementInternalID",
             "SDDocument", "SDDocumentItem", "InventorySpecialStockType", "InventoryStockType")
STOCK_PROPERTIES = (*STOCK_KEY, "WBSElementExternalID", "MaterialBaseUnit", "MatlWrhsStkQtyInMatlBaseUnit")
_STOCK_CLAUSE = re.compile(r"^\s*(?P<field>\w+)\s+eq\s+'(?P<value>(?:[^']|'')*)'\s*$")
SESSION_COOKIE = "SAP_SESSIONID_S4H_100"
ENTITY_TYPE = "API_PRODUCT_SRV.A_ProductSupplyPlanningType"
EVENT_TYPE = "sap.s4.beh.product.v1.Product.Changed.v1"
EVENT_SOURCE = "/default/sap.s4.beh/S4HCLNT100"
_KEY = re.compile(r"/A_ProductSupplyPlanning\(Product='(?P<product>(?:[^']|'')*)',Plant='(?P<plant>(?:[^']|'')*)'\)")
_QUANTITIES = ("SafetyStockQuantity", "ReorderThresholdQuantity")
_WRITABLE = (*_QUANTITIES, "PlannedDeliveryDurationInDays", "MRPType")
_SHORT = {"itemId": "Product", "locationId": "Plant", "safetyStock": "SafetyStockQuantity",
          "reorderPoint": "ReorderThresholdQuantity", "leadTimeDays": "PlannedDeliveryDurationInDays",
          "unitOfMeasure": "BaseUnit"}
Answer = tuple[int, Any, dict[str, str]]


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Answer:
    """SAP Gateway's JSON error body."""
    body = {"error": {"code": code, "message": {"lang": "en", "value": message},
                      "innererror": {"transactionid": uuid.uuid4().hex.upper(), "errordetails": []}}}
    return status, body, headers or {}


def _decimal(value: Any, field: str, scale: int, digits: int) -> str:
    """An Edm.Decimal in OData v2 JSON: a string; more decimals or digits than the type has are refused."""
    if not isinstance(value, str):
        raise ValueError(f"{field}: an Edm.Decimal is a JSON string in OData v2, not {value!r}")
    try:
        parsed = Decimal(value)
    except InvalidOperation as exc:
        raise ValueError(f"{field}: {value!r} is not a decimal") from exc
    if not parsed.is_finite() or parsed < 0 or -parsed.as_tuple().exponent > scale or \
            abs(parsed) >= Decimal(10) ** (digits - scale):
        raise ValueError(f"{field}: {value!r} does not fit Decimal({digits},{scale}) or is negative")
    return format(parsed.quantize(Decimal(1).scaleb(-scale)), "f")


class S4Simulator(JsonServer):
    def __init__(self, port: int = 0, *, users: dict[str, str] | None = None,
                 clients: dict[str, str] | None = None, token_seconds: float = 3600, page_size: int = 50,
                 push_on_api_writes: bool = True):
        self._lock = threading.RLock()
        self.users = dict(users if users is not None else {"DISTSYNC": "s4-password"})
        self.clients = dict(clients if clients is not None else {"distsync": "s4-client-secret"})
        self.token_seconds, self.page_size, self.push_on_api_writes = token_seconds, page_size, push_on_api_writes
        self.records: dict[tuple[str, str], dict[str, Any]] = {}
        self.stock: dict[tuple[str, ...], dict[str, Any]] = {}  # A_MatlStkInAcctMod rows by stock identifier
        self.sessions: dict[str, str] = {}  # session id -> CSRF token
        self.tokens: dict[str, float] = {}  # bearer token -> expiry (time.monotonic)
        self.tokens_issued = 0
        self.requests: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.events_pushed = threading.Condition(self._lock)
        self.notify_url: str | None = None
        self.subscriber_headers: dict[str, str] = {}
        self.event_content_type = "application/cloudevents+json"
        self._etag_seq = 0
        self._fault: dict[str, Any] = {"status": 0, "count": 0, "retryAfter": 0}
        super().__init__([
            ("POST", re.compile(r"/oauth/token"), self._token, ("application/x-www-form-urlencoded",)),
            ("GET", re.compile(re.escape(SERVICE) + r"(?P<rest>/.*)?"), self._odata),
            ("PATCH", re.compile(re.escape(SERVICE) + r"(?P<rest>/.*)"), self._odata),
            ("MERGE", re.compile(re.escape(SERVICE) + r"(?P<rest>/.*)"), self._odata),
            ("POST", re.compile(re.escape(SERVICE) + r"(?P<rest>/.*)"), self._odata, ("multipart/mixed",)),
            ("GET", re.compile(re.escape(STOCK_SERVICE) + r"(?P<rest>/.*)?"), self._stock_odata),
            ("GET", re.compile(r"/_sim/s4/stock"), lambda _r: (200, {"stock": self.stock_rows()}, {})),
            ("POST", re.compile(r"/_sim/s4/stock"), self._post_stock),
            ("GET", re.compile(r"/_sim/s4/records"), lambda _r: (200, {"records": self.snapshot()}, {})),
            ("POST", re.compile(r"/_sim/s4/records"), self._user_change),
            ("GET", re.compile(r"/_sim/s4/requests"), lambda _r: (200, {"requests": self.request_log()}, {})),
            ("GET", re.compile(r"/_sim/s4/events"), lambda _r: (200, {"events": self.pushed()}, {})),
            ("POST", re.compile(r"/_sim/s4/subscriber"), self._subscribe),
            ("POST", re.compile(r"/_sim/s4/faults"), self._faults),
            ("POST", re.compile(r"/_sim/s4/expire"), self._expire),
        ], port=port)

    @property
    def base_url(self) -> str:
        """The connection's base URL: the host root (the connector adds the service path)."""
        return self.url

    # ------------------------------------------------------------------ state, for tests and the control surface
    def put_record(self, fields: dict[str, Any], *, push: bool = True) -> dict[str, Any]:
        """Create or change a record as an S/4 user would; the product's business event follows."""
        fields = {_SHORT.get(k, k): v for k, v in fields.items()}
        product, plant = str(fields.pop("Product")), str(fields.pop("Plant"))
        if not product or not 0 < len(plant) <= 4:
            raise ValueError("Product and a Plant of 1..4 characters are required")
        values = {}
        for field, value in fields.items():
            if field in _QUANTITIES:
                values[field] = _decimal(str(value) if isinstance(value, int | float) else value, field, 3, 13)
            elif field == "PlannedDeliveryDurationInDays":
                values[field] = _decimal(str(value) if isinstance(value, int) else value, field, 0, 3)
            elif field in ("BaseUnit", "MRPType"):
                values[field] = str(value)
            else:
                raise ValueError(f"{field} is not a supply planning field the simulator keeps")
        with self._lock:
            record = self.records.setdefault((product, plant), {
                "Product": product, "Plant": plant, "SafetyStockQuantity": "0.000",
                "ReorderThresholdQuantity": "0.000", "PlannedDeliveryDurationInDays": "0", "BaseUnit": "EA",
                "MRPType": "VB"})
            record.update(values)
            record["etag"] = self._next_etag()
            entity = dict(record)
        if push:
            self._push(product)
        return entity

    def put_stock(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Book a stock row as goods movements would: the short form (``itemId``, ``locationId``, ``onHand``...)
        or SAP's property names; the row's quantity is replaced. Answers the row (and, for the short form, the
        quantities the API has no place for)."""
        ignored = {k: fields[k] for k in ("allocated", "inTransit") if fields.get(k)}
        if "itemId" in fields or "onHand" in fields:
            row = {"Material": fields.get("itemId"), "Plant": fields.get("locationId"),
                   "StorageLocation": fields.get("storageLocation", "0001"), "Batch": fields.get("batch", ""),
                   "InventoryStockType": "01", "MatlWrhsStkQtyInMatlBaseUnit": fields.get("onHand", 0),
                   "MaterialBaseUnit": fields.get("unitOfMeasure", "EA")}
        else:
            unknown = set(fields) - set(STOCK_PROPERTIES)
            if unknown:
                raise ValueError(f"not properties of A_MatlStkInAcctMod: {', '.join(sorted(unknown))}")
            row = dict(fields)
        entity = {k: str(row.get(k) or "") for k in STOCK_KEY}
        if not entity["Material"] or not 0 < len(entity["Plant"]) <= 4 or len(entity["InventoryStockType"]) > 2:
            raise ValueError("Material, a Plant of 1..4 characters and an InventoryStockType of at most 2 are required")
        entity["InventoryStockType"] = entity["InventoryStockType"] or "01"
        quantity = row.get("MatlWrhsStkQtyInMatlBaseUnit", 0)
        try:
            parsed = Decimal(str(quantity))
        except InvalidOperation as exc:
            raise ValueError(f"MatlWrhsStkQtyInMatlBaseUnit: {quantity!r} is not a decimal") from exc
        if isinstance(quantity, bool) or not parsed.is_finite():
            raise ValueError(f"MatlWrhsStkQtyInMatlBaseUnit: {quantity!r} is not a decimal")
        entity.update({"WBSElementExternalID": str(row.get("WBSElementExternalID") or ""),
                       "MaterialBaseUnit": str(row.get("MaterialBaseUnit") or "EA"),
                       "MatlWrhsStkQtyInMatlBaseUnit": format(parsed.quantize(Decimal("0.001")), "f")})
        with self._lock:
            self.stock[tuple(entity[k] for k in STOCK_KEY)] = entity
        return {**entity, **({"notInThisApi": ignored} if ignored else {})}

    def stock_rows(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(r) for _, r in sorted(self.stock.items())]

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(r) for r in self.records.values()]

    def request_log(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(r) for r in self.requests]

    def pushed(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(e) for e in self.events]

    def wait_for_events(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        """The pushed events once ``count`` were delivered (or timed out: whatever there is)."""
        with self.events_pushed:
            self.events_pushed.wait_for(lambda: sum(e["status"] is not None for e in self.events) >= count,
                                        timeout)
        return self.pushed()

    def inject_faults(self, status: int, count: int, retry_after: float = 0) -> None:
        with self._lock:
            self._fault = {"status": status, "count": count, "retryAfter": retry_after}

    def expire(self, *, sessions: bool = False, tokens: bool = False) -> None:
        with self._lock:
            if sessions:
                self.sessions.clear()
            if tokens:
                self.tokens.clear()

    def _next_etag(self) -> str:
        self._etag_seq += 1
        return f"W/\"'{datetime.now(UTC):%Y%m%d%H%M%S}.{self._etag_seq:07d}'\""

    # ------------------------------------------------------------------ HTTP: logging, faults, auth, CSRF
    def dispatch(self, request: JsonRequest) -> tuple[int, Any, dict[str, str]]:
        status, body, headers = super().dispatch(request)
        if request.path.startswith((SERVICE, STOCK_SERVICE)):
            auth = request.header("Authorization")
            with self._lock:
                self.requests.append({
                    "method": request.method, "path": unquote(request.path), "status": status,
                    "xCsrfToken": request.header("x-csrf-token"), "ifMatch": request.header("If-Match"),
                    "xHttpMethod": request.header("X-HTTP-Method"),
                    "authorization": auth.split(" ")[0] if auth else None})
        return status, body, headers

    def _take_fault(self, writing: bool) -> dict[str, Any] | None:
        with self._lock:
            fault = self._fault
            if fault["count"] > 0 and (fault["status"] != 412 or writing):
                fault["count"] -= 1
                return dict(fault)
        return None

    def _user(self, request: JsonRequest) -> str | None:
        auth = request.header("Authorization") or ""
        scheme, _, value = auth.partition(" ")
        with self._lock:
            if scheme.lower() == "basic":
                try:
                    user, _, password = base64.b64decode(value).decode().partition(":")
                except ValueError:
                    return None
                return user if self.users.get(user) == password and password else None
            if scheme.lower() == "bearer":
                expiry = self.tokens.get(value)
                return "oauth-client" if expiry is not None and time.monotonic() < expiry else None
        return None

    def _session(self, request: JsonRequest) -> str | None:
        cookies = request.header("Cookie") or ""
        match = re.search(rf"(?:^|;\s*){SESSION_COOKIE}=([^;]+)", cookies)
        with self._lock:
            return match.group(1) if match and match.group(1) in self.sessions else None

    def _csrf(self, request: JsonRequest) -> dict[str, str]:
        """``x-csrf-token: Fetch``: the session's token (a new session, with its cookies, when the request
        carries none that is alive)."""
        with self._lock:
            session = self._session(request)
            headers: dict[str, str] = {}
            if session is None:
                session = uuid.uuid4().hex
                self.sessions[session] = base64.b64encode(uuid.uuid4().bytes).decode()
                # two Set-Cookie headers (a dict keeps distinct keys: the names differ in case only)
                headers = {"Set-Cookie": f"{SESSION_COOKIE}={session}; path=/; HttpOnly",
                           "set-cookie": "sap-usercontext=sap-client=100; path=/"}
            return {**headers, "x-csrf-token": self.sessions[session]}

    def _token(self, request: JsonRequest) -> Answer:
        form = {k: v[-1] for k, v in parse_qs(request.body.decode()).items()}
        if form.get("grant_type") != "client_credentials":
            return 400, {"error": "unsupported_grant_type"}, {}
        if self.clients.get(form.get("client_id", "")) != form.get("client_secret") or not form.get("client_secret"):
            return 401, {"error": "invalid_client"}, {}
        token = uuid.uuid4().hex
        with self._lock:
            self.tokens[token] = time.monotonic() + self.token_seconds
            self.tokens_issued += 1
        return 200, {"access_token": token, "token_type": "bearer", "expires_in": int(self.token_seconds)}, {}

    # ------------------------------------------------------------------ the OData service
    def _odata(self, request: JsonRequest, rest: str | None = None) -> Answer:
        if self._user(request) is None:
            return 401, b"Logon failed", {"Content-Type": "text/plain", "WWW-Authenticate": 'Basic realm="SAP"'}
        method = request.method
        if method == "POST" and (request.header("X-HTTP-Method") or "").upper() == "MERGE":
            method = "MERGE"
        writing = method != "GET"
        fault = self._take_fault(writing)
        if fault and fault["status"] in (429, 503):
            return _error(fault["status"], "S4SIM/THROTTLED", "Too many requests",
                          {"Retry-After": f"{fault['retryAfter']:g}"})
        csrf: dict[str, str] = {}
        if not writing:
            if (request.header("x-csrf-token") or "").lower() == "fetch":
                csrf = self._csrf(request)
        else:
            session = self._session(request)
            with self._lock:
                expected = self.sessions.get(session) if session else None
            if expected is None or request.header("x-csrf-token") != expected:
                return 403, b"CSRF token validation failed", {"Content-Type": "text/plain", "x-csrf-token": "Required"}
        path = unquote(rest or "/")
        query = {k: v[-1] for k, v in parse_qs(urlsplit(request.path).query).items()}
        if method == "POST" and path == "/$batch":
            return self._batch(request)
        status, body, headers = self._execute(method, path, query, request.headers, request.body, fault)
        return status, body, {**headers, **csrf}

    def _execute(self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes,
                 fault: dict[str, Any] | None = None) -> Answer:
        if method == "GET" and path in ("", "/"):
            return 200, {"d": {"EntitySets": ["A_Product", "A_ProductPlant", "A_ProductSupplyPlanning"]}}, {}
        if method == "GET" and path == "/A_ProductSupplyPlanning":
            return self._collection(query)
        match = _KEY.fullmatch(path)
        if not match:
            return _error(404, "/IWBEP/CM_MGW_RT/021", f"Resource not found for segment '{path.strip('/')}'")
        key = (match.group("product").replace("''", "'"), match.group("plant").replace("''", "'"))
        if method == "GET":
            with self._lock:
                record = dict(self.records.get(key) or {})
            if not record:
                return _error(404, "/IWBEP/CM_MGW_RT/021", "Resource not found for segment 'A_ProductSupplyPlanning'")
            entity = self._entity(record, query.get("$select"))
            return 200, {"d": entity}, {"ETag": record["etag"]}
        if method in ("PATCH", "MERGE"):
            return self._update(key, headers, body, fault)
        return _error(405, "/IWBEP/CM_MGW_RT/004", f"Method '{method}' not allowed for this resource")

    def _entity(self, record: dict[str, Any], select: str | None) -> dict[str, Any]:
        uri = (f"{self.url}{SERVICE}/A_ProductSupplyPlanning(Product='{quote(record['Product'])}',"
               f"Plant='{quote(record['Plant'])}')")
        fields = {k: v for k, v in record.items() if k != "etag"}
        if select:
            wanted = set(select.split(","))
            fields = {k: v for k, v in fields.items() if k in wanted}
        return {"__metadata": {"id": uri, "uri": uri, "type": ENTITY_TYPE, "etag": record["etag"]}, **fields}

    def _collection(self, query: dict[str, str]) -> Answer:
        filt = query.get("$filter", "")
        match = re.fullmatch(r"Product eq '((?:[^']|'')*)'", filt.strip())
        if filt and not match:
            return _error(400, "S4SIM/FILTER", f"the simulator filters by Product eq '...' only, not {filt!r}")
        product = match.group(1).replace("''", "'") if match else None
        with self._lock:
            rows = sorted((r for r in self.records.values() if product is None or r["Product"] == product),
                          key=lambda r: (r["Product"], r["Plant"]))
            rows = [dict(r) for r in rows]
        skip = int(query.get("$skiptoken", "0") or 0)
        top = int(query["$top"]) if "$top" in query else None
        end = len(rows) if top is None else min(len(rows), top)
        page = rows[skip:min(end, skip + self.page_size)]
        body: dict[str, Any] = {"results": [self._entity(r, query.get("$select")) for r in page]}
        if skip + len(page) < end:
            rest = {k: v for k, v in query.items() if k != "$skiptoken"}
            rest["$skiptoken"] = str(skip + len(page))
            body["__next"] = f"{self.url}{SERVICE}/A_ProductSupplyPlanning?" + "&".join(
                f"{k}={quote(v, safe=chr(39) + ',')}" for k, v in rest.items())
        return 200, {"d": body}, {}

    def _update(self, key: tuple[str, str], headers: dict[str, str], body: bytes,
                fault: dict[str, Any] | None) -> Answer:
        if_match = next((v for k, v in headers.items() if k.lower() == "if-match"), None)
        try:
            changes = json.loads(body or b"{}")
        except ValueError:
            return _error(400, "/IWBEP/CM_MGW_RT/005", "The body is not JSON")
        with self._lock:
            record = self.records.get(key)
            if record is None:
                return _error(404, "/IWBEP/CM_MGW_RT/021", "Resource not found for segment 'A_ProductSupplyPlanning'")
            if fault and fault["status"] == 412:
                record["etag"] = self._next_etag()  # a user saved the record between distsync's read and write
            if not if_match:
                return _error(428, "/IWBEP/CM_MGW_RT/106", "Precondition required: If-Match header missing")
            if if_match != "*" and if_match != record["etag"]:
                return _error(412, "/IWBEP/CM_MGW_RT/022", "The data has been changed by another user (ETag)")
            values = _changes(changes, record)
            if not isinstance(values, dict):
                return values
            record.update(values)
            record["etag"] = self._next_etag()
            etag = record["etag"]
        if self.push_on_api_writes:
            self._push(key[0])
        return 204, None, {"ETag": etag, "x-correlationid": uuid.uuid4().hex}

    # ------------------------------------------------------------------ $batch
    def _batch(self, request: JsonRequest) -> Answer:
        content_type = request.header("Content-Type") or ""
        message = message_from_bytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + request.body)
        if not message.is_multipart():
            return _error(400, "/IWBEP/CM_MGW_RT/BATCH", "The $batch body is not multipart/mixed")
        boundary = f"batchresponse_{uuid.uuid4()}"
        out: list[str] = []
        for part in message.get_payload():
            assert isinstance(part, Message)
            if part.is_multipart():
                out += [f"--{boundary}", *self._changeset(part)]
            else:
                status, body, headers = self._inner(part, writing=False)
                out += [f"--{boundary}", "Content-Type: application/http", "Content-Transfer-Encoding: binary", "",
                        *_http(status, body, headers)]
        out += [f"--{boundary}--", ""]
        return 202, "\r\n".join(out).encode(), {"Content-Type": f"multipart/mixed; boundary={boundary}"}

    def _changeset(self, changeset: Message) -> list[str]:
        """A change set is one unit of work: all its operations, or none and a single error answer."""
        with self._lock:
            saved = {k: dict(v) for k, v in self.records.items()}
            answers = []
            for operation in changeset.get_payload():
                assert isinstance(operation, Message)
                status, body, headers = self._inner(operation, writing=True)
                if status >= 400:
                    self.records = saved
                    return ["Content-Type: application/http", "Content-Transfer-Encoding: binary", "",
                            *_http(status, body, headers)]
                answers.append((status, body, headers))
        inner = f"changesetresponse_{uuid.uuid4()}"
        lines = [f"Content-Type: multipart/mixed; boundary={inner}", ""]
        for status, body, headers in answers:
            lines += [f"--{inner}", "Content-Type: application/http", "Content-Transfer-Encoding: binary", "",
                      *_http(status, body, headers)]
        return [*lines, f"--{inner}--"]

    def _inner(self, operation: Message, *, writing: bool) -> Answer:
        raw = operation.get_payload(decode=True)
        text = (raw if isinstance(raw, bytes) else str(raw).encode()).replace(b"\r\n", b"\n")
        head, _, body = text.partition(b"\n\n")
        request_line, *header_lines = head.decode().split("\n")
        method, target, _ = request_line.split(" ", 2)
        headers = dict(line.split(": ", 1) for line in header_lines if ": " in line)
        if method == "POST" and headers.get("X-HTTP-Method", "").upper() == "MERGE":
            method = "MERGE"
        if writing == (method == "GET"):
            return _error(400, "/IWBEP/CM_MGW_RT/BATCH", f"{method} is not allowed {'in' if writing else 'outside'} "
                                                          "a change set")
        parts = urlsplit(target)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        return self._execute(method, "/" + unquote(parts.path).lstrip("/"), query, headers, body.strip(),
                             self._take_fault(writing) if writing else None)

    # ------------------------------------------------------------------ the Material Stock read API
    def _stock_odata(self, request: JsonRequest, rest: str | None = None) -> Answer:
        if self._user(request) is None:
            return 401, b"Logon failed", {"Content-Type": "text/plain", "WWW-Authenticate": 'Basic realm="SAP"'}
        fault = self._take_fault(False)
        if fault and fault["status"] in (429, 503):
            return _error(fault["status"], "S4SIM/THROTTLED", "Too many requests",
                          {"Retry-After": f"{fault['retryAfter']:g}"})
        csrf = self._csrf(request) if (request.header("x-csrf-token") or "").lower() == "fetch" else {}
        path = unquote(rest or "/")
        if path in ("", "/"):
            return 200, {"d": {"EntitySets": ["A_MaterialSerialNumber", "A_MaterialStock", "A_MatlStkInAcctMod"]}}, csrf
        if path != "/A_MatlStkInAcctMod":
            return _error(404, "/IWBEP/CM_MGW_RT/021", f"Resource not found for segment '{path.strip('/')}'")
        query = {k: v[-1] for k, v in parse_qs(urlsplit(request.path).query).items()}
        wanted: dict[str, str] = {}
        for clause in re.split(r"\s+and\s+", query.get("$filter", "").strip()) if query.get("$filter") else []:
            match = _STOCK_CLAUSE.match(clause)
            if match is None:
                return _error(400, "S4SIM/FILTER", f"the simulator filters by Property eq '...' joined by and only, "
                                                   f"not {clause!r}")
            if match["field"] not in STOCK_PROPERTIES:
                return _error(400, "/IWBEP/CM_MGW_RT/020", f"Property '{match['field']}' is invalid")
            wanted[match["field"]] = match["value"].replace("''", "'")
        select = query.get("$select")
        if select and set(select.split(",")) - set(STOCK_PROPERTIES):
            return _error(400, "/IWBEP/CM_MGW_RT/020", f"Property in $select is invalid: {select!r}")
        with self._lock:
            rows = [dict(r) for _, r in sorted(self.stock.items())
                    if all(r[k] == v for k, v in wanted.items())]
        skip = int(query.get("$skiptoken", "0") or 0)
        end = len(rows) if "$top" not in query else min(len(rows), int(query["$top"]))
        page = rows[skip:min(end, skip + self.page_size)]
        body: dict[str, Any] = {"results": [self._stock_entity(r, select) for r in page]}
        if skip + len(page) < end:
            rest_query = {k: v for k, v in query.items() if k != "$skiptoken"} | {"$skiptoken": str(skip + len(page))}
            body["__next"] = f"{self.url}{STOCK_SERVICE}/A_MatlStkInAcctMod?" + "&".join(
                f"{k}={quote(v, safe=chr(39) + ',')}" for k, v in rest_query.items())
        return 200, {"d": body}, csrf

    def _stock_entity(self, row: dict[str, Any], select: str | None) -> dict[str, Any]:
        key = ",".join(f"{k}='{quote(row[k])}'" for k in STOCK_KEY)
        uri = f"{self.url}{STOCK_SERVICE}/A_MatlStkInAcctMod({key})"
        fields = {k: v for k, v in row.items() if not select or k in select.split(",")}
        return {"__metadata": {"id": uri, "uri": uri, "type": STOCK_TYPE}, **fields}

    def _post_stock(self, request: JsonRequest) -> Answer:
        rows = entries(request.json(), "stock")
        try:
            return 200, {"stock": [self.put_stock(r) for r in rows]}, {}
        except (ValueError, TypeError) as exc:
            return 400, {"error": str(exc)}, {}

    # ------------------------------------------------------------------ control surface and business events
    def _user_change(self, request: JsonRequest) -> Answer:
        try:
            return 200, self.put_record(request.json()), {}
        except ValueError as exc:
            return 400, {"error": str(exc)}, {}

    def _subscribe(self, request: JsonRequest) -> Answer:
        body = request.json()
        with self._lock:
            self.notify_url = body.get("url") or None
            self.subscriber_headers = {str(k): str(v) for k, v in (body.get("headers") or {}).items()}
            self.event_content_type = body.get("contentType") or "application/cloudevents+json"
        return 200, {"url": self.notify_url}, {}

    def _faults(self, request: JsonRequest) -> Answer:
        body = request.json()
        status, count = int(body.get("status", 503)), int(body.get("count", 1))
        if status not in (429, 503, 412) or count < 0:
            return 400, {"error": "status must be 429, 503 or 412 and count >= 0"}, {}
        self.inject_faults(status, count, float(body.get("retryAfter", 0)))
        return 200, {"status": status, "count": count}, {}

    def _expire(self, request: JsonRequest) -> Answer:
        body = request.json() or {}
        self.expire(sessions=bool(body.get("sessions")), tokens=bool(body.get("tokens")))
        return 200, body, {}

    def _push(self, product: str) -> None:
        """The product's business event to the subscriber, as the event mesh delivers it (after the change,
        not in its answer; retried a few times on failure)."""
        event = {"specversion": "1.0", "type": EVENT_TYPE, "source": EVENT_SOURCE, "id": str(uuid.uuid4()),
                 "time": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                 "datacontenttype": "application/json", "data": {"Product": product}}
        with self._lock:
            url, headers = self.notify_url, dict(self.subscriber_headers)
            content_type = self.event_content_type
            entry: dict[str, Any] = {"event": event, "url": url, "status": None}
            self.events.append(entry)
        if url is None:
            self._delivered(entry, 0)
            return
        threading.Thread(target=self._deliver, args=(entry, url, headers, content_type), daemon=True).start()

    def _deliver(self, entry: dict[str, Any], url: str, headers: dict[str, str], content_type: str) -> None:
        import urllib3

        status = 0
        for attempt in range(3):
            try:
                status = urllib3.request("POST", url, body=json.dumps(entry["event"]).encode(), retries=False,
                                         headers={**headers, "Content-Type": content_type}, timeout=5).status
            except urllib3.exceptions.HTTPError:
                status = 0
            if 200 <= status < 300:
                break
            time.sleep(0.1 * 2 ** attempt)
        self._delivered(entry, status)

    def _delivered(self, entry: dict[str, Any], status: int) -> None:
        with self.events_pushed:
            entry["status"] = status
            self.events_pushed.notify_all()


def _changes(changes: Any, record: dict[str, Any]) -> dict[str, str] | Answer:
    """The fields a PATCH/MERGE body sets, as stored; or SAP's error answer for the first it refuses."""
    values = {}
    for field, value in (changes if isinstance(changes, dict) else {}).items():
        if field in ("Product", "Plant"):
            if value != record[field]:
                return _error(400, "API_PRD_MSG/015", f"Key field {field} cannot be changed.")
            continue
        if field not in _WRITABLE:
            return _error(400, "/IWBEP/CM_MGW_RT/020", f"Property '{field}' is invalid")
        try:
            values[field] = _decimal(value, field, 0, 3) if field == "PlannedDeliveryDurationInDays" \
                else _decimal(value, field, 3, 13) if field in _QUANTITIES else str(value)
        except ValueError as exc:
            return _error(400, "/IWBEP/CM_MGW_RT/020", str(exc))
    return values


def _http(status: int, body: Any, headers: dict[str, str]) -> list[str]:
    """One operation's answer inside a $batch answer."""
    reasons = {200: "OK", 201: "Created", 204: "No Content", 400: "Bad Request", 404: "Not Found",
               405: "Method Not Allowed", 412: "Precondition Failed", 428: "Precondition Required"}
    payload = "" if body is None else body.decode() if isinstance(body, bytes) else json.dumps(body)
    lines = [f"HTTP/1.1 {status} {reasons.get(status, 'Error')}"]
    if payload:
        lines.append("Content-Type: application/json")
    lines += [f"{k}: {v}" for k, v in headers.items()]
    lines += [f"Content-Length: {len(payload.encode())}", "", payload]
    return lines
