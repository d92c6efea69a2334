"""Loopback helpers shared by the local end-to-end run, the tests and the benchmarks:
free ports on 127.0.0.1 and bounded waits. Nothing here talks to any other address."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

LOOPBACK = "127.0.0.1"
_ISSUED_PORTS: set[int] = set()


def free_port() -> int:
    """A port free for both TCP and UDP on loopback (imtcp and imudp share one), and not
    handed out before in this process (a released port may come back from bind(0))."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind((LOOPBACK, 0))
            port: int = tcp.getsockname()[1]
            if port in _ISSUED_PORTS:
                continue
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind((LOOPBACK, port))
                except OSError:
                    continue
                _ISSUED_PORTS.add(port)
                return port
    raise RuntimeError("no port free for both TCP and UDP on 127.0.0.1")


def wait_until(
    predicate: Callable[[], bool],
    timeout: float,
    what: str,
    interval: float = 0.05,
    diagnose: Callable[[], str] | None = None,
) -> None:
    """Poll `predicate` until it holds; TimeoutError (with `diagnose()` text) after `timeout`."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            detail = f"\n{diagnose()}" if diagnose is not None else ""
            raise TimeoutError(f"timed out after {timeout:.1f}s waiting for {what}{detail}")
        time.sleep(interval)
