"""The local API Gateway: a real HTTP server on 127.0.0.1 that turns requests into API Gateway REST
proxy events for the functions the template routes them to; plus the simulators and runtime endpoints:

- ``/_sim/erp/...`` and ``/_sim/wms/...``: the ERP and WMS simulators' control endpoints;
- ``/_local/info``: endpoints and names of the running stack (for the CLI and tests);
- ``/_local/idle``: whether every queue is drained and no function is running;
- ``handlers``: path prefix -> ``fn(method, path, query, headers, body) -> (status, headers, bytes)``
  for anything else the runtime serves itself (the ops console).
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from distsync.sim.http import JsonRequest, JsonServer, KeptAliveHandler

from .assembly import GatewayResponseSpec, RouteSpec
from .lambdas import InvokeError
from .moto_backend import ACCOUNT_ID
from .usage_plans import UsagePlanGate

MAX_REQUEST_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit

Response = tuple[int, dict[str, str], bytes]
PathHandler = Callable[[str, str, str, dict[str, str], bytes], Response]


# API Gateway's own answers where the template customizes none (its defaults)
_DEFAULT_RESPONSES = {
    "INVALID_API_KEY": GatewayResponseSpec(403, {}, json.dumps({"message": "Forbidden"})),
    "THROTTLED": GatewayResponseSpec(429, {}, json.dumps({"message": "Too Many Requests"})),
    "QUOTA_EXCEEDED": GatewayResponseSpec(429, {}, json.dumps({"message": "Limit Exceeded"})),
}


def proxy_event(route: RouteSpec, method: str, path: str, query: str, headers: dict[str, str], body: bytes,
                params: dict[str, str], stage: str, source_ip: str, api_key_id: str | None = None) -> dict[str, Any]:
    try:
        text, is_b64 = body.decode("utf-8"), False
    except UnicodeDecodeError:
        text, is_b64 = base64.b64encode(body).decode(), True
    qs = parse_qs(query, keep_blank_values=True)
    return {
        "resource": route.path,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in qs.items()} or None,
        "multiValueQueryStringParameters": qs or None,
        "pathParameters": params or None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": route.path,
            "httpMethod": method,
            "path": f"/{stage}{path}",
            "stage": stage,
            "requestId": str(uuid.uuid4()),
            "accountId": ACCOUNT_ID,
            "apiId": "local",
            "identity": {"sourceIp": source_ip, "apiKeyId": api_key_id},
            "requestTimeEpoch": int(time.time() * 1000),
        },
        "body": text if body else None,
        "isBase64Encoded": is_b64,
    }


class Gateway:
    def __init__(self, port: int, routes: list[RouteSpec], invoke: Callable[[str, Any], Any], stage: str,
                 extras: dict[str, JsonServer], local_routes: dict[str, Callable[[], Any]],
                 handlers: dict[str, PathHandler] | None = None, usage_plans: UsagePlanGate | None = None,
                 responses: dict[str, GatewayResponseSpec] | None = None):
        self.routes, self.invoke, self.stage, self.extras, self.local_routes = routes, invoke, stage, extras, local_routes
        self.handlers = handlers or {}
        self.usage_plans, self.responses = usage_plans, {**_DEFAULT_RESPONSES, **(responses or {})}
        gateway = self

        class Handler(KeptAliveHandler):
            def _serve(self) -> None:
                status, headers, payload = gateway.handle(self)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            def __getattr__(self, name: str) -> Any:
                # Every method reaches the router (unknown ones get the same 404 problem as unknown paths),
                # instead of http.server's HTML 501 page.
                if name.startswith("do_"):
                    return self._serve
                raise AttributeError(name)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._httpd.daemon_threads = True

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    def start(self) -> Gateway:
        threading.Thread(target=self._httpd.serve_forever, name="gateway", daemon=True).start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def handle(self, req: BaseHTTPRequestHandler) -> tuple[int, dict[str, str], bytes]:
        host = (req.headers.get("Host") or "").lower()
        if host not in (f"127.0.0.1:{self.port}", f"localhost:{self.port}"):
            # DNS rebinding: a web page whose name now points at 127.0.0.1 would be same-origin with the
            # console and could approve, redrive and read the ledger; only the loopback names are served.
            return _json(421, {"type": "about:blank", "title": "Misdirected request", "status": 421,
                               "detail": f"this local stack answers to 127.0.0.1:{self.port} and "
                                         f"localhost:{self.port}, not {host or 'no Host header'}"},
                         {"Content-Type": "application/problem+json"})
        split = urlsplit(req.path)
        length = int(req.headers.get("Content-Length") or 0)
        if length > MAX_REQUEST_BYTES:
            return _json(413, {"message": "Request Too Long"})
        body = req.rfile.read(length) if length else b""
        headers = dict(req.headers.items())
        for prefix, server in self.extras.items():
            if split.path.startswith(prefix):
                status, data, extra = server.dispatch(JsonRequest(req.command, split.path, headers, body))
                return _json(status, data, extra)
        if split.path in self.local_routes and req.command == "GET":
            return _json(200, self.local_routes[split.path]())
        for prefix, handler in self.handlers.items():
            if split.path.startswith(prefix):
                return handler(req.command, split.path, split.query, headers, body)
        for route in self.routes:
            match = route.pattern.fullmatch(split.path)
            if match and route.method == req.command:
                return self._metered(route, req, split.path, split.query, headers, body, match.groupdict())
        # API Gateway answers unknown resources with 403 "Missing Authentication Token"; say what it means.
        return _json(404, {"type": "about:blank", "title": "Not found", "status": 404,
                           "detail": f"no route for {req.command} {split.path}"}, {"Content-Type": "application/problem+json"})

    def _metered(self, route: RouteSpec, req: BaseHTTPRequestHandler, path: str, query: str,
                 headers: dict[str, str], body: bytes, params: dict[str, str]) -> Response:
        """A method that requires an API key: 403 without a known key on a plan, 429 over the key's limits
        (as API Gateway answers, from the template's gateway responses), else the function's answer; every
        answer carries the key's RateLimit fields."""
        key_id, limits = None, {}
        if route.api_key_required and self.usage_plans is not None:
            key = next((v for k, v in headers.items() if k.lower() == "x-api-key"), None)
            holder = self.usage_plans.holder(key)
            if holder is None:
                return self.responses["INVALID_API_KEY"].render(str(uuid.uuid4()))
            decision = self.usage_plans.admit(holder)
            if not decision.allowed:
                status, extra, payload = self.responses[decision.response_type or "THROTTLED"].render(str(uuid.uuid4()))
                return status, {**extra, **decision.headers}, payload  # the exact Retry-After over the static one
            key_id, limits = holder.key_id, decision.headers
        event = proxy_event(route, req.command, path, query, headers, body, params, self.stage,
                            req.client_address[0], key_id)
        status, answer_headers, payload = self._call(route, event)
        return status, {**answer_headers, **limits}, payload

    def _call(self, route: RouteSpec, event: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        try:
            result = self.invoke(route.function_logical_id, event)
        except InvokeError:
            return _json(502, {"message": "Internal server error"})
        if not isinstance(result, dict) or "statusCode" not in result:
            return _json(502, {"message": "Internal server error"})
        body = result.get("body") or ""
        payload = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode("utf-8")
        headers = {k: str(v) for k, v in (result.get("headers") or {}).items()}
        for key, values in (result.get("multiValueHeaders") or {}).items():
            headers[key] = ",".join(str(v) for v in values)
        return int(result["statusCode"]), headers, payload


def _json(status: int, data: Any, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(data).encode()
