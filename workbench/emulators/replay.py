"""A zero-cost AWS endpoint for the concurrency bench: record an emulator's answers once, replay them with a
fixed latency from a server whose own CPU is negligible.

moto spends milliseconds of CPU on every call, so a bench against it measures moto as much as the client.
:class:`Recorder` is a reverse proxy in front of moto that keeps every answer by the request's identity; the
:func:`serve` process then answers the same requests from memory after sleeping ``latency`` seconds (as a real
endpoint's network and service time would), costing itself tens of microseconds per call.

A request's identity is what a real AWS endpoint would answer by: the method, path and query, the SigV4
credential scope (access key, region, service: an assumed role's calls carry its recorded key), the target
header of JSON protocols, and the body with its parameters sorted. Signatures and dates are left out, so a client
replaying the same calls finds every answer.
"""

from __future__ import annotations

import hashlib
import http.client
import http.server
import json
import multiprocessing
import pickle
import re
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_SCOPE = re.compile(r"Credential=([^/]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")
_HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "date", "server"}

Answer = tuple[int, list[tuple[str, str]], bytes]


def request_key(method: str, target: str, headers: Any, body: bytes) -> str:
    scope = _SCOPE.search(headers.get("Authorization", "") or "")
    akid, region, service = scope.groups() if scope else ("", "", "")
    path, _, query = target.partition("?")
    ctype = (headers.get("Content-Type") or "").split(";")[0].strip()
    if ctype == "application/x-www-form-urlencoded":
        payload = repr(sorted(urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True)))
    else:
        payload = body.decode("utf-8", "replace")
    parts = [
        method,
        path,
        repr(sorted(urllib.parse.parse_qsl(query, keep_blank_values=True))),
        akid,
        region,
        service,
        headers.get("X-Amz-Target", "") or "",
        payload,
    ]
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()


@dataclass(slots=True)
class Recording:
    answers: dict[str, Answer] = field(default_factory=dict)

    def save(self, path: Path) -> None:
        path.write_bytes(pickle.dumps(self.answers, protocol=pickle.HIGHEST_PROTOCOL))

    @classmethod
    def load(cls, path: Path) -> Recording:
        return cls(pickle.loads(path.read_bytes()))


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: botocore pools connections, as against AWS

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, answer: Answer) -> None:
        status, headers, body = answer
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in _HOP_HEADERS:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self.handle_any()

    def do_POST(self) -> None:
        self.handle_any()

    def handle_any(self) -> None:
        raise NotImplementedError


class _RecordingHandler(_Handler):
    upstream: tuple[str, int]
    recording: Recording
    lock: threading.Lock

    def handle_any(self) -> None:
        body = self._body()
        conn = http.client.HTTPConnection(*self.upstream, timeout=120)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
        conn.request(self.command, self.path, body=body, headers=headers)
        resp = conn.getresponse()
        answer: Answer = (resp.status, list(resp.getheaders()), resp.read())
        conn.close()
        with self.lock:
            self.recording.answers[request_key(self.command, self.path, self.headers, body)] = (
                answer
            )
        self._send(answer)


STATS_PATH = "/__replay/stats"


class _ReplayHandler(_Handler):
    answers: dict[str, Answer]
    latency: float
    counts: dict[str, int]
    lock: threading.Lock

    def handle_any(self) -> None:
        body = self._body()
        if self.path == STATS_PATH:  # how many requests were served, and how many were not recorded
            with self.lock:
                data = json.dumps(self.counts).encode()
            self._send((200, [("Content-Type", "application/json")], data))
            return
        answer = self.answers.get(request_key(self.command, self.path, self.headers, body))
        with self.lock:
            self.counts["served"] += 1
            self.counts["misses"] += answer is None
        time.sleep(self.latency)
        if answer is None:
            message = (
                b"<Response><Errors><Error><Code>NotRecorded</Code></Error></Errors></Response>"
            )
            answer = (500, [("Content-Type", "text/xml")], message)
        self._send(answer)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256


@contextmanager
def recorder(upstream: str) -> Iterator[tuple[str, Recording]]:
    """A recording proxy in front of ``upstream`` (``http://host:port``): yields its endpoint and the recording."""
    parsed = urllib.parse.urlsplit(upstream)
    recording = Recording()
    handler = type(
        "Recorder",
        (_RecordingHandler,),
        {
            "upstream": (parsed.hostname or "127.0.0.1", parsed.port or 80),
            "recording": recording,
            "lock": threading.Lock(),
        },
    )
    server = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", recording
    finally:
        server.shutdown()
        server.server_close()


def _serve(path: str, latency: float, ready: Any) -> None:
    handler = type(
        "Replay",
        (_ReplayHandler,),
        {
            "answers": Recording.load(Path(path)).answers,
            "latency": latency,
            "counts": {"served": 0, "misses": 0},
            "lock": threading.Lock(),
        },
    )
    server = _Server(("127.0.0.1", 0), handler)
    ready.send(server.server_address[1])
    server.serve_forever()


@contextmanager
def serve(recording: Path, latency: float) -> Iterator[tuple[str, int]]:
    """Replay ``recording`` from a child process (its CPU is not the caller's): yields (endpoint, pid)."""
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_serve, args=(str(recording), latency, child), daemon=True)
    proc.start()
    try:
        if not parent.poll(60):
            raise RuntimeError("the replay server did not start")
        port = int(parent.recv())
        yield f"http://127.0.0.1:{port}", int(proc.pid or 0)
    finally:
        proc.terminate()
        proc.join(10)


def stats(endpoint: str) -> dict[str, int]:
    """The replay server's counts: requests served, and those with no recorded answer."""
    import urllib.request

    with urllib.request.urlopen(endpoint + STATS_PATH, timeout=30) as resp:
        return dict(json.loads(resp.read()))
