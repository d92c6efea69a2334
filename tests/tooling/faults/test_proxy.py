"""The fault proxy: forwards, refuses, resets (also the connections already open)."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

import pytest

from tooling.faults.proxy import FaultProxy
from tooling.loopback import LOOPBACK


@pytest.fixture
def echo_port() -> Iterator[int]:
    server = socket.create_server((LOOPBACK, 0))
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            threading.Thread(target=echo, args=(conn,), daemon=True).start()

    def echo(conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):  # the proxy resets it in an outage
            while data := conn.recv(1024):
                conn.sendall(data)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(timeout=5)
    server.close()


def roundtrip(port: int, payload: bytes = b"ping") -> bytes:
    with socket.create_connection((LOOPBACK, port), timeout=5) as conn:
        conn.sendall(payload)
        return conn.recv(1024)


def test_forward_refuse_reset_and_back(echo_port: int) -> None:
    with FaultProxy(echo_port) as proxy:
        assert roundtrip(proxy.port) == b"ping"
        kept = socket.create_connection((LOOPBACK, proxy.port), timeout=5)
        kept.sendall(b"a")
        assert kept.recv(16) == b"a"

        proxy.set_mode("refuse")
        with pytest.raises(ConnectionRefusedError):
            roundtrip(proxy.port)
        # The kept-alive connection did not slip through the outage: it was reset.
        with pytest.raises((ConnectionResetError, BrokenPipeError)):
            kept.sendall(b"b")
            if not kept.recv(16):
                raise ConnectionResetError("closed")
        kept.close()

        proxy.set_mode("reset")
        with pytest.raises((ConnectionResetError, BrokenPipeError)):
            if not roundtrip(proxy.port):
                raise ConnectionResetError("closed")

        proxy.set_mode("forward")
        assert roundtrip(proxy.port, b"pong") == b"pong"
        assert proxy.connections == 3
