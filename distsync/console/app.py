"""HTTP side of the ops console: the page (``/console``, static files shipped in this package) and its JSON
API (``/_local/ops/...``), as gateway handlers ``fn(method, path, query, headers, body) -> response``.

| method | path under ``/_local/ops/`` | what |
|---|---|---|
| GET | ``transactions?limit=50&status=&q=`` | newest transactions with hops, counts by status |
| GET | ``transactions/<correlation id>`` | one transaction's timeline |
| GET | ``dlqs`` | every dead-letter queue with its source queue and depth |
| POST | ``dlqs/<name>/redrive`` | move its messages back (body: ``correlationId``, ``eventType``, ``olderThanSeconds``, ``dryRun``) |
| GET | ``quarantine?status=QUARANTINED`` | quarantined events with the reason (``status=all`` for every record) |
| POST | ``quarantine/<id>/release`` | put the event back on the bus |
| GET | ``approvals?status=PENDING&sort=impact`` | approvals (``status=all`` for every record), newest first or by ``impact``, ``change``, ``age``, each with ``impactSummary`` |
| POST | ``approvals/<id>/approve`` / ``reject`` | a planner decision (body: ``comment``, ``by``) through the signed API |
| GET | ``kpis?since=24h`` | SLA figures from the ledger and DLQ depth per domain |
| GET | ``lineage/<item>@<location>?since=30d`` | why it has its parameters (``distsync why --json``) |

Errors answer ``application/problem+json`` (docs/problems.md). POSTs must be ``application/json`` and
same-origin, so no other web page open in the operator's browser can trigger them.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from collections.abc import Callable
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from distsync import dlq
from distsync.keys import ApiKeys, SigningKeys
from distsync.sim.clients import SignedClient
from distsync.trace import STATUSES
from distsync_core.platform.problems import (
    PROBLEM_CONTENT_TYPE,
    BadRequest,
    NotFound,
    ProblemError,
    ServiceUnavailable,
    UnsupportedMediaType,
)

from .service import MAX_LIMIT, Ops, to_json

log = logging.getLogger(__name__)

Response = tuple[int, dict[str, str], bytes]
PAGE_PREFIX = "/console"
API_PREFIX = "/_local/ops/"
STATIC = {"index.html": "text/html; charset=utf-8", "console.js": "text/javascript; charset=utf-8",
          "console.css": "text/css; charset=utf-8"}
PAGE_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'",
}


class MethodNotAllowed(ProblemError):
    status, title = 405, "Method not allowed"

    def body(self) -> dict[str, Any]:
        return {**super().body(), "type": "about:blank"}


def problem(exc: ProblemError, headers: dict[str, str] | None = None) -> Response:
    return exc.status, {"Content-Type": PROBLEM_CONTENT_TYPE, "Cache-Control": "no-store", **(headers or {})}, \
        exc.to_json().encode()


def ok(data: Any, status: int = 200) -> Response:
    return status, {"Content-Type": "application/json", "Cache-Control": "no-store"}, to_json(data)


class Request:
    def __init__(self, method: str, path: str, query: str, headers: dict[str, str], body: bytes):
        self.method, self.path, self.body = method, path, body
        self.query = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
        self.headers = {k.lower(): v for k, v in headers.items()}

    def int_param(self, name: str, default: int, low: int, high: int) -> int:
        raw = self.query.get(name)
        if raw is None or raw == "":
            return default
        if not raw.isdigit() or not low <= int(raw) <= high:
            raise BadRequest(f"{name} must be a whole number from {low} to {high}, not {raw!r}",
                             [{"field": name, "message": f"a whole number from {low} to {high}"}])
        return int(raw)

    def choice(self, name: str, default: str | None, allowed: tuple[str, ...]) -> str | None:
        raw = self.query.get(name, default)
        if raw in (None, "", "all"):
            return None
        if raw not in allowed:
            raise BadRequest(f"{name} must be one of {', '.join(allowed)} or all, not {raw!r}",
                             [{"field": name, "message": f"one of {', '.join(allowed)}, all"}])
        return raw

    def json(self) -> dict[str, Any]:
        """The body of a POST: JSON object, same origin (a cross-site form or fetch cannot send it)."""
        content_type = self.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            raise UnsupportedMediaType(f"send Content-Type: application/json, not {content_type or 'nothing'}")
        origin, host = self.headers.get("origin"), self.headers.get("host")
        if self.headers.get("sec-fetch-site") == "cross-site" or (origin and urlsplit(origin).netloc != host):
            raise BadRequest(f"cross-origin request refused (Origin {origin})")
        try:
            data = json.loads(self.body or b"{}")
        except ValueError as exc:
            raise BadRequest(f"body is not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise BadRequest("body must be a JSON object")
        return data


def _field(body: dict[str, Any], name: str, kind: type | tuple[type, ...], default: Any = None) -> Any:
    value = body.get(name, default)
    if value is not None and (not isinstance(value, kind) or isinstance(value, bool) and kind is not bool):
        expected = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise BadRequest(f"{name} must be {expected}", [{"field": name, "message": f"expected {expected}"}])
    return value


class Console:
    """The page and the API of one stack. Requests are served one at a time (a redrive never races the
    page's own refresh). ``aws_endpoint``: where the default boto3 session must point, since the shared
    layer's ledger and stores use it (``distsync local up`` sets ``AWS_ENDPOINT_URL`` to its moto)."""

    def __init__(self, ops: Ops, aws_endpoint: str | None = None):
        self.ops, self.aws_endpoint = ops, aws_endpoint
        self._lock = threading.Lock()
        self._routes: list[tuple[str, re.Pattern[str], Callable[..., Response]]] = [
            ("GET", re.compile(r"transactions"), self._transactions),
            ("GET", re.compile(r"transactions/(?P<cid>[^/]+)"), self._transaction),
            ("GET", re.compile(r"dlqs"), lambda req: ok(self.ops.dlqs())),
            ("POST", re.compile(r"dlqs/(?P<name>[^/]+)/redrive"), self._redrive),
            ("GET", re.compile(r"quarantine"), self._quarantine),
            ("POST", re.compile(r"quarantine/(?P<qid>[^/]+)/release"), self._release),
            ("GET", re.compile(r"approvals"), self._approvals),
            ("POST", re.compile(r"approvals/(?P<aid>[^/]+)/(?P<decision>approve|reject)"), self._decide),
            ("GET", re.compile(r"kpis"), lambda req: ok(self.ops.kpis(req.query.get("since") or "24h"))),
            ("GET", re.compile(r"lineage/(?P<key>[^/]+)"),
             lambda req, key: ok(self.ops.lineage(key, req.query.get("since") or None))),
        ]

    @classmethod
    def for_stack(cls, stack: Any) -> Console:
        """For a started :class:`distsync.local.stack.LocalStack` (deployed, gateway not yet built); decisions
        are signed with the ``planners`` role's newest key, read from its secret for each decision."""
        clients: dict[str, Any] = {}

        def client(service: str) -> Any:
            if service not in clients:
                clients[service] = stack.moto.client(service)
            return clients[service]

        def decide(approval_id: str, decision: str, comment: str, by: str) -> tuple[int, Any]:
            key = SigningKeys.of(client("secretsmanager"), stack.outputs).current("planners")
            api_key = ApiKeys.of(client("apigateway"), stack.outputs).current("planners")
            result = SignedClient(stack.url, key, api_keys={"planners": api_key}).decide(approval_id, decision, comment, by)
            return result.status, result.body

        ops = Ops(stack.outputs, lambda: {url: lid for lid, url in stack.queues().items()}, client("sqs"),
                  client("events"), decide)
        return cls(ops, aws_endpoint=stack.moto.endpoint)

    def handlers(self) -> dict[str, Callable[[str, str, str, dict[str, str], bytes], Response]]:
        return {API_PREFIX: self.api, PAGE_PREFIX: self.page}

    # ----------------------------------------------------------------------------------------------- page
    def page(self, method: str, path: str, query: str, headers: dict[str, str], body: bytes) -> Response:
        name = path[len(PAGE_PREFIX):].lstrip("/") or "index.html"
        if path[len(PAGE_PREFIX):][:1] not in ("", "/") or name not in STATIC:
            return problem(NotFound(f"no console file {path}"))
        if method not in ("GET", "HEAD"):
            return problem(MethodNotAllowed(f"{path} answers GET only"), {"Allow": "GET"})
        data = (resources.files(__package__) / "static" / name).read_bytes()
        return 200, {"Content-Type": STATIC[name], **PAGE_HEADERS}, data

    # ------------------------------------------------------------------------------------------------ api
    def api(self, method: str, path: str, query: str, headers: dict[str, str], body: bytes) -> Response:
        req = Request(method, path, query, headers, body)
        rest = path[len(API_PREFIX):].rstrip("/")
        try:
            allowed = []
            for verb, pattern, handler in self._routes:
                match = pattern.fullmatch(rest)
                if match and verb == method:
                    self._check_session()
                    with self._lock:
                        return handler(req, **{k: unquote(v) for k, v in match.groupdict().items()})
                if match:
                    allowed.append(verb)
            if allowed:
                raise MethodNotAllowed(f"{path} answers {', '.join(allowed)}, not {method}")
            raise NotFound(f"no route for {method} {path}")
        except MethodNotAllowed as exc:
            return problem(exc, {"Allow": ", ".join(allowed)})
        except ProblemError as exc:
            return problem(exc)
        except Exception as exc:  # the page shows it; the log has the stack trace
            log.exception("ops console: %s %s failed", method, path)
            return problem(ProblemError(f"{type(exc).__name__}: {exc}"))

    def _check_session(self) -> None:
        current = os.environ.get("AWS_ENDPOINT_URL")
        if self.aws_endpoint and current != self.aws_endpoint:
            raise ServiceUnavailable(f"this process's AWS clients point at {current or 'AWS'}, not the local stack "
                                     f"({self.aws_endpoint}); set AWS_ENDPOINT_URL (distsync local up does)")

    def _transactions(self, req: Request) -> Response:
        return ok(self.ops.transactions(limit=req.int_param("limit", 50, 1, MAX_LIMIT),
                                        status=req.choice("status", None, STATUSES), query=req.query.get("q")))

    def _transaction(self, req: Request, cid: str) -> Response:
        return ok(self.ops.transaction(cid))

    def _redrive(self, req: Request, name: str) -> Response:
        body = req.json()
        filters = dlq.Filters(_field(body, "eventType", str), _field(body, "correlationId", str),
                              _field(body, "olderThanSeconds", (int, float)))
        return ok(self.ops.redrive(name, filters, dry_run=bool(_field(body, "dryRun", bool, False))))

    def _quarantine(self, req: Request) -> Response:
        return ok(self.ops.quarantine(req.choice("status", "QUARANTINED", ("QUARANTINED", "RELEASED"))))

    def _release(self, req: Request, qid: str) -> Response:
        req.json()
        return ok(self.ops.release(qid))

    def _approvals(self, req: Request) -> Response:
        statuses = ("PENDING", "DECIDING", "APPROVED", "REJECTED", "TIMED_OUT")
        from distsync.approvals import SORTS

        return ok(self.ops.approvals(req.choice("status", "PENDING", statuses), req.choice("sort", None, SORTS)))

    def _decide(self, req: Request, aid: str, decision: str) -> Response:
        body = req.json()
        status, result = self.ops.decide(aid, decision, _field(body, "comment", str, "") or "",
                                         _field(body, "by", str, "ops-console") or "ops-console")
        if status == 200:
            return ok(result)
        # The approval API's own problem (404 unknown approval, 409 already decided...), passed on as is.
        return status, {"Content-Type": PROBLEM_CONTENT_TYPE, "Cache-Control": "no-store"}, to_json(result)
