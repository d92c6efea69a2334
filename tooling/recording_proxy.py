"""A recording HTTP proxy on loopback: forwards every request to an upstream server (moto)
and keeps its method, path, query and headers, so tests can see exactly what a real client
(the Fluent Bit S3 output) sends, and judge it with IAM's rules (tooling.s3_authorization).

Standard library only; loopback only; bounded: at most `max_records` requests are kept
(further requests are still forwarded and counted in `overflow`), and every upstream call
has a timeout.
"""

from __future__ import annotations

import contextlib
import http.client
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import MappingProxyType
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tooling.loopback import LOOPBACK

# Hop-by-hop headers (RFC 9110 section 7.6.1) are not forwarded.
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade"}
)


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str  # URL-decoded, without the query
    query: MappingProxyType[str, tuple[str, ...]]  # "uploads" -> ("",) for a bare flag
    headers: MappingProxyType[str, str]  # lower-cased names
    status: int  # what the upstream answered

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class RecordingProxy:
    """`with RecordingProxy("http://127.0.0.1:PORT") as proxy:` point a client at proxy.url."""

    def __init__(self, upstream: str, max_records: int = 10_000, timeout: float = 30.0) -> None:
        parts = urlsplit(upstream)
        if parts.scheme != "http" or parts.hostname != LOOPBACK or parts.port is None:
            raise ValueError(f"upstream {upstream!r} must be http://{LOOPBACK}:<port>")
        self.upstream_port = parts.port
        self.max_records = max_records
        self.timeout = timeout
        self.overflow = 0
        self._records: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((LOOPBACK, 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self._server.server_address[1]}"

    def records(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._records)

    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            if len(self._records) < self.max_records:
                self._records.append(request)
            else:
                self.overflow += 1

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> RecordingProxy:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def _handler_for(proxy: RecordingProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the agent's client expects

        def _forward(self) -> None:
            body = self._read_body()
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                headers.pop("Transfer-Encoding", None)
                headers["Content-Length"] = str(len(body))
            status, reason, reply_headers, reply = _call_upstream(
                proxy, self.command, self.path, headers, body
            )
            split = urlsplit(self.path)
            proxy.record(
                RecordedRequest(
                    method=self.command,
                    path=unquote(split.path),
                    query=MappingProxyType(
                        {k: tuple(v) for k, v in parse_qs(split.query, True).items()}
                    ),
                    headers=MappingProxyType({k.lower(): v for k, v in self.headers.items()}),
                    status=status,
                )
            )
            self.send_response(status, reason)
            for name, value in reply_headers:
                if name.lower() not in _HOP_BY_HOP | {"content-length", "transfer-encoding"}:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(reply)

        def _read_body(self) -> bytes:
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                chunks: list[bytes] = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        self.rfile.readline()
                        return b"".join(chunks)
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward  # noqa: N815

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the records are the log

    return Handler


def _call_upstream(
    proxy: RecordingProxy, method: str, path: str, headers: dict[str, str], body: bytes
) -> tuple[int, str, list[tuple[str, str]], bytes]:
    connection = http.client.HTTPConnection(LOOPBACK, proxy.upstream_port, timeout=proxy.timeout)
    try:
        connection.request(method, path, body=body or None, headers=headers)
        response = connection.getresponse()
        return response.status, response.reason, response.getheaders(), response.read()
    except OSError as error:
        message = f"recording proxy: upstream failed: {error}".encode()
        return 502, "Bad Gateway", [("Content-Type", "text/plain")], message
    finally:
        with contextlib.suppress(OSError):
            connection.close()
