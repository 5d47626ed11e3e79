"""A fault-injecting HTTP(S) reverse proxy in front of an emulator: moto, the GCP or the Azure fixture server.

The real SDK clients talk to the proxy (``endpoint``) as they would to the API; the proxy forwards every
request to ``upstream`` and answers with what came back, unless a rule picks the request. A rule's ``match``
is a regular expression searched in the request's description, ``"<METHOD> <path>?<query> action=<Action>
region=<region> key=<access key>"`` (the last three for AWS: the SigV4 credential scope and the query or JSON
action), so a fault can hit one scope (a region, an account's key, a project or a subscription in the path),
one call, or everything. For vSphere the action is the SOAP operation and the object type it reads
(``RetrievePropertiesEx/VirtualMachine``). Faults, each in the platform's own shape (``flavor``: aws | gcp |
azure | vsphere, whose errors are SOAP faults):

- ``server_error``: 500 with the API's error body; ``throttle``: the API's throttling error (429 with
  Retry-After for GCP/Azure, RequestLimitExceeded / ThrottlingException for AWS); ``denied``: 403
  (UnauthorizedOperation / AccessDeniedException, PERMISSION_DENIED, AuthorizationFailed); ``not_found``: the
  API's "no such resource" (a resource deleted between the list and its detail call).
- ``hang``: waits ``delay`` seconds (past the client's timeout), then closes without answering.
- ``html``: 200 with a login page (text/html), as a captive or authenticating proxy answers.
- ``empty``: 200, well-formed, in the API's content type, but without the result (``{}``, an empty XML
  response element).
- ``truncated``: the upstream answer cut in half, framed as complete (Content-Length of the cut body).
- ``malformed``: 200 in the API's content type with a body that does not parse.
- ``reset``: the upstream answer's headers and half its body, then the connection is reset.

The upstream's own base URL in answers (Azure's nextLink, operation URLs) is rewritten to the proxy's, so
paging stays behind it. Nothing happens at import time; the proxy binds in ``start()``.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import ssl
import struct
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any, Literal, get_args
from urllib.parse import parse_qs, urlsplit

from workbench.emulators.http_fixture import FixtureServer

Flavor = Literal["aws", "gcp", "azure", "vsphere"]
ProxyFault = Literal[
    "server_error",
    "throttle",
    "denied",
    "not_found",
    "hang",
    "html",
    "empty",
    "truncated",
    "malformed",
    "reset",
]
PROXY_FAULTS: tuple[ProxyFault, ...] = get_args(
    ProxyFault
)  # a class added above is tried everywhere
LOGIN_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body><h1>Corporate proxy</h1>"
    b'<form method="post" action="/login"><input name="user"><input type="password" name="pw">'
    b"</form></body></html>\n"
)
_CREDENTIAL = re.compile(r"Credential=([^/]+)/\d+/([^/]+)/")
_SOAP_OPERATION = re.compile(rb"<(?:\w+:)?Body>\s*<(?:\w+:)?(\w+)")
_SOAP_TYPE = re.compile(rb"<propSet>\s*<type>(\w+)</type>")
_HOP_HEADERS = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "proxy-connection",
}


@dataclass
class ProxyRule:
    kind: ProxyFault
    match: re.Pattern[str]
    times: int | None  # None: every matching request
    delay: float
    retry_after: int

    def take(self, described: str) -> bool:
        if self.times is not None and self.times <= 0:
            return False
        if not self.match.search(described):
            return False
        if self.times is not None:
            self.times -= 1
        return True


@dataclass
class Forwarded:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


@dataclass
class _Incoming:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    described: str = ""
    json_protocol: bool = False  # AWS JSON (SSM), not query/XML (EC2, STS)
    action: str = ""


class FaultProxy(FixtureServer):
    """A reverse proxy to ``upstream`` (``http(s)://127.0.0.1:PORT``) that injects faults by rule.

    ``upstream_ca``: the upstream's CA bundle when it speaks TLS. ``tls``: serve TLS itself (its CA is then
    ``ca_path``); Azure needs it, since azure-core sends bearer tokens over https only.
    """

    def __init__(
        self,
        upstream: str,
        flavor: Flavor,
        *,
        upstream_ca: str | None = None,
        tls: bool = False,
    ) -> None:
        super().__init__(tls=tls)
        self.upstream = upstream.rstrip("/")
        self.flavor: Flavor = flavor
        self.upstream_ca = upstream_ca
        self.rules: list[ProxyRule] = []
        self._rules_lock = threading.Lock()

    # --- rules ------------------------------------------------------------------------------
    def add(
        self,
        kind: ProxyFault,
        match: str = ".*",
        *,
        times: int | None = None,
        delay: float = 3.0,
        retry_after: int = 1,
    ) -> ProxyRule:
        """Inject ``kind`` into the next ``times`` requests (None: all) whose description ``match`` finds."""
        if kind not in PROXY_FAULTS:
            raise ValueError(f"unknown fault {kind!r} (known: {', '.join(PROXY_FAULTS)})")
        rule = ProxyRule(kind, re.compile(match, re.IGNORECASE), times, delay, retry_after)
        with self._rules_lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._rules_lock:
            self.rules.clear()

    def _pick(self, described: str) -> ProxyRule | None:
        with self._rules_lock:
            for rule in self.rules:
                if rule.take(described):
                    return rule
        return None

    # --- forwarding -------------------------------------------------------------------------
    def forward(self, req: _Incoming) -> Forwarded:
        up = urlsplit(self.upstream)
        conn: http.client.HTTPConnection
        if up.scheme == "https":
            context = ssl.create_default_context(cafile=self.upstream_ca)
            conn = http.client.HTTPSConnection(up.netloc, timeout=60, context=context)
        else:
            conn = http.client.HTTPConnection(up.netloc, timeout=60)
        headers = {
            k: v
            for k, v in req.headers.items()
            if k.lower() not in _HOP_HEADERS and k.lower() not in ("host", "accept-encoding")
        }
        headers["Host"] = up.netloc
        try:
            conn.request(req.method, req.path, body=req.body or None, headers=headers)
            resp = conn.getresponse()
            body = resp.read()
            kept = [(k, v) for k, v in resp.getheaders() if k.lower() not in _HOP_HEADERS]
            status = resp.status
        finally:
            conn.close()
        # The upstream names itself in nextLink and operation URLs: keep the client behind the proxy.
        body = body.replace(self.upstream.encode(), self.endpoint.encode())
        kept = [(k, v.replace(self.upstream, self.endpoint)) for k, v in kept]
        return Forwarded(status, kept, body)

    # --- the platform's own shapes ----------------------------------------------------------
    def _error(self, req: _Incoming, kind: ProxyFault) -> tuple[int, str, bytes, dict[str, str]]:
        """(status, content type, body, extra headers) of an error answer in the platform's shape."""
        retry = {"Retry-After": "1"}
        if self.flavor == "aws":
            resource = next(
                (n for n in ("Snapshot", "Image", "Instance", "Volume") if n in req.action), ""
            )
            code, status, message = {
                "server_error": ("InternalError", 500, "An internal error has occurred"),
                "throttle": ("RequestLimitExceeded", 503, "Request limit exceeded."),
                "denied": ("UnauthorizedOperation", 403, "You are not authorized (injected)."),
                "not_found": (
                    {"Image": "InvalidAMIID.NotFound"}.get(
                        resource, f"Invalid{resource or 'Resource'}.NotFound"
                    ),
                    400,
                    "The resource does not exist (injected).",
                ),
            }[kind]  # type: ignore[index]
            if req.json_protocol:
                json_code = {
                    "RequestLimitExceeded": "ThrottlingException",
                    "UnauthorizedOperation": "AccessDeniedException",
                    "InternalError": "InternalServerError",
                }.get(code, code)
                status = 400 if kind == "throttle" else status
                body = json.dumps({"__type": json_code, "message": message}).encode()
                return status, "application/x-amz-json-1.1", body, {}
            xml = (
                '<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>'
                f"<Code>{code}</Code><Message>{message}</Message></Error></Errors>"
                "<RequestID>fault-proxy</RequestID></Response>"
            )
            return status, "text/xml;charset=UTF-8", xml.encode(), {}
        if self.flavor == "vsphere":
            fault = (
                '<?xml version="1.0" encoding="UTF-8"?>\n<soapenv:Envelope '
                'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
                'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><soapenv:Fault>'
                f"<faultcode>ServerFaultCode</faultcode><faultstring>injected fault: {kind}</faultstring>"
                '<detail><SystemErrorFault xmlns="urn:vim25" xsi:type="SystemError">'
                f"<reason>injected fault: {kind}</reason></SystemErrorFault></detail>"
                "</soapenv:Fault></soapenv:Body></soapenv:Envelope>"
            )
            return 500, "text/xml; charset=utf-8", fault.encode(), {}
        status, gcp_status, azure_code = {
            "server_error": (500, "INTERNAL", "InternalServerError"),
            "throttle": (429, "RESOURCE_EXHAUSTED", "TooManyRequests"),
            "denied": (403, "PERMISSION_DENIED", "AuthorizationFailed"),
            "not_found": (404, "NOT_FOUND", "ResourceNotFound"),
        }[kind]  # type: ignore[index]
        message = f"injected fault: {kind}"
        if self.flavor == "gcp":
            error: dict[str, Any] = {"code": status, "message": message, "status": gcp_status}
        else:
            error = {"code": azure_code, "message": message}
        headers = retry if status == 429 else {}
        return (
            status,
            "application/json; charset=UTF-8",
            json.dumps({"error": error}).encode(),
            headers,
        )

    def _api_type(self, req: _Incoming) -> str:
        if self.flavor == "vsphere":
            return "text/xml; charset=utf-8"
        if self.flavor == "aws" and not req.json_protocol:
            return "text/xml;charset=UTF-8"
        return "application/x-amz-json-1.1" if self.flavor == "aws" else "application/json"

    def _empty(self, req: _Incoming) -> bytes:
        if self.flavor == "aws" and not req.json_protocol:
            name = req.action or "Unknown"
            return (
                f'<?xml version="1.0" encoding="UTF-8"?>\n<{name}Response '
                f'xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>fault-proxy</requestId>'
                f"</{name}Response>"
            ).encode()
        return b"{}"

    def _malformed(self, req: _Incoming) -> bytes:
        if self.flavor == "vsphere":
            return (
                b'<?xml version="1.0"?><soapenv:Envelope><soapenv:Body><returnval></soapenv:Body>'
            )
        if self.flavor == "aws" and not req.json_protocol:
            return b'<?xml version="1.0"?><Response><reservationSet><item></reservationSet>'
        return b'{"items": [{"name": "x", }]] not json'

    # --- HTTP -------------------------------------------------------------------------------
    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        return _make_proxy_handler(self)

    def describe(self, method: str, path: str, headers: dict[str, str], body: bytes) -> _Incoming:
        req = _Incoming(method, path, headers, body)
        auth = headers.get("authorization", "")
        cred = _CREDENTIAL.search(auth)
        key, region = (cred.group(1), cred.group(2)) if cred else ("", "")
        target = headers.get("x-amz-target", "")
        if target:
            req.json_protocol, req.action = True, target.rpartition(".")[2]
        elif self.flavor == "aws" and body:
            req.action = (parse_qs(body.decode(errors="replace")).get("Action") or [""])[0]
        elif self.flavor == "vsphere" and body:
            operation, kind = _SOAP_OPERATION.search(body), _SOAP_TYPE.search(body)
            req.action = (operation.group(1).decode() if operation else "") + (
                f"/{kind.group(1).decode()}" if kind else ""
            )
        req.described = f"{method} {path} action={req.action} region={region} key={key}"
        return req


def _make_proxy_handler(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(
            self,
            status: int,
            headers: list[tuple[str, str]],
            body: bytes,
            *,
            cut: int | None = None,
        ) -> None:
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if cut is None:
                self.wfile.write(body)
                return
            self.wfile.write(body[:cut])
            self.wfile.flush()
            # RST, not FIN: the client sees "connection reset" mid-body, as after a dropped link.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            req = proxy.describe(self.command, self.path, headers, body)
            with proxy.lock:
                proxy.requests.append((self.command, req.described))
            rule = proxy._pick(req.described)
            kind = rule.kind if rule else None
            try:
                if kind == "hang":
                    time.sleep(rule.delay if rule else 0)
                    self.close_connection = True
                    return
                if kind in ("server_error", "throttle", "denied", "not_found"):
                    status, ctype, payload, extra = proxy._error(req, kind)
                    if rule and "Retry-After" in extra:
                        extra["Retry-After"] = str(rule.retry_after)
                    self._send(status, [("Content-Type", ctype), *extra.items()], payload)
                    return
                if kind == "html":
                    self._send(200, [("Content-Type", "text/html; charset=utf-8")], LOGIN_PAGE)
                    return
                if kind in ("empty", "malformed"):
                    payload = proxy._empty(req) if kind == "empty" else proxy._malformed(req)
                    self._send(200, [("Content-Type", proxy._api_type(req))], payload)
                    return
                answer = proxy.forward(req)
                if kind == "truncated":
                    self._send(answer.status, answer.headers, answer.body[: len(answer.body) // 2])
                elif kind == "reset":
                    self._send(
                        answer.status, answer.headers, answer.body, cut=len(answer.body) // 2
                    )
                else:
                    self._send(answer.status, answer.headers, answer.body)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client gave up first (its own timeout)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle

    return Handler
