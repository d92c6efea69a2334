"""tooling.recording_proxy: forwards requests unchanged to a loopback upstream and keeps
their method, path, query and headers, bounded."""

from __future__ import annotations

import http.client
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tooling.loopback import LOOPBACK
from tooling.recording_proxy import RecordingProxy


class _Echo(BaseHTTPRequestHandler):
    """Answers with what it received: method, path and body."""

    protocol_version = "HTTP/1.1"

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        reply = f"{self.command} {self.path} ".encode() + body
        self.send_response(201 if self.command == "PUT" else 200)
        self.send_header("Content-Length", str(len(reply)))
        self.send_header("ETag", '"abc"')
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _answer  # noqa: N815

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def upstream() -> Iterator[str]:
    server = ThreadingHTTPServer((LOOPBACK, 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    thread.start()
    try:
        yield f"http://{LOOPBACK}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _call(url: str, method: str, path: str, body: bytes = b"", **headers: str) -> tuple[int, bytes]:
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request(method, path, body=body or None, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_requests_are_forwarded_and_recorded(upstream: str) -> None:
    with RecordingProxy(upstream) as proxy:
        status, reply = _call(
            proxy.url,
            "PUT",
            "/bucket/audit/a%20b.gz?partNumber=2&uploadId=U1",
            b"data",
            **{"Content-MD5": "md5==", "X-Amz-Date": "20261130T000000Z"},
        )
        assert (status, reply) == (201, b"PUT /bucket/audit/a%20b.gz?partNumber=2&uploadId=U1 data")
        assert _call(proxy.url, "POST", "/bucket/key?uploads")[0] == 200
        [put, post] = proxy.records()
    assert (put.method, put.path, put.status) == ("PUT", "/bucket/audit/a b.gz", 201)
    assert dict(put.query) == {"partNumber": ("2",), "uploadId": ("U1",)}
    assert put.header("content-md5") == "md5==" and put.header("X-Amz-Date") == "20261130T000000Z"
    assert dict(post.query) == {"uploads": ("",)}


def test_records_are_bounded_and_the_rest_counted(upstream: str) -> None:
    with RecordingProxy(upstream, max_records=2) as proxy:
        for index in range(5):
            assert _call(proxy.url, "GET", f"/b/k{index}")[0] == 200
    assert [r.path for r in proxy.records()] == ["/b/k0", "/b/k1"]
    assert proxy.overflow == 3


def test_an_upstream_that_is_gone_is_a_502_not_a_hang(upstream: str) -> None:
    proxy = RecordingProxy(f"http://{LOOPBACK}:1", timeout=2)
    with proxy:
        status, reply = _call(proxy.url, "GET", "/b/k")
    assert status == 502 and b"upstream failed" in reply


def test_only_a_loopback_upstream_is_accepted() -> None:
    with pytest.raises(ValueError, match=re.escape("must be http://127.0.0.1:<port>")):
        RecordingProxy("http://example.com:9000")
