"""The ``businesscentral`` kind: Microsoft Dynamics 365 Business Central online, API v2.0 conventions.

Per-location reorder point and safety stock live on stockkeeping units (table 5700 "Stockkeeping Unit"), which
the standard v2.0 API does not expose; distsync reads and writes them through a custom API page installed in the
customer's BC (``docs/connectors/businesscentral/StockkeepingUnitAPI.Page.al``):
``{base}/api/{publisher}/{group}/{version}/companies({companyId})/stockkeepingUnits``. Writes are PATCHes with
``If-Match: <@odata.etag>`` (412: someone changed it since the read); auth is OAuth 2.0 client credentials
against Microsoft Entra ID. Changes arrive as BC webhook notifications (validated with ``clientState``; a
``collection`` notification means "re-read": a delta pull on ``lastModifiedDateTime``).

Nothing here was checked against a live Business Central; see docs/connectors/businesscentral.md.
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

from ..partners.base import PartnerRejected, PartnerUnavailable
from .http import Answer, ClientCredentials, ConnectorHttp, read_credentials
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

SCOPE = "https://api.businesscentral.dynamics.com/.default"
TOKEN_URL = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"
# the API page's stock fields: the SKU's FlowFields Inventory, "Qty. on Sales Order" and "Qty. in Transit"
STOCK_FIELDS = ("inventory", "qtyOnSalesOrder", "qtyInTransit")
# Microsoft REST API Guidelines' standard response header; not confirmed on a live BC answer (see the docs)
REQUEST_ID_HEADERS = ("request-id",)
BATCH_LIMIT = 100  # operations per $batch (BC's documented limit)
MAX_PAGE_SIZE = 20_000  # entities per page BC returns at most
MAX_PAGES = 1_000  # a nextLink chain longer than this is a loop, not data
CLIENT_STATE_MAX = 2048  # BC's documented clientState length
RENEW_MARGIN = timedelta(days=1)  # subscriptions expire after three days: renew with a day to spare
CHANGE_TYPES = frozenset({"created", "updated", "deleted", "collection"})
_SKU_IN_RESOURCE = re.compile(r"/stockkeepingUnits\((?P<id>[^)]+)\)$")
_LEAD_TIME = re.compile(r"^<?\s*(?P<n>\d+)\s*(?P<unit>[DW])\s*>?$", re.IGNORECASE)


class ClientStateMismatch(RuntimeError):
    """A notification whose clientState is not the one distsync gave BC: not from our subscription. Answer 401
    and read nothing (kept apart from :class:`ConnectorError` so it is never mistaken for a malformed body)."""


class SubscriptionRefused(ConnectorError):
    """BC did not create or renew the subscription (the notification URL failed the validation handshake,
    or BC refused the request)."""


@dataclass(frozen=True)
class NotificationEntry:
    subscription_id: str
    resource: str
    change_type: str
    last_modified: str
    expiration: str


@dataclass(frozen=True)
class CollectionChanged:
    """BC's ``collection`` notification: too many changes to name them one by one. The caller turns this into
    a delta pull (:meth:`BusinessCentralConnector.read_changes` from its stored cursor)."""

    subscription_id: str
    resource: str
    changed_at: str


@dataclass(frozen=True)
class Subscription:
    subscription_id: str
    notification_url: str
    resource: str
    client_state: str
    expiration: str
    etag: str | None

    def needs_renewal(self, now: datetime | None = None, margin: timedelta = RENEW_MARGIN) -> bool:
        return _instant(self.expiration) - margin <= (now or datetime.now(UTC))


@dataclass(frozen=True)
class BatchWrite:
    """One write of a ``$batch``: the ERP's request id when written, else the error (Conflict: read again and
    decide again, e.g. with :func:`.writes.apply_parameters`; NotFound; PartnerUnavailable: retry later)."""

    request: WriteRequest
    status: int
    request_id: str | None = None
    error: Exception | None = None


class EntraIdAuth:
    """OAuth 2.0 client credentials against Microsoft Entra ID via :class:`ClientCredentials`. The token URL
    needs the tenant from the secret, so the inner client is built on first use (no secret read at import or
    construction: cold start); the client id and secret are re-read on every token fetch (rotation)."""

    def __init__(self, credentials: Callable[[], Mapping[str, str]], scope: str = SCOPE):
        self._credentials, self._scope = credentials, scope
        self._inner: ClientCredentials | None = None

    @property
    def fetched(self) -> int:
        return self._inner.fetched if self._inner else 0

    def headers(self, method: str, url: str) -> dict[str, str]:
        if self._inner is None:
            secret = self._secret()
            token_url = secret.get("tokenUrl") or TOKEN_URL.format(tenant=quote(secret["tenantId"], safe=""))
            self._inner = ClientCredentials(token_url, self._client_credentials, scope=self._scope)
        return self._inner.headers(method, url)

    def invalidate(self) -> None:
        if self._inner is not None:
            self._inner.invalidate()

    def _client_credentials(self, force: bool = False) -> tuple[str, str]:
        """``force``: after a 401, past the secret cache (a client secret rotated a minute ago)."""
        secret = self._secret(force)
        return secret["clientId"], secret["clientSecret"]

    def _secret(self, force: bool = False) -> Mapping[str, str]:
        secret = read_credentials(self._credentials, force)
        missing = [k for k in ("clientId", "clientSecret") if not secret.get(k)]
        if not secret.get("tenantId") and not secret.get("tokenUrl"):
            missing.append("tenantId")
        if missing:
            raise ConnectorError(f"the Business Central secret lacks {', '.join(missing)}")
        return secret


class BusinessCentralConnector:
    kind = "businesscentral"

    def __init__(self, name: str, base_url: str, credentials: Callable[[], Mapping[str, str]] | None = None,
                 options: Mapping[str, Any] | None = None):
        opts = dict(options or {})
        if not opts.get("companyId"):
            raise ValueError(f"ERP connection {name!r}: options.companyId (the BC company's id) is required")
        self.name = name
        self.auth = EntraIdAuth(credentials or (lambda: {}))
        self.http = ConnectorHttp(name, base_url, self.auth, request_id_headers=REQUEST_ID_HEADERS,
                                  **opts.get("http", {}))
        publisher, group, version = (opts.get("apiPublisher", "distsync"), opts.get("apiGroup", "planning"),
                                     opts.get("apiVersion", "v1.0"))
        self.variant = str(opts.get("variantCode", ""))  # distsync plans item-locations: the blank variant
        self.api_root = f"/api/{_segment(publisher)}/{_segment(group)}/{_segment(version)}"
        self.collection = f"{self.api_root}/companies({_segment(str(opts['companyId']))})/stockkeepingUnits"
        self._system_ids: dict[tuple[str, str], str] = {}  # (item, location) -> SystemId, from the last read

    # ---------------------------------------------------------------------------------------- read and write
    def _stockkeeping_unit(self, item_id: str, location_id: str, correlation_id: str) -> dict[str, Any] | None:
        """The item-location's stockkeeping unit (the blank variant unless configured), or None."""
        expr = f"itemNo eq {_literal(item_id)} and locationCode eq {_literal(location_id)} and " \
               f"variantCode eq {_literal(self.variant)}"
        answer = self.http.request("GET", f"{self.collection}?$filter={quote(expr, safe='')}",
                                   correlation_id=correlation_id)
        rows = self._rows(answer, "stockkeepingUnits")
        if len(rows) > 1:
            raise ConnectorError(f"{self.name}: {len(rows)} stockkeeping units for {item_id}@{location_id}")
        return rows[0] if rows else None

    def read_parameters(self, item_id: str, location_id: str, *, correlation_id: str) -> Snapshot:
        row = self._stockkeeping_unit(item_id, location_id, correlation_id)
        if row is None:
            self._system_ids.pop((item_id, location_id), None)
            return Snapshot(None)
        self._system_ids[(item_id, location_id)] = self._field(row, "systemId", str)
        etag = row.get("@odata.etag")
        return Snapshot(self._parameters(row), etag if isinstance(etag, str) else None)

    def read_stock(self, item_id: str, location_id: str, *, correlation_id: str) -> StockBalance | None:
        """The stockkeeping unit's stock through the same ``stockkeepingUnits`` query as the parameters: the
        page's FlowFields ``inventory`` (on hand), ``qtyOnSalesOrder`` (as allocated) and ``qtyInTransit``. None:
        no stockkeeping unit for the item at the location (BC books stock by item ledger entries, but this API
        shows it per stockkeeping unit only)."""
        row = self._stockkeeping_unit(item_id, location_id, correlation_id)
        return None if row is None else parse_stock(row, item_id, location_id, as_of=_now_utc(), name=self.name)

    def write_parameters(self, request: WriteRequest, snapshot: Snapshot) -> str | None:
        system_id, etag = self._target(request, snapshot)
        answer = self.http.request("PATCH", f"{self.collection}({system_id})", body=_payload(request.target),
                                   headers={"If-Match": etag}, correlation_id=request.correlation_id,
                                   ok=(200, 204, 409))
        error = self._outcome(request, answer.status, answer.data)
        if error is not None:
            raise error
        return answer.request_id

    def write_many(self, writes: Sequence[tuple[WriteRequest, Snapshot]], *,
                   correlation_id: str) -> list[BatchWrite]:
        """Several writes as JSON ``$batch`` requests of at most 100 operations each, without ``Isolation:
        snapshot``: each write stands alone, so one conflict does not undo the others."""
        results: list[BatchWrite] = []
        for start in range(0, len(writes), BATCH_LIMIT):
            results.extend(self._batch(writes[start:start + BATCH_LIMIT], correlation_id))
        return results

    def _batch(self, writes: Sequence[tuple[WriteRequest, Snapshot]], correlation_id: str) -> list[BatchWrite]:
        done: dict[int, BatchWrite] = {}
        operations = []
        for index, (request, snapshot) in enumerate(writes):
            try:
                system_id, etag = self._target(request, snapshot)
            except ConnectorError as exc:
                done[index] = BatchWrite(request, 404 if isinstance(exc, NotFound) else 0, error=exc)
                continue
            operations.append({"id": str(index), "method": "PATCH",
                               "url": f"{self.collection.removeprefix(self.api_root + '/')}({system_id})",
                               "headers": {"Content-Type": "application/json", "If-Match": etag},
                               "body": _payload(request.target)})
        if operations:
            answer = self.http.request("POST", f"{self.api_root}/$batch", body={"requests": operations},
                                       correlation_id=correlation_id)
            body = answer.json()
            responses = body.get("responses") if isinstance(body, dict) else None
            if not isinstance(responses, list):
                raise ConnectorError(f"{self.name}: $batch answer without responses: {answer.data[:200]!r}")
            for response in responses:
                index = int(response.get("id")) if str(response.get("id", "")).isdigit() else -1
                if not 0 <= index < len(writes) or index in done:
                    raise ConnectorError(f"{self.name}: $batch answered an id it was not sent: {response.get('id')!r}")
                request = writes[index][0]
                status = int(response.get("status", 0))
                if status in (429, 503, 504):
                    done[index] = BatchWrite(request, status, error=PartnerUnavailable(
                        f"{self.name}: HTTP {status} for {request.item_id}@{request.location_id} in a $batch"))
                    continue
                error = self._outcome(request, status, json.dumps(response.get("body") or {}).encode())
                headers = {str(k).lower(): v for k, v in (response.get("headers") or {}).items()}
                done[index] = BatchWrite(request, status, None if error else headers.get(REQUEST_ID_HEADERS[0]),
                                         error)
        missing = [writes[i][0].item_id for i in range(len(writes)) if i not in done]
        if missing:
            raise ConnectorError(f"{self.name}: $batch answered no response for {', '.join(missing)}")
        return [done[i] for i in range(len(writes))]

    def _target(self, request: WriteRequest, snapshot: Snapshot) -> tuple[str, str]:
        """The SystemId to PATCH and the ETag to send as If-Match (never ``*``: that would overwrite a change
        made in BC since the read)."""
        if snapshot.parameters is None:
            raise NotFound(f"{self.name}: no stockkeeping unit for {request.item_id}@{request.location_id} in BC; "
                           "a BC user creates it (distsync only maintains its planning parameters)")
        if not snapshot.version:
            raise ConnectorError(f"{self.name}: the read of {request.item_id}@{request.location_id} had no "
                                 "@odata.etag; refusing to write without one")
        system_id = self._system_ids.get((request.item_id, request.location_id))
        if system_id is None:  # read in another container: find the record again, keep the snapshot's ETag
            self.read_parameters(request.item_id, request.location_id, correlation_id=request.correlation_id)
            system_id = self._system_ids.get((request.item_id, request.location_id))
            if system_id is None:
                raise NotFound(f"{self.name}: {request.item_id}@{request.location_id} no longer exists in BC")
        return system_id, snapshot.version

    def _outcome(self, request: WriteRequest, status: int, data: bytes) -> Exception | None:
        where = f"{request.item_id}@{request.location_id}"
        if status in (200, 201, 204):
            return None
        code, message = _error(data)
        if status == 412 or (status == 409 and code == "Request_EntityChanged"):
            return Conflict(f"{self.name}: {where} changed in BC since it was read (HTTP {status} {code}: {message})")
        if status == 404:
            self._system_ids.pop((request.item_id, request.location_id), None)
            return NotFound(f"{self.name}: {where}: HTTP 404 {code}: {message}")
        return ConnectorError(f"{self.name}: {where}: HTTP {status} {code}: {message}")

    # -------------------------------------------------------------------------------------------- delta pull
    def read_changes(self, cursor: str | None, *, correlation_id: str, limit: int = 500) -> ChangePage:
        """Stockkeeping units changed since ``cursor`` (``<lastModifiedDateTime>|<systemId>`` of the last one
        handed out), oldest first, at most ``limit``. The filter is ``ge`` the cursor's instant and the tie on
        the same instant is broken by SystemId here, because BC's OData filters cannot OR two fields; the order
        is established here too, over every page of the answer (``@odata.nextLink``)."""
        after = _parse_cursor(cursor) if cursor else None
        expr = f"variantCode eq {_literal(self.variant)}"
        if after is not None:
            expr = f"lastModifiedDateTime ge {after[2]} and {expr}"
        path: str | None = f"{self.collection}?$filter={quote(expr, safe='')}"
        headers = {"Prefer": f"odata.maxpagesize={max(1, min(limit, MAX_PAGE_SIZE))}"}
        rows: list[tuple[datetime, str, dict[str, Any]]] = []
        for _ in range(MAX_PAGES + 1):  # one more turn to see the last page's missing nextLink
            if path is None:
                break
            answer = self.http.request("GET", path, headers=headers, correlation_id=correlation_id)
            body = answer.json()
            for row in self._rows(answer, "stockkeepingUnits"):
                modified = self._field(row, "lastModifiedDateTime", str)
                key = (_instant(modified), self._field(row, "systemId", str).lower())
                if after is None or key > (after[0], after[1]):
                    rows.append((*key, row))
            next_link = body.get("@odata.nextLink")
            path = self._relative(next_link) if next_link else None
        else:
            raise ConnectorError(f"{self.name}: more than {MAX_PAGES} pages of changes; the nextLink loops")
        rows.sort(key=lambda r: (r[0], r[1]))
        taken = rows[:limit]
        changes = [ItemLocationChange(self._field(r, "itemNo", str), self._field(r, "locationCode", str),
                                      self._parameters(r), changed_at=r["lastModifiedDateTime"])
                   for _, _, r in taken]
        last = taken[-1][2] if taken else None
        return ChangePage(changes, f"{last['lastModifiedDateTime']}|{last['systemId']}" if last else None)

    def _relative(self, next_link: Any) -> str:
        """A nextLink as a path under this connection; never follow one off the connection's host (the bearer
        token would go with it)."""
        if not isinstance(next_link, str):
            raise ConnectorError(f"{self.name}: @odata.nextLink is not a string: {next_link!r:.100}")
        if next_link.startswith(self.http.base_url + "/"):
            return next_link[len(self.http.base_url):]
        base = urlsplit(self.http.base_url)
        link = urlsplit(next_link)
        if (link.scheme, link.netloc) != (base.scheme, base.netloc) or not link.path.startswith(base.path + "/"):
            raise ConnectorError(f"{self.name}: @odata.nextLink leaves the connection: {next_link:.200}")
        return link.path[len(base.path):] + (f"?{link.query}" if link.query else "")

    # -------------------------------------------------------------------------------------------- webhooks
    @property
    def resource(self) -> str:
        """The subscription resource: the custom API page's collection (custom APIs subscribe under their own
        ``api/<publisher>/<group>/<version>/subscriptions``)."""
        return self.collection

    def subscribe(self, notification_url: str, client_state: str, resource: str | None = None, *,
                  correlation_id: str | None = None) -> Subscription:
        """Create a subscription; BC calls ``notification_url?validationToken=...`` before it answers, so the
        caller marks the handshake pending first (see :meth:`validation_response`)."""
        body = {"notificationUrl": notification_url, "resource": resource or self.resource,
                "clientState": _client_state(client_state)}
        try:
            answer = self.http.request("POST", f"{self.api_root}/subscriptions", body=body,
                                       correlation_id=correlation_id)
        except PartnerRejected as exc:
            raise SubscriptionRefused(f"{self.name}: BC did not create the subscription: {exc}") from exc
        if answer.status == 404:
            raise ConnectorError(f"{self.name}: no subscriptions endpoint at {self.api_root} (is the API page "
                                 f"installed?): {_error(answer.data)}")
        return self._subscription(answer)

    def renew(self, subscription: Subscription, *, correlation_id: str | None = None) -> Subscription:
        """PATCH the subscription with its ETag before it expires (three days); BC repeats the handshake.
        404: it is gone (expired or deleted): subscribe again."""
        body = {"notificationUrl": subscription.notification_url, "resource": subscription.resource,
                "clientState": _client_state(subscription.client_state)}
        path = f"{self.api_root}/subscriptions({_literal(subscription.subscription_id)})"
        try:
            answer = self.http.request("PATCH", path, body=body, headers={"If-Match": subscription.etag or "*"},
                                       correlation_id=correlation_id)
        except PartnerRejected as exc:
            raise SubscriptionRefused(f"{self.name}: BC did not renew the subscription: {exc}") from exc
        if answer.status == 412:
            raise Conflict(f"{self.name}: subscription {subscription.subscription_id} changed since it was read")
        if answer.status == 404:
            raise NotFound(f"{self.name}: subscription {subscription.subscription_id} no longer exists: subscribe again")
        return self._subscription(answer)

    def _subscription(self, answer: Answer) -> Subscription:
        body = answer.json()
        if not isinstance(body, dict):
            raise ConnectorError(f"{self.name}: a subscription answer that is not an object: {answer.data[:200]!r}")
        etag = body.get("@odata.etag") or answer.header("ETag")
        return Subscription(self._field(body, "subscriptionId", str), self._field(body, "notificationUrl", str),
                            self._field(body, "resource", str), str(body.get("clientState") or ""),
                            self._field(body, "expirationDateTime", str), str(etag) if etag else None)

    def parse_notification(self, body: bytes, expected_client_state: str, *,
                           correlation_id: str | None = None) -> list[ItemLocationChange | CollectionChanged]:
        """A BC notification as distsync changes. The clientState of every entry is checked before anything is
        read (:class:`ClientStateMismatch`); a malformed body raises :class:`ConnectorError` naming the field.
        BC's notification names the record by SystemId only, so each created/updated stockkeeping unit is read
        (once per notification) for its item, location and parameters; a ``collection`` entry becomes a
        :class:`CollectionChanged` marker; ``deleted`` carries nothing distsync can act on (the next write gets
        NotFound) and entries for other resources are skipped."""
        changes: list[ItemLocationChange | CollectionChanged] = []
        seen: set[str] = set()
        for entry in parse_notification_body(body, expected_client_state):
            if entry.change_type == "collection":
                changes.append(CollectionChanged(entry.subscription_id, entry.resource, entry.last_modified))
                continue
            match = _SKU_IN_RESOURCE.search(urlsplit(entry.resource).path)
            if entry.change_type == "deleted" or match is None or match["id"].lower() in seen:
                continue
            seen.add(match["id"].lower())
            answer = self.http.request("GET", f"{self.collection}({_segment(match['id'])})",
                                       correlation_id=correlation_id)
            if answer.status == 404:
                continue  # deleted since BC queued the notification
            row = answer.json()
            if not isinstance(row, dict) or str(row.get("variantCode") or "") != self.variant:
                continue
            item, location = self._field(row, "itemNo", str), self._field(row, "locationCode", str)
            self._system_ids[(item, location)] = self._field(row, "systemId", str)
            changes.append(ItemLocationChange(item, location, self._parameters(row),
                                              changed_at=str(row.get("lastModifiedDateTime") or entry.last_modified)))
        return changes

    @staticmethod
    def validation_response(query: Mapping[str, Any], *, pending: bool) -> tuple[int, str]:
        return validation_response(query, pending=pending)

    # ------------------------------------------------------------------------------------------------ parsing
    def _rows(self, answer: Answer, what: str) -> list[dict[str, Any]]:
        if answer.status == 404:
            code, message = _error(answer.data)
            raise ConnectorError(f"{self.name}: {what} not found (is the API page installed, is companyId right?): "
                                 f"{code}: {message}")
        body = answer.json()
        rows = body.get("value") if isinstance(body, dict) else None
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise ConnectorError(f"{self.name}: {what} answer without a 'value' list: {answer.data[:200]!r}")
        return rows

    def _parameters(self, row: Mapping[str, Any]) -> PlanningParameters:
        try:
            return PlanningParameters(float(row["safetyStockQuantity"]), float(row["reorderPoint"]),
                                      lead_time_days(row.get("leadTimeCalculation")))
        except (KeyError, TypeError, ValueError) as exc:
            raise ConnectorError(f"{self.name}: a stockkeeping unit without safetyStockQuantity/reorderPoint: "
                                 f"{dict(row)!r:.200}") from exc

    def _field(self, row: Mapping[str, Any], name: str, kind: type) -> Any:
        value = row.get(name)
        if not isinstance(value, kind) or value == "":
            raise ConnectorError(f"{self.name}: the answer lacks {name}: {dict(row)!r:.200}")
        return value


# ------------------------------------------------------------------------------------------ pure protocol parts
def parse_notification_body(body: bytes, expected_client_state: str) -> list[NotificationEntry]:
    """Validate a BC notification body: ``{"value": [{subscriptionId, clientState, expirationDateTime,
    resource, changeType, lastModifiedDateTime}, ...]}``, possibly batched across subscriptions."""
    if not expected_client_state:
        raise ClientStateMismatch("no clientState is configured for this connection: every notification is refused")
    try:
        doc = json.loads(body.decode("utf-8-sig"))  # BC before version 19 sent a byte order mark
    except (UnicodeDecodeError, ValueError) as exc:
        raise ConnectorError("notification: the body is not JSON") from exc
    values = doc.get("value") if isinstance(doc, dict) else None
    if not isinstance(values, list) or not values:
        raise ConnectorError("notification: 'value' must be a non-empty list")
    expected = expected_client_state.encode()
    for index, entry in enumerate(values):  # authenticity first: nothing of a forged body is looked at further
        state = entry.get("clientState") if isinstance(entry, dict) else None
        if not isinstance(state, str) or not hmac.compare_digest(state.encode(), expected):
            raise ClientStateMismatch(f"notification: value[{index}].clientState is not this connection's")
    return [_entry(index, entry) for index, entry in enumerate(values)]


def _entry(index: int, entry: Mapping[str, Any]) -> NotificationEntry:
    fields: dict[str, str] = {}
    for name in ("subscriptionId", "resource", "changeType", "lastModifiedDateTime", "expirationDateTime"):
        value = entry.get(name)
        if not isinstance(value, str) or not value:
            raise ConnectorError(f"notification: value[{index}].{name} is missing or not a string")
        fields[name] = value
    if fields["changeType"] not in CHANGE_TYPES:
        raise ConnectorError(f"notification: value[{index}].changeType {fields['changeType']!r:.40} is not one of "
                             f"{', '.join(sorted(CHANGE_TYPES))}")
    for name in ("lastModifiedDateTime", "expirationDateTime"):
        try:
            _instant(fields[name])
        except ValueError as exc:
            raise ConnectorError(f"notification: value[{index}].{name} is not a date-time") from exc
    return NotificationEntry(fields["subscriptionId"], fields["resource"], fields["changeType"],
                             fields["lastModifiedDateTime"], fields["expirationDateTime"])


def validation_response(query: Mapping[str, Any], *, pending: bool) -> tuple[int, str]:
    """The answer to BC's handshake (``?validationToken=...``): the token echoed as text/plain with 200, but
    only while distsync itself is creating or renewing a subscription for this connection (``pending``);
    otherwise anyone could register our endpoint for their notifications."""
    token = query.get("validationToken", query.get("validationtoken"))
    if isinstance(token, list | tuple):
        token = token[0] if len(token) == 1 else None
    if not isinstance(token, str):
        return 400, "validationToken is required"
    if not pending:
        return 403, "no subscription is pending for this connection"
    if not 0 < len(token) <= 1024 or not token.isprintable():
        return 400, "the validationToken is malformed"
    return 200, token


def parse_stock(row: Mapping[str, Any], item_id: str, location_id: str, *, as_of: str | None = None,
                name: str = "businesscentral") -> StockBalance:
    """A stockkeeping unit row's stock fields (JSON numbers, in the item's base unit) as a balance; a row without
    them comes from an API page installed before they were added."""
    missing = [f for f in STOCK_FIELDS if f not in row]
    if missing:
        raise ConnectorError(f"{name}: the stockkeeping unit lacks {', '.join(missing)}: install the API page "
                             "version with the stock fields (docs/connectors/businesscentral.md, Stock)")
    values = []
    for field in STOCK_FIELDS:
        value = row[field]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConnectorError(f"{name}: {field} is not a number: {value!r:.50}")
        values.append(float(value))
    return StockBalance(item_id, location_id, values[0], values[1], values[2], as_of)


def _now_utc() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def lead_time_days(formula: Any) -> int | None:
    """BC's Lead Time Calculation is a date formula (e.g. ``5D``, ``<2W>``); days and weeks are comparable,
    anything else (months, ``CM``...) is not compared (None)."""
    match = _LEAD_TIME.match(formula.strip()) if isinstance(formula, str) else None
    if match is None:
        return None
    return int(match["n"]) * (7 if match["unit"].upper() == "W" else 1)


def _payload(target: PlanningParameters) -> dict[str, Any]:
    payload: dict[str, Any] = {"safetyStockQuantity": target.safety_stock, "reorderPoint": target.reorder_point}
    if target.lead_time_days is not None:
        payload["leadTimeCalculation"] = f"{target.lead_time_days}D"
    return payload


def _error(data: bytes) -> tuple[str, str]:
    """BC's error body ``{"error": {"code", "message"}}`` as (code, message), in BC's words."""
    try:
        error = json.loads(data).get("error") or {}
        return str(error.get("code") or "Unknown"), str(error.get("message") or "")[:300]
    except (ValueError, AttributeError):
        return "Unknown", data[:200].decode("utf-8", "replace")


def _literal(value: str) -> str:
    """An OData string literal (a quote doubled)."""
    return "'" + value.replace("'", "''") + "'"


def _segment(value: str) -> str:
    return quote(value, safe="")


def _client_state(value: str) -> str:
    if not value or len(value) > CLIENT_STATE_MAX:
        raise ValueError(f"clientState must be 1..{CLIENT_STATE_MAX} characters")
    return value


def _instant(value: str) -> datetime:
    """An ISO 8601 date-time (BC writes up to 7 fraction digits; Python reads 6)."""
    text = re.sub(r"(\.\d{6})\d+", r"\1", value.strip().replace("Z", "+00:00"))
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _parse_cursor(cursor: str) -> tuple[datetime, str, str]:
    """(instant, systemId lowercased, the instant as BC wrote it) of a stored cursor."""
    modified, _, system_id = cursor.partition("|")
    try:
        return _instant(modified), system_id.lower(), modified
    except ValueError as exc:
        raise ConnectorError(f"not a Business Central change cursor: {cursor!r:.100}") from exc
