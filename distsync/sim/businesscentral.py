"""Business Central simulator: an Entra-like token endpoint and distsync's custom stockkeeping unit API page,
with BC's OData v4 JSON, ETags, paging, errors, throttling, ``$batch`` and webhooks, written from Microsoft's
public documentation (docs/connectors/businesscentral.md). Where the documentation is silent (the exact wording
of some errors, the handshake's HTTP method) it says so in a comment; nothing was compared with a live BC.

- ``POST /<tenant>/oauth2/v2.0/token`` (form): client credentials; 401 ``invalid_client`` for a wrong secret,
  400 ``invalid_scope`` for another scope; tokens expire after ``token_lifetime`` seconds
- ``{base}/api/<publisher>/<group>/<version>/companies(<id>)/stockkeepingUnits``: list with ``$filter``
  (``eq``/``ne``/``gt``/``ge``/``lt``/``le`` joined by ``and``, on itemNo, locationCode, variantCode, systemId,
  lastModifiedDateTime), ``Prefer: odata.maxpagesize`` and ``@odata.nextLink`` (``$skiptoken``), in SystemId
  order; ``(<systemId>)`` GET and PATCH with ``If-Match`` (412 when stale; the ETag changes on every write)
- ``POST .../$batch`` (JSON batch, at most 100 requests); ``.../subscriptions`` POST/GET/PATCH/DELETE with the
  validation handshake (``POST <notificationUrl>?validationToken=...``, answered 200 text/plain with the token
  within ``handshake_timeout`` seconds, else no subscription), notifications with the subscription's clientState
- control surface: ``GET|POST /_sim/bc/records`` (POST changes records as a BC user would, in BC field names or
  the short form ``{"itemId","locationId","safetyStock","reorderPoint","leadTimeDays"}``, and notifies),
  ``GET /_sim/bc/requests``, ``POST /_sim/bc/faults`` ``{"status": 429|503|412, "count": N, "retryAfter": S}``,
  ``GET /_sim/bc/subscriptions`` (with each delivery's outcome), ``POST /_sim/bc/stock`` (stock as item ledger
  entries, sales orders and transfers would leave it: the short form ``{"itemId","locationId","onHand",
  "allocated","inTransit","variantId"?}`` or the page's names ``{"itemNo","locationCode","variantCode"?,
  "inventory","qtyOnSalesOrder","qtyInTransit"}``; one or ``{"stock": [...]}``), ``GET /_sim/bc/stock``
- the stock fields are FlowFields on the page: every stockkeeping unit row carries ``inventory``,
  ``qtyOnSalesOrder`` and ``qtyInTransit`` (0 until stock is set), computed when read; a stock change moves
  neither the record's ETag nor its lastModifiedDateTime and notifies no subscriber; stock for an item-location
  without a stockkeeping unit is kept but shows on no row (the page lists stockkeeping units); ``$filter`` on the
  stock fields is not simulated
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from .http import JsonRequest, JsonServer, entries

Answer = tuple[int, Any, dict[str, str]]
SCOPE = "https://api.businesscentral.dynamics.com/.default"
_API = r"/v2\.0/(?P<tenant>[^/]+)/(?P<env>[^/]+)/api/(?P<pub>[^/]+)/(?P<grp>[^/]+)/(?P<ver>[^/]+)"
_SKUS = _API + r"/companies\((?P<company>[^)/]+)\)/stockkeepingUnits"
_FIELDS = ("systemId", "itemNo", "locationCode", "variantCode", "reorderPoint", "safetyStockQuantity",
           "leadTimeCalculation", "lastModifiedDateTime")
_STOCK_FIELDS = {"inventory": "onHand", "qtyOnSalesOrder": "allocated", "qtyInTransit": "inTransit"}  # page <- short
_WRITABLE = {"reorderPoint", "safetyStockQuantity", "leadTimeCalculation"}
_CLAUSE = re.compile(r"^\s*(?P<field>\w+)\s+(?P<op>eq|ne|gt|ge|lt|le)\s+(?P<value>'(?:[^']|'')*'|[\w:.+\-]+)\s*$")
_DATE_FORMULA = re.compile(r"^<?\d+[DWMQY]>?$", re.IGNORECASE)
EXPIRY = timedelta(days=3)  # BC: a subscription expires after three days unless renewed


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _instant(value: str) -> datetime:
    parsed = datetime.fromisoformat(re.sub(r"(\.\d{6})\d+", r"\1", value.replace("Z", "+00:00")))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class BusinessCentralSimulator(JsonServer):
    def __init__(self, port: int = 0, *, tenant: str = "contoso-tenant", environment: str = "production",
                 company_id: str = "a0a0a0a0-bbbb-cccc-dddd-e1e1e1e1e1e1", client_id: str = "distsync-app",
                 client_secret: str = "bc-secret", token_lifetime: float = 3599, publisher: str = "distsync",
                 group: str = "planning", version: str = "v1.0", handshake_timeout: float = 5.0,
                 collection_threshold: int = 1000):
        self.tenant, self.environment, self.company_id = tenant, environment, company_id
        self.client_id, self.client_secret, self.token_lifetime = client_id, client_secret, token_lifetime
        self.publisher, self.group, self.version = publisher, group, version
        self.handshake_timeout, self.collection_threshold = handshake_timeout, collection_threshold
        self._lock = threading.Lock()
        self._inner = threading.local()  # set while a $batch runs its requests (not logged, no faults)
        self._records: dict[str, dict[str, Any]] = {}  # by SystemId
        self._stock: dict[tuple[str, str, str], dict[str, float]] = {}  # (item, location, variant) -> FlowFields
        self._versions: dict[str, int] = {}
        self._tokens: dict[str, float] = {}  # token -> monotonic expiry
        self._requests: list[dict[str, Any]] = []
        self._fault: dict[str, Any] = {"status": 0, "count": 0, "retryAfter": 0}
        self._subscriptions: dict[str, dict[str, Any]] = {}
        self.deliveries: list[dict[str, Any]] = []  # every notification sent: url, body, the answer's status
        self._delivered = threading.Condition(self._lock)
        self.tokens_issued = 0
        endpoint = self._endpoint
        super().__init__([
            ("POST", re.compile(r"/(?P<tenant>[^/]+)/oauth2/v2\.0/token"), self._token,
             ("application/x-www-form-urlencoded",)),
            ("GET", re.compile(_SKUS), endpoint(self._list)),
            ("GET", re.compile(_SKUS + r"\((?P<sid>[^)/]+)\)"), endpoint(self._get)),
            ("PATCH", re.compile(_SKUS + r"\((?P<sid>[^)/]+)\)"), endpoint(self._patch)),
            ("POST", re.compile(_API + r"/\$batch"), endpoint(self._batch)),
            ("POST", re.compile(_API + r"/subscriptions"), endpoint(self._subscribe)),
            ("GET", re.compile(_API + r"/subscriptions"), endpoint(self._list_subscriptions)),
            ("PATCH", re.compile(_API + r"/subscriptions\((?P<sub>[^)/]+)\)"), endpoint(self._renew)),
            ("DELETE", re.compile(_API + r"/subscriptions\((?P<sub>[^)/]+)\)"), endpoint(self._unsubscribe)),
            ("GET", re.compile(r"/_sim/bc/records"), lambda _r: (200, {"records": self.records()}, {})),
            ("POST", re.compile(r"/_sim/bc/records"), self._post_records),
            ("GET", re.compile(r"/_sim/bc/requests"), lambda _r: (200, {"requests": self.request_log()}, {})),
            ("POST", re.compile(r"/_sim/bc/faults"), self._faults),
            ("GET", re.compile(r"/_sim/bc/subscriptions"), lambda _r: (200, self.subscription_state(), {})),
            ("POST", re.compile(r"/_sim/bc/stock"), self._post_stock),
            ("GET", re.compile(r"/_sim/bc/stock"), lambda _r: (200, {"stock": self.stock()}, {})),
        ], port=port)

    # -------------------------------------------------------------------------------------------- addresses
    @property
    def base_url(self) -> str:
        """The connection's base URL, as ``https://api.businesscentral.dynamics.com/v2.0/<tenant>/<env>``."""
        return f"{self.url}/v2.0/{self.tenant}/{self.environment}"

    @property
    def token_url(self) -> str:
        return f"{self.url}/{self.tenant}/oauth2/v2.0/token"

    @property
    def api_root(self) -> str:
        return f"/v2.0/{self.tenant}/{self.environment}/api/{self.publisher}/{self.group}/{self.version}"

    @property
    def collection(self) -> str:
        return f"{self.api_root}/companies({self.company_id})/stockkeepingUnits"

    def credentials(self) -> dict[str, str]:
        """A connection secret that works against this simulator."""
        return {"tenantId": self.tenant, "clientId": self.client_id, "clientSecret": self.client_secret,
                "tokenUrl": self.token_url}

    # ----------------------------------------------------------------------------------------- Entra token
    def _token(self, request: JsonRequest, tenant: str) -> Answer:
        form = {k: v[-1] for k, v in parse_qs(request.body.decode()).items()}
        if tenant != self.tenant:
            return 400, {"error": "invalid_request", "error_description": f"AADSTS90002: Tenant '{tenant}' not found."}, {}
        if form.get("grant_type") != "client_credentials":
            return 400, {"error": "unsupported_grant_type", "error_description": "only client_credentials here"}, {}
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return 401, {"error": "invalid_client", "error_description":
                         "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the "
                         "request is the client secret value, not the client secret ID."}, {}
        if form.get("scope") != SCOPE:
            return 400, {"error": "invalid_scope", "error_description":
                         f"AADSTS1002012: The provided value for scope {form.get('scope')} is not valid."}, {}
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = time.monotonic() + self.token_lifetime
            self.tokens_issued += 1
            self._log(request)
        lifetime = int(self.token_lifetime)
        return 200, {"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime,
                     "access_token": token}, {}

    def expire_tokens(self) -> None:
        """Every issued token expires now (as after an hour): the next API call answers 401."""
        with self._lock:
            self._tokens = {t: 0.0 for t in self._tokens}

    # ------------------------------------------------------------------------------------------ API guard
    def _endpoint(self, handler: Any) -> Any:
        def guarded(request: JsonRequest, tenant: str, env: str, pub: str, grp: str, ver: str,
                    **groups: str) -> Answer:
            inner = getattr(self._inner, "active", False)
            if not inner:
                with self._lock:
                    self._log(request)
            if (tenant, env) != (self.tenant, self.environment):
                return 404, _error("BadRequest_NotFound", f"Environment '{env}' of tenant '{tenant}' not found."), {}
            if (pub, grp, ver) != (self.publisher, self.group, self.version):
                return 404, _error("BadRequest_NotFound",
                                   "No HTTP resource was found that matches the request URI."), {}
            if "company" in groups and groups["company"].lower() != self.company_id.lower():
                return 404, _error("BadRequest_ResourceNotFound",
                                   f"Company '{groups['company']}' does not exist."), {}
            if not inner:
                if not self._authorized(request):
                    return 401, _error("Authentication_InvalidCredentials",
                                       "The server has rejected the client credentials."), \
                        {"WWW-Authenticate": 'Bearer realm="", error="invalid_token"'}
                fault = self._take_fault(request.method)
                if fault is not None:
                    return fault
            status, body, headers = handler(request, **groups)
            return status, body, {"request-id": str(uuid.uuid4()), "OData-Version": "4.0", **headers}

        return guarded

    def _authorized(self, request: JsonRequest) -> bool:
        scheme, _, token = (request.header("Authorization") or "").partition(" ")
        with self._lock:
            expiry = self._tokens.get(token)
        return scheme == "Bearer" and expiry is not None and expiry > time.monotonic()

    def _log(self, request: JsonRequest) -> None:
        self._requests.append({
            "method": request.method, "path": request.path, "ifMatch": request.header("If-Match"),
            "authorization": (request.header("Authorization") or "").partition(" ")[0] or None,
            "prefer": request.header("Prefer"), "at": _now()})

    def _take_fault(self, method: str) -> Answer | None:
        with self._lock:
            fault = self._fault
            if fault["count"] <= 0 or (fault["status"] == 412 and method != "PATCH"):
                return None
            fault["count"] -= 1
            status, retry_after = fault["status"], fault["retryAfter"]
        if status == 412:
            return 412, _error("Request_EntityChanged", "Another user has already changed the record."), {}
        headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
        # the documentation names the status (429) but not BC's error wording: ours is made up
        return status, _error("TooManyRequests" if status == 429 else "ServiceUnavailable",
                              "The request was throttled (simulated)."), headers

    def inject_fault(self, status: int, count: int, retry_after: float | None = 0) -> None:
        if status not in (412, 429, 503) or count < 0:
            raise ValueError("status must be 412, 429 or 503 and count >= 0")
        with self._lock:
            self._fault = {"status": status, "count": count, "retryAfter": retry_after}

    def _faults(self, request: JsonRequest) -> Answer:
        body = request.json()
        retry_after = body.get("retryAfter", 0)
        try:
            self.inject_fault(int(body["status"]), int(body["count"]),
                              None if retry_after is None else float(retry_after))
        except ValueError as exc:
            return 400, {"error": str(exc)}, {}
        return 200, {"status": body["status"], "count": body["count"], "retryAfter": retry_after}, {}

    def request_log(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(r) for r in self._requests]

    # -------------------------------------------------------------------------------------- the API page
    def _row(self, record: dict[str, Any]) -> dict[str, Any]:
        sid = record["systemId"]
        tag = base64.b64encode(f"'{self._versions[sid]};{sid}'".encode()).decode()
        stock = self._stock.get((record["itemNo"], record["locationCode"], record["variantCode"]), {})
        return {"@odata.etag": f'W/"{tag}"', **{k: record[k] for k in _FIELDS},
                **{k: stock.get(k, 0.0) for k in _STOCK_FIELDS}}

    def _list(self, request: JsonRequest, company: str) -> Answer:
        query = {k: v[-1] for k, v in parse_qs(urlsplit(request.path).query, keep_blank_values=True).items()}
        try:
            keep = _filter(query.get("$filter"))
        except ValueError as exc:
            return 400, _error("BadRequest", str(exc)), {}
        page_size = 20_000
        prefer = re.search(r"odata\.maxpagesize=(\d+)", request.header("Prefer") or "")
        if prefer:
            page_size = max(1, min(page_size, int(prefer.group(1))))
        start = int(query.get("$skiptoken") or 0)
        with self._lock:
            rows = [self._row(r) for _, r in sorted(self._records.items()) if keep(r)]
        body: dict[str, Any] = {"@odata.context": f"{self.url}{self.api_root}/$metadata#companies"
                                                  f"({self.company_id})/stockkeepingUnits",
                                "value": rows[start:start + page_size]}
        if start + page_size < len(rows):
            params = {k: v for k, v in query.items() if k != "$skiptoken"} | {"$skiptoken": str(start + page_size)}
            body["@odata.nextLink"] = f"{self.url}{urlsplit(request.path).path}?" + \
                "&".join(f"{k}={quote(v, safe='')}" for k, v in params.items())
        headers = {"Preference-Applied": f"odata.maxpagesize={page_size}"} if prefer else {}
        return 200, body, headers

    def _get(self, _request: JsonRequest, company: str, sid: str) -> Answer:
        with self._lock:
            record = self._records.get(sid.lower())
            row = self._row(record) if record else None
        if row is None:
            return 404, _error("BadRequest_NotFound", "The Stockkeeping Unit does not exist. Identification "
                                                      f"fields and values: SystemId='{sid}'"), {}
        return 200, row, {"ETag": row["@odata.etag"]}

    def _patch(self, request: JsonRequest, company: str, sid: str) -> Answer:
        body = request.json()
        if not isinstance(body, dict):
            return 400, _error("BadRequest", "Invalid Request Body"), {}
        for name, value in body.items():
            if name not in _WRITABLE:
                return 400, _error("BadRequest_InvalidOperation", f"Control '{name}' is read-only"), {}
            if name == "leadTimeCalculation":
                if not isinstance(value, str) or not _DATE_FORMULA.match(value):
                    return 400, _error("Application_EvaluateException",
                                       f"The value \"{value}\" cannot be evaluated into type DateFormula."), {}
            elif not isinstance(value, int | float) or isinstance(value, bool):
                return 400, _error("BadRequest", "Invalid Request Body"), {}
        if_match = request.header("If-Match")
        if not if_match:
            return 400, _error("BadRequest_InvalidToken", "Could not validate the client concurrency token "
                                                          "required by the service. Please provide a valid token "
                                                          "in the client request."), {}
        with self._lock:
            record = self._records.get(sid.lower())
            if record is None:
                return 404, _error("BadRequest_NotFound", "The Stockkeeping Unit does not exist. Identification "
                                                          f"fields and values: SystemId='{sid}'"), {}
            if if_match != "*" and if_match != self._row(record)["@odata.etag"]:
                return 412, _error("Request_EntityChanged", "Another user has already changed the record."), {}
            record.update({k: float(v) if k != "leadTimeCalculation" else str(v) for k, v in body.items()})
            row = self._touch(record)
        self._notify([row])
        return 200, row, {"ETag": row["@odata.etag"]}

    def _touch(self, record: dict[str, Any], modified: str | None = None) -> dict[str, Any]:
        """A write: a new lastModifiedDateTime and a new ETag (under the lock)."""
        record["lastModifiedDateTime"] = modified or _now()
        self._versions[record["systemId"]] = self._versions.get(record["systemId"], 0) + 1
        return self._row(record)

    def _batch(self, request: JsonRequest) -> Answer:
        body = request.json()
        inner = body.get("requests") if isinstance(body, dict) else None
        if not isinstance(inner, list) or not inner:
            return 400, _error("BadRequest", "Invalid Request Body"), {}
        if len(inner) > 100:
            return 400, _error("BadRequest", "The batch request contains more than 100 operations."), {}
        responses = []
        self._inner.active = True
        try:
            for op in inner:
                url = str(op.get("url", "")).lstrip("/")
                headers = {str(k): str(v) for k, v in (op.get("headers") or {}).items()}
                headers.setdefault("Content-Type", "application/json")
                raw = json.dumps(op["body"]).encode() if "body" in op else b""
                status, answer, answer_headers = self.dispatch(JsonRequest(
                    str(op.get("method", "GET")).upper(), f"{self.api_root}/{url}", headers, raw))
                responses.append({"id": op.get("id"), "status": status,
                                  "headers": {"content-type": "application/json; odata.metadata=minimal",
                                              "odata-version": "4.0",
                                              **{k.lower(): v for k, v in answer_headers.items()}},
                                  "body": answer})
        finally:
            self._inner.active = False
        return 200, {"responses": responses}, {}

    # ------------------------------------------------------------------------------------- control surface
    def records(self) -> list[dict[str, Any]]:
        with self._lock:
            return [self._row(r) for _, r in sorted(self._records.items())]

    def put_records(self, changes: list[dict[str, Any]], notify: bool = True) -> list[dict[str, Any]]:
        """Create or change stockkeeping units as a BC user would (BC field names or the short form); one
        notification for all of them (BC batches), or a ``collection`` one beyond the threshold."""
        rows = []
        with self._lock:
            for change in changes:
                fields = _bc_fields(change)
                key = (fields.get("itemNo"), fields.get("locationCode"), fields.get("variantCode", ""))
                if not key[0] or not key[1]:
                    raise ValueError("a record needs itemNo/itemId and locationCode/locationId")
                record = next((r for r in self._records.values()
                               if (r["itemNo"], r["locationCode"], r["variantCode"]) == key), None)
                if record is None:
                    sid = str(fields.get("systemId") or uuid.uuid4()).lower()
                    record = {"systemId": sid, "itemNo": key[0], "locationCode": key[1], "variantCode": key[2],
                              "reorderPoint": 0.0, "safetyStockQuantity": 0.0, "leadTimeCalculation": ""}
                    self._records[sid] = record
                record.update({k: v for k, v in fields.items() if k in _WRITABLE})
                rows.append(self._touch(record, fields.get("lastModifiedDateTime")))
        if notify:
            self._notify(rows)
        return rows

    def set_stock(self, change: dict[str, Any]) -> dict[str, Any]:
        """Set an item-location's stock FlowFields (short form or the page's names); the others stay."""
        short = {"itemId": "itemNo", "locationId": "locationCode", "variantId": "variantCode",
                 **{v: k for k, v in _STOCK_FIELDS.items()}}
        fields = {short.get(k, k): v for k, v in change.items()}
        unknown = set(fields) - {"itemNo", "locationCode", "variantCode", *_STOCK_FIELDS}
        if unknown:
            raise ValueError(f"unknown stock fields: {', '.join(sorted(unknown))}")
        key = (str(fields.get("itemNo") or ""), str(fields.get("locationCode") or ""), str(fields.get("variantCode") or ""))
        if not key[0] or not key[1]:
            raise ValueError("stock needs itemNo/itemId and locationCode/locationId")
        for name in _STOCK_FIELDS:
            if name in fields and (isinstance(fields[name], bool) or not isinstance(fields[name], int | float)):
                raise ValueError(f"{name} must be a number, not {fields[name]!r}")
        with self._lock:
            stock = self._stock.setdefault(key, {k: 0.0 for k in _STOCK_FIELDS})
            stock.update({k: float(fields[k]) for k in _STOCK_FIELDS if k in fields})
            return {"itemNo": key[0], "locationCode": key[1], "variantCode": key[2], **stock}

    def stock(self) -> list[dict[str, Any]]:
        with self._lock:
            return [{"itemNo": k[0], "locationCode": k[1], "variantCode": k[2], **v} for k, v in sorted(self._stock.items())]

    def _post_stock(self, request: JsonRequest) -> Answer:
        changes = entries(request.json(), "stock")
        try:
            return 200, {"stock": [self.set_stock(c) for c in changes]}, {}
        except (ValueError, AttributeError) as exc:
            return 400, {"error": str(exc)}, {}

    def _post_records(self, request: JsonRequest) -> Answer:
        changes = entries(request.json(), "records")
        try:
            return 200, {"records": self.put_records(changes)}, {}
        except ValueError as exc:
            return 400, {"error": str(exc)}, {}

    # ------------------------------------------------------------------------------------------- webhooks
    def subscription_state(self) -> dict[str, Any]:
        with self._lock:
            return {"subscriptions": [dict(s) for s in self._subscriptions.values()],
                    "deliveries": [dict(d) for d in self.deliveries]}

    def _subscribe(self, request: JsonRequest) -> Answer:
        body = request.json()
        url, resource, state = (body.get("notificationUrl"), body.get("resource"), body.get("clientState", ""))
        problem = self._check_subscription(url, resource, state)
        if problem:
            return 400, _error("BadRequest", problem), {}
        if not self._handshake(url, state):
            # the documentation says the subscription is only created after a handshake, not what BC answers
            return 400, _error("BadRequest", "The notification URL did not return the validationToken within "
                                             f"{self.handshake_timeout:g} seconds (simulated wording)."), {}
        now = datetime.now(UTC)
        sub = {"subscriptionId": uuid.uuid4().hex, "notificationUrl": url, "resource": resource,
               "userId": str(uuid.uuid5(uuid.NAMESPACE_URL, self.client_id)), "clientState": state,
               "lastModifiedDateTime": _now(), "expirationDateTime": _iso(now + EXPIRY), "version": 1}
        with self._lock:
            self._subscriptions[sub["subscriptionId"]] = sub
        return 201, _subscription_body(sub), {}

    def _renew(self, request: JsonRequest, sub: str) -> Answer:
        sub_id = sub.strip("'")
        with self._lock:
            current = self._subscriptions.get(sub_id)
            snapshot = dict(current) if current else None
        if snapshot is None:
            return 404, _error("BadRequest_NotFound", f"The subscription '{sub_id}' does not exist."), {}
        if_match = request.header("If-Match")
        if not if_match:
            return 400, _error("BadRequest_InvalidToken", "Could not validate the client concurrency token "
                                                          "required by the service."), {}
        if if_match not in ("*", _subscription_body(snapshot)["@odata.etag"]):
            return 412, _error("Request_EntityChanged", "Another user has already changed the record."), {}
        body = request.json()
        url = body.get("notificationUrl", snapshot["notificationUrl"])
        resource, state = body.get("resource", snapshot["resource"]), body.get("clientState", snapshot["clientState"])
        problem = self._check_subscription(url, resource, state)
        if problem:
            return 400, _error("BadRequest", problem), {}
        if not self._handshake(url, state):  # renewing repeats the handshake
            return 400, _error("BadRequest", "The notification URL did not return the validationToken "
                                             "(simulated wording)."), {}
        with self._lock:
            current = self._subscriptions.get(sub_id)
            if current is None:
                return 404, _error("BadRequest_NotFound", f"The subscription '{sub_id}' does not exist."), {}
            current.update({"notificationUrl": url, "resource": resource, "clientState": state,
                            "lastModifiedDateTime": _now(), "expirationDateTime": _iso(datetime.now(UTC) + EXPIRY),
                            "version": current["version"] + 1})
            answer = _subscription_body(current)
        return 200, answer, {}

    def _unsubscribe(self, _request: JsonRequest, sub: str) -> Answer:
        with self._lock:
            found = self._subscriptions.pop(sub.strip("'"), None)
        return (204, None, {}) if found else (404, _error("BadRequest_NotFound", "No such subscription."), {})

    def _list_subscriptions(self, _request: JsonRequest) -> Answer:
        with self._lock:
            return 200, {"value": [_subscription_body(s) for s in self._subscriptions.values()]}, {}

    def _check_subscription(self, url: Any, resource: Any, state: Any) -> str | None:
        if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
            return "notificationUrl must be an absolute http(s) URL"
        if not isinstance(state, str) or len(state) > 2048:
            return "clientState must be a string of at most 2048 characters"
        path = urlsplit(resource).path if isinstance(resource, str) else ""
        wanted = f"/api/{self.publisher}/{self.group}/{self.version}/companies({self.company_id})/stockkeepingUnits"
        if not path.lower().endswith(wanted.lower()):
            return f"The resource '{resource}' is not a webhook-enabled resource of this API."
        return None

    def _handshake(self, notification_url: str, client_state: str) -> bool:
        """POST ``notificationUrl?validationToken=<random>`` (the Microsoft REST API Guidelines' form; BC's own
        page names the query parameter, not the method) and accept only the token echoed, 200, text/plain."""
        import urllib.error
        import urllib.request

        token = secrets.token_urlsafe(24)
        joiner = "&" if urlsplit(notification_url).query else "?"
        # no body (urllib would add a form Content-Type to an empty one; http.client sends Content-Length: 0)
        request = urllib.request.Request(f"{notification_url}{joiner}validationToken={quote(token)}",
                                         method="POST", headers={"ClientState": client_state})
        try:
            with urllib.request.urlopen(request, timeout=self.handshake_timeout) as response:  # noqa: S310
                content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
                return response.status == 200 and content_type == "text/plain" and \
                    response.read(4096).decode("utf-8", "replace") == token
        except (urllib.error.URLError, OSError, ValueError):
            return False

    def _notify(self, rows: list[dict[str, Any]]) -> None:
        """Send each subscription one notification for these changes (batched), with its clientState; more
        changes than ``collection_threshold`` become one ``collection`` entry. In the background, as BC does
        (BC waits 30 s to merge changes; the simulator sends at once)."""
        if not rows:
            return
        with self._lock:
            subscriptions = [dict(s) for s in self._subscriptions.values()]
        for sub in subscriptions:
            if len(rows) > self.collection_threshold:
                earliest = min(r["lastModifiedDateTime"] for r in rows)
                entries = [self._entry(sub, f"{sub['resource']}?$filter=lastModifiedDateTime%20gt%20{earliest}",
                                       "collection", _now())]
            else:
                entries = [self._entry(sub, f"{sub['resource']}({r['systemId']})", "updated",
                                       r["lastModifiedDateTime"]) for r in rows]
            threading.Thread(target=self._deliver, args=(sub, {"value": entries}), daemon=True).start()

    @staticmethod
    def _entry(sub: dict[str, Any], resource: str, change_type: str, modified: str) -> dict[str, Any]:
        return {"subscriptionId": sub["subscriptionId"], "clientState": sub["clientState"],
                "expirationDateTime": sub["expirationDateTime"], "resource": resource.lstrip("/"),
                "changeType": change_type, "lastModifiedDateTime": modified}

    def _deliver(self, sub: dict[str, Any], body: dict[str, Any]) -> None:
        """POST the notification; an answer other than 2xx, 408, 429 or 5xx deletes the subscription (BC's
        documented rule; BC's retries over 36 hours are not simulated)."""
        import urllib.error
        import urllib.request

        request = urllib.request.Request(sub["notificationUrl"], data=json.dumps(body).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                status = response.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        except (urllib.error.URLError, OSError):
            status = 0
        with self._lock:
            self.deliveries.append({"subscriptionId": sub["subscriptionId"], "url": sub["notificationUrl"],
                                    "body": body, "status": status, "at": _now()})
            if status and not (200 <= status < 300 or status in (408, 429) or status >= 500):
                self._subscriptions.pop(sub["subscriptionId"], None)
            self._delivered.notify_all()

    def wait_for_deliveries(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        """The deliveries once at least ``count`` were made (an event to wait on, not a sleep)."""
        with self._delivered:
            self._delivered.wait_for(lambda: len(self.deliveries) >= count, timeout)
            return [dict(d) for d in self.deliveries]


def _subscription_body(sub: dict[str, Any]) -> dict[str, Any]:
    tag = base64.b64encode(f"'{sub['version']};{sub['subscriptionId']}'".encode()).decode()
    return {"@odata.etag": f'W/"{tag}"', **{k: v for k, v in sub.items() if k != "version"}}


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _bc_fields(change: dict[str, Any]) -> dict[str, Any]:
    """A record change in BC field names, from BC names or the short form."""
    short = {"itemId": "itemNo", "locationId": "locationCode", "safetyStock": "safetyStockQuantity",
             "reorderPoint": "reorderPoint", "variantId": "variantCode"}
    fields = {short.get(k, k): v for k, v in change.items() if k != "leadTimeDays"}
    if change.get("leadTimeDays") is not None:
        fields["leadTimeCalculation"] = f"{int(change['leadTimeDays'])}D"
    for name in ("safetyStockQuantity", "reorderPoint"):
        if name in fields:
            fields[name] = float(fields[name])
    unknown = set(fields) - set(_FIELDS)
    if unknown:
        raise ValueError(f"unknown record fields: {', '.join(sorted(unknown))}")
    return fields


def _filter(expression: str | None) -> Any:
    """A predicate for the ``$filter`` subset the API page needs (clauses joined by ``and``; BC cannot OR two
    fields). Unknown fields or syntax raise ValueError."""
    if not expression:
        return lambda _record: True
    tests = [_clause(clause) for clause in re.split(r"\s+and\s+", expression.strip(), flags=re.IGNORECASE)]

    def keep(record: dict[str, Any]) -> bool:
        for field, op, value in tests:
            have = _instant(record[field]) if field == "lastModifiedDateTime" else record[field]
            if field == "systemId":
                have, value = str(have).lower(), str(value).lower()
            if not {"eq": have == value, "ne": have != value, "gt": have > value, "ge": have >= value,
                    "lt": have < value, "le": have <= value}[op]:
                return False
        return True

    return keep


def _clause(clause: str) -> tuple[str, str, Any]:
    match = _CLAUSE.match(clause)
    if match is None:
        raise ValueError(f"Syntax error in the filter '{clause}' (the simulator knows eq/ne/gt/ge/lt/le and 'and').")
    field, op, raw = match["field"], match["op"], match["value"]
    if field not in _FIELDS:
        raise ValueError(f"Could not find a property named '{field}' on type 'Microsoft.NAV.stockkeepingUnit'.")
    if field == "lastModifiedDateTime":
        return field, op, _instant(raw)
    if raw.startswith("'"):
        return field, op, raw[1:-1].replace("''", "'")
    return field, op, raw if field == "systemId" else float(raw)
