"""The syslog-gate program against a small Kubernetes API stand-in on 127.0.0.1: it lifts
exactly its taint once the syslog port answers, keeps it (and says why, once, as a Node
Event) while the port is silent, and never overwrites taints that changed under it."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from components.node_syslog.gate import TAINT_KEY
from components.node_syslog.gate_script import (
    EVENT_REASON,
    Api,
    run,
    taint_removal,
)

NODE = "ip-10-0-1-23.eu-west-1.compute.internal"
OURS = {"key": TAINT_KEY, "value": "true", "effect": "NoSchedule"}
OTHER = {"key": "dedicated", "value": "audit", "effect": "NoSchedule"}


class FakeApi:
    """GET/PATCH one Node (JSON patch with `test`, as the API server applies it) and
    POST Events; remembers every request."""

    def __init__(self, taints: list[dict[str, Any]]) -> None:
        self.taints = taints
        self.events: list[dict[str, Any]] = []
        self.requests: list[tuple[str, str, str]] = []
        self.tokens: set[str] = set()

    def node(self) -> dict[str, Any]:
        return {"metadata": {"name": NODE, "uid": "uid-1"}, "spec": {"taints": self.taints}}

    def patch(self, operations: list[dict[str, Any]]) -> int:
        taints = self.taints
        for operation in operations:
            if operation["path"] != "/spec/taints":
                return 422
            if operation["op"] == "test" and operation["value"] != taints:
                return 422
            if operation["op"] == "replace":
                taints = operation["value"]
        self.taints = taints
        return 200


@contextmanager
def api_server(fake: FakeApi) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def _reply(self, code: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> Any:
            return json.loads(self.rfile.read(int(self.headers["Content-Length"])))

        def do_GET(self) -> None:
            fake.requests.append(("GET", self.path, ""))
            fake.tokens.add(self.headers["Authorization"])
            self._reply(200, fake.node())

        def do_PATCH(self) -> None:
            kind = self.headers["Content-Type"]
            fake.requests.append(("PATCH", self.path, kind))
            code = fake.patch(self._body()) if kind == "application/json-patch+json" else 415
            self._reply(code, fake.node())

        def do_POST(self) -> None:
            fake.requests.append(("POST", self.path, ""))
            fake.events.append(self._body())
            self._reply(201, {})

        def log_message(self, *_: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def syslog_port(listening: bool) -> Iterator[int]:
    """A port that answers (a listener) or refuses (bound, never listening)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        if listening:
            sock.listen(8)
        yield sock.getsockname()[1]


def _env(port: int, grace: str = "600") -> dict[str, str]:
    return {
        "NODE_NAME": NODE,
        "HOST_IP": "127.0.0.1",
        "PORT": str(port),
        "TAINT_KEY": TAINT_KEY,
        "GRACE_SECONDS": grace,
        "PROBE_SECONDS": "0",
    }


def _api(base: str, tmp_path: Path) -> Api:
    token = tmp_path / "token"
    token.write_text("gate-token\n")
    return Api.in_cluster({"KUBERNETES_API": base, "TOKEN_FILE": str(token)})


def test_lifts_only_its_taint_once_syslog_answers(tmp_path: Path) -> None:
    fake = FakeApi([OTHER, OURS])
    with api_server(fake) as base, syslog_port(listening=True) as port:
        assert run(_env(port), _api(base, tmp_path), max_rounds=3) == "ready"
    assert fake.taints == [OTHER]
    assert ("PATCH", f"/api/v1/nodes/{NODE}", "application/json-patch+json") in fake.requests
    assert fake.tokens == {"Bearer gate-token"}
    assert fake.events == []


def test_keeps_the_taint_and_says_why_once_while_syslog_is_silent(tmp_path: Path) -> None:
    fake = FakeApi([OURS])
    clock = iter(float(t) for t in range(0, 10_000, 300))
    with api_server(fake) as base, syslog_port(listening=False) as port:
        result = run(
            _env(port, grace="600"),
            _api(base, tmp_path),
            clock=lambda: next(clock),
            sleep=lambda _: None,
            max_rounds=6,
        )
    assert result == "waiting"
    assert fake.taints == [OURS]
    assert not [r for r in fake.requests if r[0] == "PATCH"]
    [event] = fake.events
    assert event["type"] == "Warning" and event["reason"] == EVENT_REASON
    assert event["involvedObject"] == {"kind": "Node", "name": NODE, "uid": "uid-1"}
    assert f"127.0.0.1:{port}" in event["message"]
    assert "journalctl -t container-audit-log" in event["message"]


def test_a_node_without_the_taint_is_left_alone(tmp_path: Path) -> None:
    fake = FakeApi([OTHER])
    with api_server(fake) as base, syslog_port(listening=True) as port:
        assert run(_env(port), _api(base, tmp_path), max_rounds=1) == "ready"
    assert fake.taints == [OTHER]
    assert not [r for r in fake.requests if r[0] == "PATCH"]


def test_a_concurrent_taint_change_is_not_overwritten() -> None:
    read = [OURS]
    patch = taint_removal(read, TAINT_KEY)
    assert patch is not None
    fake = FakeApi([OURS, OTHER])  # another controller added a taint after our read
    assert fake.patch(patch) == 422
    assert fake.taints == [OURS, OTHER]
    assert taint_removal([OTHER], TAINT_KEY) is None


def test_refuses_an_api_address_that_is_not_http() -> None:
    with pytest.raises(ValueError, match="not an http"):
        Api("file:///etc/passwd", "t", None)
