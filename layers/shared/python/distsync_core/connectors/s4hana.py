"""The ``s4hana`` kind: SAP S/4HANA's Product Master OData v2 API (``API_PRODUCT_SRV``), entity
``A_ProductSupplyPlanning(Product, Plant)`` with ``SafetyStockQuantity``, ``ReorderThresholdQuantity`` (both
Edm.Decimal(13,3), strings in OData v2 JSON) and ``PlannedDeliveryDurationInDays`` (Edm.Decimal(3,0)).

Writes follow SAP Gateway's protocol: a CSRF token fetched with ``x-csrf-token: Fetch`` on a GET and sent back
with the session cookies that answer set, refetched once on ``403 x-csrf-token: Required``; ``PATCH`` (or
``MERGE`` tunnelled through ``X-HTTP-Method``) with ``If-Match`` when the read carried an ETag. S/4HANA pushes
product business events (CloudEvents 1.0) that carry keys only, so changes come in through
:meth:`S4HanaConnector.parse_business_event` and a claim check, never a delta pull. docs/connectors/s4hana.md
says which SAP documents this follows and what was not checked against a live system."""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote, urlsplit

from ..partners.base import PartnerRejected
from .http import Answer, BasicAuth, ClientCredentials, ConnectorHttp
from .port import (
    ChangePage,
    Conflict,
    ConnectorError,
    ItemLocationChange,
    NotFound,
    PlanningParameters,
    Snapshot,
    StockBalance,
    WriteRequest,
)

SERVICE = "/sap/opu/odata/sap/API_PRODUCT_SRV"
# stock: the Material Stock read API (communication scenario SAP_COM_0164), one row per stock identifier
# (material, plant, storage location, batch, special stock, stock type) with its quantity in the base unit
STOCK_SERVICE = "/sap/opu/odata/sap/API_MATERIAL_STOCK_SRV"
STOCK_ENTITY = "A_MatlStkInAcctMod"
STOCK_FIELDS = ("Material", "Plant", "StorageLocation", "Batch", "InventoryStockType", "InventorySpecialStockType",
                "MaterialBaseUnit", "MatlWrhsStkQtyInMatlBaseUnit")
UNRESTRICTED = "01"  # InventoryStockType of unrestricted-use stock
ENTITY = "A_ProductSupplyPlanning"
FIELDS = ("Product", "Plant", "SafetyStockQuantity", "ReorderThresholdQuantity", "PlannedDeliveryDurationInDays",
          "BaseUnit")
PRODUCT_EVENTS = ("sap.s4.beh.product.v1.Product.Created.v1", "sap.s4.beh.product.v1.Product.Changed.v1")
EVERY_PLANT = "*"  # an event named the product only: every plant of it is to be read (claim check)
BATCH_LIMIT = 100  # change sets per $batch (our choice; S/4 documents no maximum that we found)
MAX_PAGES = 1000  # a __next that never ends is the ERP's bug, not a reason to loop forever
# SAP documents no request id header on OData answers; an x-correlationid is recorded when a gateway in front
# (Web Dispatcher, API Management) sets one. Errors carry SAP's trace id in innererror.transactionid.
REQUEST_ID_HEADERS = ("x-correlationid", "x-request-id")
# statuses handed back to the caller to interpret (with SAP's words) rather than raised by ConnectorHttp
_ANSWERED = tuple(s for s in range(200, 500) if s not in (401, 429))
_QUANTITY = Decimal("0.001")
_MAX_QUANTITY = Decimal(10) ** 10  # Decimal(13,3): 10 digits before the point


class _SecretAuth:
    """Basic (``{"user", "password"}``) or OAuth 2.0 client credentials (``{"clientId", "clientSecret",
    "tokenUrl"}``), whichever the connection's secret holds, read on first use; a 401 drops it so the next
    request reads the secret again (a rotation, even from Basic to OAuth, is picked up)."""

    def __init__(self, credentials: Callable[[], dict[str, str]], name: str):
        self.credentials, self.name = credentials, name
        self._inner: BasicAuth | ClientCredentials | None = None
        self._lock = threading.Lock()

    def headers(self, method: str, url: str) -> dict[str, str]:
        with self._lock:
            if self._inner is None:
                self._inner = self._build(self.credentials())
            inner = self._inner
        return inner.headers(method, url)

    def invalidate(self) -> None:
        with self._lock:
            self._inner = None

    def _build(self, secret: dict[str, str]) -> BasicAuth | ClientCredentials:
        if all(secret.get(k) for k in ("clientId", "clientSecret", "tokenUrl")):
            return ClientCredentials(secret["tokenUrl"], lambda: (secret["clientId"], secret["clientSecret"]),
                                     scope=secret.get("scope"))
        if all(secret.get(k) for k in ("user", "password")):
            return BasicAuth(lambda: (secret["user"], secret["password"]))
        raise ConnectorError(f"{self.name}: the secret holds neither user/password nor "
                             "clientId/clientSecret/tokenUrl")


@dataclass(frozen=True)
class BatchResult:
    """One write of a :meth:`S4HanaConnector.write_many`: written (``error`` None) or refused (a
    :class:`Conflict`, :class:`NotFound` or :class:`PartnerRejected` with SAP's words)."""

    request: WriteRequest
    request_id: str | None
    error: Exception | None = None


@dataclass(frozen=True)
class BusinessEvent:
    """A product business event as S/4HANA sends it (keys only)."""

    id: str
    type: str
    source: str
    product: str
    plant: str | None
    time: str | None


class S4HanaConnector:
    kind = "s4hana"

    def __init__(self, name: str, base_url: str, credentials: Callable[[], dict[str, str]] | None = None,
                 options: dict[str, Any] | None = None):
        options = options or {}
        self.name = name
        auth = _SecretAuth(credentials, name) if credentials is not None else None
        self.http = ConnectorHttp(name, base_url, auth, request_id_headers=REQUEST_ID_HEADERS, keep_cookies=True,
                                  **options.get("http", {}))
        self.plants: dict[str, str] = dict(options.get("plantMap") or {})
        self.locations = {plant: location for location, plant in self.plants.items()}
        self.update_method = str(options.get("updateMethod", "PATCH")).upper()
        if self.update_method not in ("PATCH", "MERGE"):
            raise ValueError(f"{name}: options.updateMethod must be PATCH or MERGE")
        self.batch_limit = max(1, int(options.get("batchLimit", BATCH_LIMIT)))
        # special stocks (consignment K, sales order E, project Q...) are not the plant's own free stock
        self.include_special_stock = bool(options.get("includeSpecialStock", False))
        self._token: str | None = None  # the CSRF token of the session (valid with the cookies http keeps)
        self._token_lock = threading.Lock()

    # ------------------------------------------------------------------ reads
    def plant(self, location_id: str) -> str:
        plant = self.plants.get(location_id, location_id)
        if not plant or len(plant) > 4:
            raise ConnectorError(f"{self.name}: location {location_id!r} is not an S/4HANA plant (at most 4 "
                                 "characters): map it in options.plantMap")
        return plant

    def location(self, plant: str) -> str:
        return self.locations.get(plant, plant)

    def read_parameters(self, item_id: str, location_id: str, *, correlation_id: str) -> Snapshot:
        path = f"{entity_path(item_id, self.plant(location_id))}?$select={','.join(FIELDS)}"
        answer = self._read(path, correlation_id)
        if answer.status == 404:
            return Snapshot(None)
        if answer.status != 200:
            raise self._refused(answer, f"read of {item_id}@{location_id}")
        entity = _d(answer, self.name)
        return Snapshot(parse_parameters(entity, self.name), entity_etag(entity) or answer.header("ETag"))

    def read_item_locations(self, product: str, correlation_id: str) -> list[tuple[str, Snapshot]]:
        """Every plant's supply planning record of ``product`` as (location id, snapshot), following
        ``__next`` through SAP's server-side paging."""
        query = f"$filter={quote(f'Product eq {_literal(product)}', safe='')}&$select={','.join(FIELDS)}"
        path: str | None = f"{SERVICE}/{ENTITY}?{query}"
        found: list[tuple[str, Snapshot]] = []
        for _ in range(MAX_PAGES):
            if path is None:
                return found
            answer = self._read(path, correlation_id)
            if answer.status != 200:
                raise self._refused(answer, f"read of {product}'s plants")
            page = _d(answer, self.name)
            if not isinstance(page.get("results"), list):
                raise ConnectorError(f"{self.name}: a collection without d.results: {answer.data[:200]!r}")
            for entity in page["results"]:
                found.append((self.location(str(entity.get("Plant", ""))),
                              Snapshot(parse_parameters(entity, self.name), entity_etag(entity))))
            path = _relative(page.get("__next"), self.http.base_url)
        raise ConnectorError(f"{self.name}: more than {MAX_PAGES} pages of {product}'s plants")

    def read_changes(self, cursor: str | None, *, correlation_id: str, limit: int = 500) -> ChangePage:
        raise ConnectorError(f"{self.name}: S/4HANA pushes product business events; A_ProductSupplyPlanning has "
                             "no last-change field to pull a delta from")

    def read_stock(self, item_id: str, location_id: str, *, correlation_id: str) -> StockBalance | None:
        """Unrestricted-use stock of the product at the plant: ``MatlWrhsStkQtyInMatlBaseUnit`` summed over the
        storage locations and batches of ``A_MatlStkInAcctMod`` (stock type 01), following ``__next``. None when
        S/4 answers no stock row for the product at the plant. The API has no allocated or in-transit quantity:
        both are 0 (docs/connectors/s4hana.md, "Stock")."""
        rows = self.read_stock_rows(item_id, self.plant(location_id), correlation_id)
        return stock_balance(rows, item_id, location_id, include_special=self.include_special_stock,
                             as_of=_now_utc(), name=self.name)

    def read_stock_rows(self, product: str, plant: str, correlation_id: str) -> list[dict[str, Any]]:
        """Every unrestricted-use stock row of ``product`` at ``plant`` (all pages)."""
        expr = (f"Material eq {_literal(product)} and Plant eq {_literal(plant)} and "
                f"InventoryStockType eq {_literal(UNRESTRICTED)}")
        path: str | None = (f"{STOCK_SERVICE}/{STOCK_ENTITY}?$filter={quote(expr, safe='')}"
                            f"&$select={','.join(STOCK_FIELDS)}")
        rows: list[dict[str, Any]] = []
        for _ in range(MAX_PAGES):
            if path is None:
                return rows
            # no CSRF fetch: the token belongs to the product service's writes; the session cookies go along
            answer = self.http.request("GET", path, correlation_id=correlation_id,
                                       ok=_ANSWERED)
            if answer.status == 404:
                raise ConnectorError(f"{self.name}: {STOCK_SERVICE} answered 404 ({_words(answer)}): is the "
                                     "communication arrangement for SAP_COM_0164 (Material Stock Integration) set "
                                     "up for this user?")
            if answer.status != 200:
                raise self._refused(answer, f"stock read of {product}@{plant}")
            page = _d(answer, self.name)
            if not isinstance(page.get("results"), list):
                raise ConnectorError(f"{self.name}: a stock collection without d.results: {answer.data[:200]!r}")
            rows.extend(r for r in page["results"] if isinstance(r, dict))
            path = _relative(page.get("__next"), self.http.base_url, STOCK_SERVICE)
        raise ConnectorError(f"{self.name}: more than {MAX_PAGES} pages of {product}'s stock at {plant}")

    # ------------------------------------------------------------------ writes
    def write_parameters(self, request: WriteRequest, snapshot: Snapshot) -> str | None:
        path = entity_path(request.item_id, self.plant(request.location_id))
        headers = {"If-Match": snapshot.version} if snapshot.version else {}
        answer = self._modify(path, json.dumps(payload(request.target)).encode(), headers,
                              request.correlation_id, method=self.update_method)
        what = f"{request.item_id}@{request.location_id}"
        if answer.status == 412:
            raise Conflict(f"{self.name}: {what} changed in S/4HANA since it was read ({_words(answer)})")
        if answer.status == 404:
            raise NotFound(f"{self.name}: {what} has no supply planning record in S/4HANA ({_words(answer)})")
        if answer.status == 428:
            raise ConnectorError(f"{self.name}: S/4HANA requires If-Match for {what} but the read carried no "
                                 f"ETag ({_words(answer)})")
        if not 200 <= answer.status < 300:
            raise self._refused(answer, f"write of {what}")
        return answer.request_id

    def write_many(self, writes: Sequence[tuple[WriteRequest, Snapshot]], *,
                   correlation_id: str | None = None) -> list[BatchResult]:
        """The writes as ``$batch`` requests of at most ``batchLimit`` change sets, one write per change set, so
        one refused write does not roll back the others; a result per write, in order."""
        results: list[BatchResult] = []
        for start in range(0, len(writes), self.batch_limit):
            chunk = writes[start:start + self.batch_limit]
            results.extend(self._batch(chunk, correlation_id or chunk[0][0].correlation_id))
        return results

    def _batch(self, chunk: Sequence[tuple[WriteRequest, Snapshot]], correlation_id: str) -> list[BatchResult]:
        parts = []
        for request, snapshot in chunk:
            headers = {"If-Match": snapshot.version} if snapshot.version else {}
            parts.append((self.update_method, entity_path(request.item_id, self.plant(request.location_id),
                                                          relative=True), headers, payload(request.target)))
        boundary = f"batch_{uuid.uuid4()}"
        answer = self._modify(f"{SERVICE}/$batch", build_batch(parts, boundary),
                              {"Content-Type": f"multipart/mixed; boundary={boundary}"}, correlation_id)
        if answer.status != 202 and answer.status != 200:
            raise self._refused(answer, "$batch")
        answers = parse_batch(answer.data, answer.header("Content-Type") or "")
        if len(answers) != len(chunk):
            raise ConnectorError(f"{self.name}: $batch answered {len(answers)} change sets for {len(chunk)}")
        results = []
        for (request, _), part in zip(chunk, answers, strict=True):
            request_id = next((part.header(h) for h in REQUEST_ID_HEADERS if part.header(h)), None)
            what = f"{self.name}: {request.item_id}@{request.location_id}"
            error: Exception | None = None
            if part.status == 412:
                error = Conflict(f"{what} changed in S/4HANA since it was read ({_words(part)})")
            elif part.status == 404:
                error = NotFound(f"{what} has no supply planning record in S/4HANA ({_words(part)})")
            elif not 200 <= part.status < 300:
                error = PartnerRejected(part.status, _words(part), self.name)
            results.append(BatchResult(request, (request_id or answer.request_id) if error is None else None, error))
        return results

    # ------------------------------------------------------------------ inbound events
    def parse_business_event(self, body: bytes) -> list[ItemLocationChange]:
        """The item-locations a pushed CloudEvent names: one for its plant, or one with location
        :data:`EVERY_PLANT` when it names the product only (then :meth:`claim_check` reads every plant).
        A well-formed event of another type names none; a malformed one raises :class:`ConnectorError`."""
        event = parse_cloud_event(body)
        if event.type not in PRODUCT_EVENTS:
            return []
        location = EVERY_PLANT if event.plant is None else self.location(event.plant)
        return [ItemLocationChange(event.product, location, changed_at=event.time)]

    def claim_check(self, changes: Sequence[ItemLocationChange], *, correlation_id: str) -> list[ItemLocationChange]:
        """The changes with what S/4 now holds (the events carry keys only), a product's every plant read for
        :data:`EVERY_PLANT`; an item-location S/4 has no record for is left out."""
        out: list[ItemLocationChange] = []
        for change in changes:
            if change.location_id == EVERY_PLANT:
                snapshots = self.read_item_locations(change.item_id, correlation_id)
            else:
                snapshots = [(change.location_id, self.read_parameters(change.item_id, change.location_id,
                                                                       correlation_id=correlation_id))]
            out.extend(ItemLocationChange(change.item_id, location, snapshot.parameters,
                                          changed_at=change.changed_at)
                       for location, snapshot in snapshots if snapshot.parameters is not None)
        return out

    # ------------------------------------------------------------------ the session: cookies and CSRF token
    def _read(self, path: str, correlation_id: str) -> Answer:
        """A GET that also fetches a CSRF token while the session has none (saves a round trip per write)."""
        with self._token_lock:
            fetch = self._token is None
        headers = {"x-csrf-token": "Fetch"} if fetch else {}
        answer = self.http.request("GET", path, headers=headers, correlation_id=correlation_id, ok=_ANSWERED)
        if fetch:
            self._keep_token(answer)
        return answer

    def _keep_token(self, answer: Answer) -> None:
        token = answer.header("x-csrf-token")
        if token and token.lower() != "required" and 200 <= answer.status < 300:
            with self._token_lock:
                self._token = token

    def _csrf_token(self, correlation_id: str) -> str | None:
        with self._token_lock:
            if self._token is not None:
                return self._token
        answer = self.http.request("GET", f"{SERVICE}/", headers={"x-csrf-token": "Fetch"},
                                   correlation_id=correlation_id, ok=_ANSWERED)
        if not 200 <= answer.status < 300:
            raise self._refused(answer, "CSRF token fetch")
        self._keep_token(answer)
        with self._token_lock:
            return self._token  # None: this system asks for no token

    def _modify(self, path: str, body: bytes, headers: dict[str, str], correlation_id: str, *,
                method: str = "POST") -> Answer:
        """A modifying request with the session's token and cookies; a stale token (403 ``x-csrf-token:
        Required``: the session timed out) is fetched again once."""
        tunnel = {"X-HTTP-Method": "MERGE"} if method == "MERGE" else {}
        for attempt in (1, 2):
            token = self._csrf_token(correlation_id)
            hdrs = {**headers, **tunnel, **({"x-csrf-token": token} if token else {})}
            answer = self.http.request("POST" if tunnel else method, path, body=body, headers=hdrs,
                                       correlation_id=correlation_id, ok=_ANSWERED)
            if answer.status == 403 and (answer.header("x-csrf-token") or "").lower() == "required" and attempt == 1:
                with self._token_lock:
                    if self._token == token:
                        self._token = None
                continue
            return answer
        return answer

    def _refused(self, answer: Answer, what: str) -> Exception:
        return PartnerRejected(answer.status, f"{what}: {_words(answer)}", self.name)


# ---------------------------------------------------------------------- the wire format (pure functions)
def _literal(value: str) -> str:
    """An OData v2 string literal (quotes doubled)."""
    return "'" + value.replace("'", "''") + "'"


def entity_path(product: str, plant: str, *, relative: bool = False) -> str:
    key = f"Product={quote(_literal(product), safe=chr(39))},Plant={quote(_literal(plant), safe=chr(39))}"
    return f"{'' if relative else SERVICE + '/'}{ENTITY}({key})"


def format_quantity(value: float) -> str:
    """An Edm.Decimal(13,3) as OData v2 JSON carries it: a string with 3 decimals ("110.000")."""
    try:
        quantity = Decimal(str(value)).quantize(_QUANTITY, rounding=ROUND_HALF_UP)
    except InvalidOperation as exc:
        raise ConnectorError(f"{value!r} is not a quantity") from exc
    if not quantity.is_finite() or abs(quantity) >= _MAX_QUANTITY:
        raise ConnectorError(f"{value!r} does not fit S/4HANA's Decimal(13,3)")
    return format(quantity, "f")


def format_days(days: int) -> str:
    """PlannedDeliveryDurationInDays is an Edm.Decimal(3,0): a string of 0..999."""
    if not 0 <= days <= 999:
        raise ConnectorError(f"a lead time of {days} days does not fit S/4HANA's Decimal(3,0)")
    return str(int(days))


def parse_decimal(value: Any, field: str) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        parsed = Decimal(str(value))
    except InvalidOperation as exc:
        raise ConnectorError(f"{field} is not a decimal: {value!r}") from exc
    if not parsed.is_finite():
        raise ConnectorError(f"{field} is not a decimal: {value!r}")
    return parsed


def payload(target: PlanningParameters) -> dict[str, str]:
    body = {"SafetyStockQuantity": format_quantity(target.safety_stock),
            "ReorderThresholdQuantity": format_quantity(target.reorder_point)}
    if target.lead_time_days is not None:
        body["PlannedDeliveryDurationInDays"] = format_days(target.lead_time_days)
    return body


def parse_parameters(entity: dict[str, Any], name: str = "s4hana") -> PlanningParameters:
    safety = parse_decimal(entity.get("SafetyStockQuantity"), "SafetyStockQuantity")
    reorder = parse_decimal(entity.get("ReorderThresholdQuantity"), "ReorderThresholdQuantity")
    lead = parse_decimal(entity.get("PlannedDeliveryDurationInDays"), "PlannedDeliveryDurationInDays")
    if safety is None and reorder is None and "SafetyStockQuantity" not in entity:
        raise ConnectorError(f"{name}: supply planning data without SafetyStockQuantity: {entity!r:.200}")
    return PlanningParameters(float(safety or 0), float(reorder or 0), None if lead is None else int(lead))


def entity_etag(entity: dict[str, Any]) -> str | None:
    metadata = entity.get("__metadata")
    etag = metadata.get("etag") if isinstance(metadata, dict) else None
    return str(etag) if etag else None


def _d(answer: Answer, name: str) -> dict[str, Any]:
    body = answer.json()
    if not isinstance(body, dict) or not isinstance(body.get("d"), dict):
        raise ConnectorError(f"{name}: an OData v2 answer without d: {answer.data[:200]!r}")
    return body["d"]


def _relative(next_link: Any, base_url: str, service: str = SERVICE) -> str | None:
    """``__next`` (absolute, or relative to the service) as a path under the connection's base URL."""
    if not next_link:
        return None
    parts, base = urlsplit(str(next_link)), urlsplit(base_url)
    if parts.netloc and (parts.scheme, parts.netloc) != (base.scheme, base.netloc):
        raise ConnectorError(f"__next points to another host: {next_link!r}")
    path = parts.path if parts.path.startswith("/") else f"{service}/{parts.path}"
    return f"{path}?{parts.query}" if parts.query else path


def stock_balance(rows: Sequence[dict[str, Any]], item_id: str, location_id: str, *, include_special: bool = False,
                  as_of: str | None = None, name: str = "s4hana") -> StockBalance | None:
    """The unrestricted-use stock rows of ``A_MatlStkInAcctMod`` as one balance: ``MatlWrhsStkQtyInMatlBaseUnit``
    (an Edm.Decimal(31,14), a string in OData v2 JSON) summed over storage locations and batches; rows of another
    stock type are ignored, special stocks too unless ``include_special``. None: no row at all (S/4 books no
    stock of the product at the plant)."""
    if not rows:
        return None
    total, units = Decimal(0), set()
    for row in rows:
        if str(row.get("InventoryStockType") or "") != UNRESTRICTED:
            continue
        if str(row.get("InventorySpecialStockType") or "") and not include_special:
            continue
        quantity = parse_decimal(row.get("MatlWrhsStkQtyInMatlBaseUnit"), "MatlWrhsStkQtyInMatlBaseUnit")
        if quantity is None:
            raise ConnectorError(f"{name}: a stock row without MatlWrhsStkQtyInMatlBaseUnit: {row!r:.200}")
        total += quantity
        if row.get("MaterialBaseUnit"):
            units.add(str(row["MaterialBaseUnit"]))
    if len(units) > 1:
        raise ConnectorError(f"{name}: stock rows of {item_id} in more than one base unit: {sorted(units)}")
    return StockBalance(item_id, location_id, float(total), 0.0, 0.0, as_of, next(iter(units), None))


def _now_utc() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def odata_error(data: bytes) -> str | None:
    """SAP's words from an OData error body: ``{"error": {"code", "message": {"value"}}}`` (JSON) or its XML
    form, with SAP's trace id (``innererror.transactionid``) when there is one."""
    try:
        error = json.loads(data)["error"]
        message = error.get("message")
        text = message.get("value") if isinstance(message, dict) else message
        trace = (error.get("innererror") or {}).get("transactionid")
        words = f"{error.get('code')}: {text}" if error.get("code") else str(text)
        return f"{words} (SAP transaction {trace})" if trace else words
    except (ValueError, KeyError, TypeError, AttributeError):
        pass
    text = data.decode("utf-8", "replace")
    code, message = re.search(r"<code>(.*?)</code>", text, re.S), re.search(r"<message[^>]*>(.*?)</message>", text, re.S)
    if message:
        return f"{code.group(1)}: {message.group(1)}" if code else message.group(1)
    return None


def _words(answer: Any) -> str:
    data = answer.data if isinstance(answer.data, bytes) else bytes(answer.data)
    return odata_error(data) or f"HTTP {answer.status}: {data[:200].decode('utf-8', 'replace')}"


# ---------------------------------------------------------------------- $batch (multipart/mixed)
@dataclass(frozen=True)
class PartAnswer:
    """One operation's answer inside a ``$batch`` answer."""

    status: int
    headers: dict[str, str]
    data: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)


def build_batch(parts: Sequence[tuple[str, str, dict[str, str], dict[str, Any]]], boundary: str) -> bytes:
    """A ``$batch`` body with one change set per (method, path relative to the service, headers, body)."""
    lines: list[str] = []
    for method, path, headers, body in parts:
        changeset = f"changeset_{uuid.uuid4()}"
        content = json.dumps(body)
        request_line = f"POST {path} HTTP/1.1" if method == "MERGE" else f"{method} {path} HTTP/1.1"
        inner = {"Content-Type": "application/json", "Accept": "application/json",
                 **({"X-HTTP-Method": "MERGE"} if method == "MERGE" else {}), **headers,
                 "Content-Length": str(len(content.encode()))}
        lines += [f"--{boundary}", f"Content-Type: multipart/mixed; boundary={changeset}", "",
                  f"--{changeset}", "Content-Type: application/http", "Content-Transfer-Encoding: binary", "",
                  request_line, *(f"{k}: {v}" for k, v in inner.items()), "", content,
                  f"--{changeset}--"]
    lines += [f"--{boundary}--", ""]
    return "\r\n".join(lines).encode()


def _boundary(content_type: str) -> str:
    match = re.search(r'boundary="?([^";]+)"?', content_type, re.IGNORECASE)
    if not match:
        raise ConnectorError(f"a multipart answer without a boundary: {content_type!r}")
    return match.group(1).strip()


def _multipart(body: bytes, content_type: str) -> list[tuple[dict[str, str], bytes]]:
    delimiter = b"--" + _boundary(content_type).encode()
    text = body.replace(b"\r\n", b"\n")  # SAP answers CRLF; samples in the wild mix both
    parts = []
    for chunk in text.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break
        chunk = chunk[1:] if chunk.startswith(b"\n") else chunk
        chunk = chunk[:-1] if chunk.endswith(b"\n") else chunk
        head, _, content = chunk.partition(b"\n\n")
        parts.append((_headers(head), content))
    return parts


def _headers(head: bytes) -> dict[str, str]:
    headers = {}
    for line in head.decode("utf-8", "replace").split("\n"):
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip()] = value.strip()
    return headers


def _http_answer(content: bytes) -> PartAnswer:
    head, _, data = content.partition(b"\n\n")
    status_line, _, rest = head.partition(b"\n")
    match = re.match(rb"HTTP/1\.[01] (\d{3})", status_line)
    if not match:
        raise ConnectorError(f"a $batch part that is not an HTTP answer: {content[:120]!r}")
    return PartAnswer(int(match.group(1)), _headers(rest), data.rstrip(b"\n"))


def parse_batch(body: bytes, content_type: str) -> list[PartAnswer]:
    """One answer per change set (and per retrieve) of a ``$batch`` answer: a change set that succeeded is a
    nested multipart whose first operation stands for it; one that failed is a single HTTP answer."""
    answers = []
    for headers, content in _multipart(body, content_type):
        part_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
        if part_type.lower().startswith("multipart/mixed"):
            inner = [_http_answer(c) for _, c in _multipart(content, part_type)]
            if not inner:
                raise ConnectorError("an empty change set answer in $batch")
            answers.append(inner[0])
        else:
            answers.append(_http_answer(content))
    return answers


# ---------------------------------------------------------------------- business events (CloudEvents 1.0)
def parse_cloud_event(body: bytes) -> BusinessEvent:
    """A CloudEvents 1.0 structured-mode JSON event; :class:`ConnectorError` names what is missing or bad."""
    try:
        event = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConnectorError(f"the CloudEvent is not JSON: {exc}") from exc
    _check_context(event)
    when = None if event.get("time") is None else _utc(event["time"])
    data = event.get("data")
    if not isinstance(data, dict):
        raise ConnectorError("the CloudEvent has no data object")
    product = data.get("Product")
    if event["type"] in PRODUCT_EVENTS and (not isinstance(product, str) or not product):
        raise ConnectorError("the product event has no data.Product")
    plant = data.get("Plant")
    if plant is not None and (not isinstance(plant, str) or not plant):
        raise ConnectorError("data.Plant must be a plant id")
    return BusinessEvent(event["id"], event["type"], event["source"], str(product or ""), plant, when)


def _check_context(event: Any) -> None:
    """The context attributes CloudEvents 1.0 requires (and a JSON data content type when one is named)."""
    if not isinstance(event, dict):
        raise ConnectorError("the CloudEvent is not a JSON object")
    if event.get("specversion") != "1.0":
        raise ConnectorError(f"specversion must be '1.0', not {event.get('specversion')!r}")
    for attribute in ("id", "source", "type"):
        if not isinstance(event.get(attribute), str) or not event[attribute]:
            raise ConnectorError(f"the CloudEvent has no {attribute}")
    content_type = event.get("datacontenttype")
    if content_type is not None and not str(content_type).lower().startswith("application/json"):
        raise ConnectorError(f"datacontenttype must be application/json, not {content_type!r}")


def _utc(value: Any) -> str:
    from datetime import UTC, datetime

    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise ConnectorError(f"time is not an RFC 3339 timestamp: {value!r}") from exc
    if parsed.tzinfo is None:
        raise ConnectorError(f"time has no offset: {value!r}")
    return parsed.astimezone(UTC).isoformat().replace("+00:00", "Z")
