"""A small threaded HTTP(S) server base for the cloud fixture servers (GCP, Azure).

Subclasses implement `route(request)`; this module owns the socket, TLS, the request log
and fault injection, so every emulator fails in the same, test-controllable ways.
Nothing happens at import time: the server binds only in `start()`.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal, Self
from urllib.parse import parse_qs, urlsplit

FaultKind = Literal["throttle", "forbidden", "server_error", "timeout", "malformed"]
FAULT_KINDS: tuple[FaultKind, ...] = (
    "throttle",
    "forbidden",
    "server_error",
    "timeout",
    "malformed",
)


def load_demo_estate(name: str) -> dict[str, Any]:
    """The packaged demo estate `assets/demo/<name>_estate.json` ("gcp", "azure"), freshly parsed."""
    from importlib.resources import files

    return json.loads(files("workbench.assets").joinpath("demo", f"{name}_estate.json").read_text())


@dataclass
class Request:
    method: str
    path: str  # URL path without the query string, percent-decoding left to the subclass
    query: dict[str, str]  # first value of each query parameter
    headers: dict[str, str]  # lower-cased names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else {}


@dataclass
class Response:
    status: int = 200
    body: Any = None  # JSON-serialisable, raw bytes, or None for an empty body
    headers: dict[str, str] = field(default_factory=dict)


class HttpError(Exception):
    """Raised by a subclass's route() to answer with an error status in the API's own shape."""

    def __init__(self, status: int, message: str, code: str = "", body: Any = None) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code
        self.body = (
            body  # a whole error envelope, when the API's answer carries more than a message
        )


@dataclass
class FaultRule:
    method: str  # "*" matches any method
    path: re.Pattern[str]  # searched (not full-matched) against the path, case-insensitively
    kind: FaultKind
    times: int | None  # None = every matching request, forever
    retry_after: int
    delay: float

    def matches(self, method: str, path: str) -> bool:
        if self.times is not None and self.times <= 0:
            return False
        return self.method in ("*", method) and self.path.search(path) is not None


class FixtureServer:
    """Base fixture server: 127.0.0.1, an ephemeral port, optional trustme TLS."""

    def __init__(self, *, tls: bool = False) -> None:
        self.tls = tls
        self.requests: list[tuple[str, str]] = []  # (method, path?query) in arrival order
        self.faults: list[FaultRule] = []
        self.ca_path: str | None = None
        self.lock = threading.RLock()  # guards the subclass's state and the fault counters
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._tmpdir: str | None = None

    # --- lifecycle -------------------------------------------------------------------------
    def start(self) -> Self:
        if self._httpd is not None:
            return self
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), self.handler_class())
        httpd.daemon_threads = True  # a client that hung up must not keep stop() waiting
        httpd.block_on_close = False  # type: ignore[attr-defined]
        # Failed TLS handshakes and dropped clients are expected in fault tests: stay quiet.
        httpd.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
        if self.tls:
            httpd.socket = self._wrap_tls(httpd.socket)
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = self.ca_path = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _wrap_tls(self, sock: Any) -> Any:
        import ssl

        import trustme  # lazy: only TLS fixtures need it

        ca = trustme.CA()
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1", "localhost").configure_cert(ctx)
        self._tmpdir = tempfile.mkdtemp(prefix="vmwb-fixture-")
        self.ca_path = str(Path(self._tmpdir) / "ca.pem")
        ca.cert_pem.write_to_path(self.ca_path)
        # Handshake in the handler thread, not in accept(): a stalled client must not block
        # the serve_forever loop for everyone else.
        return ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        """The request handler: this module's (route + faults) unless a subclass speaks HTTP itself."""
        return _make_handler(self)

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("fixture server is not started")
        return int(self._httpd.server_address[1])

    @property
    def endpoint(self) -> str:
        """Base URL with scheme, e.g. http://127.0.0.1:40123 (no trailing slash)."""
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    # --- fault injection --------------------------------------------------------------------
    def add_fault(
        self,
        kind: FaultKind,
        path: str = ".*",
        method: str = "*",
        *,
        times: int | None = 1,
        retry_after: int = 1,
        delay: float = 5.0,
    ) -> FaultRule:
        """Answer the next `times` requests matching method + path regex with a fault.

        throttle: 429 + Retry-After; forbidden: 403; server_error: 500; timeout: sleep `delay`
        seconds, then answer normally (the client's own timeout fires first); malformed: 200
        with a truncated JSON body.
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}")
        rule = FaultRule(
            method.upper(), re.compile(path, re.IGNORECASE), kind, times, retry_after, delay
        )
        with self.lock:
            self.faults.append(rule)
        return rule

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def _take_fault(self, method: str, path: str) -> FaultRule | None:
        with self.lock:
            for rule in self.faults:
                if rule.matches(method, path):
                    if rule.times is not None:
                        rule.times -= 1
                    return rule
        return None

    # --- hooks for subclasses ---------------------------------------------------------------
    def route(self, request: Request) -> Response:
        raise HttpError(404, f"no route for {request.method} {request.path}")

    def error_body(self, status: int, message: str, code: str) -> Any:
        """The provider's error envelope; overridden by each emulator."""
        return {"error": {"code": status, "message": message}}

    def dispatch(self, request: Request) -> Response:
        fault = self._take_fault(request.method, request.path)
        if fault is not None:
            if fault.kind == "timeout":
                time.sleep(fault.delay)
            elif fault.kind == "malformed":
                return Response(200, b'{"items": [{"name": "trunc', {})
            else:
                status, code = {
                    "throttle": (429, "TooManyRequests"),
                    "forbidden": (403, "AuthorizationFailed"),
                    "server_error": (500, "InternalServerError"),
                }[fault.kind]
                headers = {"Retry-After": str(fault.retry_after)} if status == 429 else {}
                body = self.error_body(status, f"injected fault: {fault.kind}", code)
                return Response(status, body, headers)
        try:
            with self.lock:
                return self.route(request)
        except HttpError as err:
            body = (
                err.body
                if err.body is not None
                else self.error_body(err.status, err.message, err.code)
            )
            return Response(err.status, body)


def _make_handler(server: FixtureServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the SDKs' connection pools expect

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the request log below replaces stderr noise

        def _handle(self) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            query = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
            headers = {k.lower(): v for k, v in self.headers.items()}
            with server.lock:
                server.requests.append((self.command, self.path))
            resp = server.dispatch(Request(self.command, url.path, query, headers, body))
            if isinstance(resp.body, bytes):
                payload = resp.body
            elif resp.body is None:
                payload = b""
            else:
                payload = json.dumps(resp.body).encode()
            try:
                self.send_response(resp.status)
                if payload:
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in resp.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (e.g. its timeout fired during a delay fault)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

    return Handler
