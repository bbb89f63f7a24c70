"""A tiny JSON-over-HTTP server base for the simulators (stdlib only, threaded, loopback)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# (method, path regex, handler) or (method, path regex, handler, accepted body content types): a route takes
# JSON bodies only unless it names others (e.g. an OAuth token endpoint's form, an OData $batch's multipart).
# A handler answers (status, body, headers): a body of bytes is sent as it is, with the Content-Type it gives.
Route = tuple[Any, ...]


class KeptAliveHandler(BaseHTTPRequestHandler):
    """What the simulators' and the local gateway's handlers share: kept-alive connections, quiet logs."""

    protocol_version = "HTTP/1.1"
    # Headers and body leave in two writes on a kept-alive connection: with Nagle's algorithm the body waits for
    # the client's delayed ACK of the headers, ~40 ms per response (TCP_NODELAY).
    disable_nagle_algorithm = True

    def log_message(self, *_args: Any) -> None:  # keep test output quiet
        pass


class JsonRequest:
    def __init__(self, method: str, path: str, headers: dict[str, str], body: bytes):
        self.method, self.path, self.headers, self.body = method, path, headers, body

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)

    def json(self) -> Any:
        return json.loads(self.body or b"null")


WITH_BODY = frozenset({"POST", "PUT", "PATCH", "MERGE"})


def entries(body: Any, key: str) -> Any:
    """A control-surface body's entries: ``{"<key>": [...]}``, a bare list, or one entry on its own."""
    if isinstance(body, dict) and key in body:
        return body[key]
    return body if isinstance(body, list) else [body]


def _is_json(content_type: str | None) -> bool:
    return (content_type or "").split(";")[0].strip().lower() == "application/json"


class JsonServer:
    """Routes ``(method, regex) -> fn(request, **groups) -> (status, body, headers)``."""

    def __init__(self, routes: list[Route], host: str = "127.0.0.1", port: int = 0):
        self.routes = routes
        server = self

        class Handler(KeptAliveHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = JsonRequest(self.command, self.path, dict(self.headers.items()), self.rfile.read(length))
                status, body, headers = server.dispatch(request)
                raw = isinstance(body, bytes)
                payload = body if raw else (b"" if body is None else json.dumps(body).encode())
                self.send_response(status)
                if not any(k.lower() == "content-type" for k in headers):
                    self.send_header("Content-Type", "application/octet-stream" if raw else "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_MERGE = _serve  # noqa: N815

        self._httpd = ThreadingHTTPServer((host, port), Handler)
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """Where a partner client points: the simulated system's API root."""
        return f"{self.url}/api"

    def dispatch(self, request: JsonRequest) -> tuple[int, Any, dict[str, str]]:
        path = request.path.split("?")[0]
        content_type = (request.header("Content-Type") or "").split(";")[0].strip().lower()
        for method, pattern, fn, *accepts in self.routes:
            match = pattern.fullmatch(path)
            if match and method == request.method:
                if request.method in WITH_BODY and not _is_json(content_type) \
                        and content_type not in (accepts[0] if accepts else ()):
                    # a web page may send a cross-site text/plain POST without a preflight; never one of JSON
                    return 415, {"error": f"{request.method} {path} takes Content-Type application/json"}, {}
                try:
                    return fn(request, **match.groupdict())
                except (ValueError, KeyError, TypeError) as exc:
                    return 400, {"error": f"bad request: {exc}"}, {}
        if request.method in WITH_BODY and not _is_json(content_type):
            return 415, {"error": f"{request.method} {path} takes Content-Type application/json"}, {}
        return 404, {"error": f"no route {request.method} {path}"}, {}

    def start(self) -> JsonServer:
        # serve_forever notices shutdown() once per poll interval (0.5 s by default): the suite starts and stops
        # a simulator per test, and waited 0.3 s on average for each stop.
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=type(self).__name__, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
