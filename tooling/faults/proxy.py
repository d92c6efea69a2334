"""A TCP proxy on loopback that can make its upstream unreachable: the S3 outage of the
fault suite, put between the agent and moto (moto keeps its data only while it runs, so
the outage cannot be made by stopping it).

Modes: "forward" (pass bytes both ways), "refuse" (nothing listens: connect() fails with
ECONNREFUSED), "reset" (connections are accepted and reset at once). Entering either
outage also resets every open connection, so a kept-alive connection cannot slip through.
Threads only; `close()` stops them all, and every wait is bounded.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from typing import Literal

from tooling.loopback import LOOPBACK

Mode = Literal["forward", "refuse", "reset"]
_CHUNK = 65536
_POLL_S = 0.2


def _reset(sock: socket.socket) -> None:
    """Close with an RST (SO_LINGER 0), not a FIN: the peer sees 'connection reset'."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.close()


class FaultProxy:
    """127.0.0.1:<port> -> 127.0.0.1:<upstream_port>, in the mode last set."""

    def __init__(self, upstream_port: int, port: int = 0) -> None:
        self.upstream_port = upstream_port
        self._mode: Mode = "forward"
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._closed = threading.Event()
        self._listener: socket.socket | None = self._listen(port)
        self.port: int = self._listener.getsockname()[1]
        self.connections = 0  # accepted and forwarded, for tests and reports
        self._thread = threading.Thread(target=self._accept_loop, name="fault-proxy", daemon=True)
        self._thread.start()

    @staticmethod
    def _listen(port: int) -> socket.socket:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((LOOPBACK, port))
        listener.listen(64)
        listener.settimeout(_POLL_S)
        return listener

    @property
    def mode(self) -> Mode:
        return self._mode

    def set_mode(self, mode: Mode) -> None:
        with self._lock:
            self._mode = mode
            if mode != "forward":
                for client, upstream in self._pairs:
                    _reset(client)
                    _reset(upstream)
                self._pairs.clear()
            if mode == "refuse" and self._listener is not None:
                # shutdown() stops the listening at once (Linux), even while the accept
                # thread still holds the socket in accept(); close() alone would wait for it.
                with contextlib.suppress(OSError):
                    self._listener.shutdown(socket.SHUT_RDWR)
                self._listener.close()
                self._listener = None
            elif mode != "refuse" and self._listener is None:
                self._listener = self._listen(self.port)

    def close(self) -> None:
        self._closed.set()
        self._thread.join(timeout=5)
        with self._lock:
            if self._listener is not None:
                self._listener.close()
                self._listener = None
            for client, upstream in self._pairs:
                _reset(client)
                _reset(upstream)
            self._pairs.clear()

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # --- threads -----------------------------------------------------------------------

    def _accept_loop(self) -> None:
        while not self._closed.is_set():
            with self._lock:
                listener = self._listener
            if listener is None:
                self._closed.wait(_POLL_S)
                continue
            try:
                client, _ = listener.accept()
            except (TimeoutError, OSError):
                continue  # timeout, or the listener closed under us by set_mode("refuse")
            self._serve(client)

    def _serve(self, client: socket.socket) -> None:
        with self._lock:
            mode = self._mode
        if mode != "forward":
            _reset(client)
            return
        try:
            upstream = socket.create_connection((LOOPBACK, self.upstream_port), timeout=5)
        except OSError:
            _reset(client)
            return
        for sock in (client, upstream):
            sock.settimeout(None)
        with self._lock:
            self._pairs.append((client, upstream))
            self.connections += 1
        for source, sink in ((client, upstream), (upstream, client)):
            threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(_CHUNK):
                sink.sendall(data)
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_WR)
        except OSError:
            _reset(sink)
            _reset(source)
