"""A steady stream of distinct audit events into the node's syslog listener, and the count
of what reached the archive.

Each event is a demo audit event (RFC 5424, octet-counted TCP like the demo containers
send) with its number `n` in the audit SD element, so the archive can be counted by event:
lost, duplicated. An event counts as sent once the kernel took all of it; when rsyslogd is
down the sender waits for it and sends the same event again (bounded). Over RELP
(`sender="relp"`, tooling.relp) an event counts as sent once handed to the RELP client,
which resends it until rsyslog acknowledged it (numbered and written); the stream ends
when every event was acknowledged. Once the stream
and the fault are over, one marker (another service, so neither the count here nor
`verify` takes it for an event): node syslog numbers and forwards in order, so once the
marker is archived, whatever else was going to arrive has.

The record numbers (seq per node and seq_instance) are counted by tooling.completeness,
as `verify` counts them: a seq gap is a record lost after node syslog numbered it.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from demo.audit_events import Identity, format_event
from tooling.archive import audit_params, decode_body
from tooling.completeness import Ledger
from tooling.loopback import LOOPBACK
from tooling.relp import RelpClient, RelpError

SERVICE, MARKER = "fault-stream", "fault-marker"


def event(run_id: str, n: int, node: str, service: str = SERVICE) -> str:
    identity = Identity(run_id, service, f"{service}-pod", "audit-faults", service, node)
    return format_event(
        identity, "EXEC", f"fault stream event {n}", pid=4242, uid=10001, extra={"n": str(n)}
    )


def run_id_now(label: str) -> str:
    return f"faults-{label}-{datetime.now(UTC):%Y%m%dT%H%M%S%f}"


class EventStream:
    """Sends events 1..count at `rate` per second from a thread; `join()` waits for the
    end; `marker()` sends the marker."""

    def __init__(
        self,
        port: int,
        run_id: str,
        count: int,
        rate: float,
        node: str,
        sender: Literal["tcp", "relp"] = "tcp",
    ) -> None:
        self.port, self.run_id, self.count, self.rate, self.node = port, run_id, count, rate, node
        self.sender = sender
        self.sent = 0
        self.resends = 0  # reconnects
        self.relp_resent = 0  # RELP: messages sent again (not acknowledged before a reconnect)
        self.error: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="event-stream", daemon=True)

    def start(self) -> EventStream:
        self._thread.start()
        return self

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._stop.set()
            self._thread.join(10)
            self.error = self.error or f"stream did not finish within {timeout:.0f}s"

    def _run(self) -> None:
        if self.sender == "relp":
            self._run_relp()
            return
        sock: socket.socket | None = None
        try:
            for n, data in self._paced():
                sock = self._send(sock, str(len(data)).encode() + b" " + data)
                if sock is None:
                    return
                self.sent = n
        finally:
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.close()

    def _paced(self) -> Iterator[tuple[int, bytes]]:
        """(n, event n) for n in 1..count, each when it is due at `rate`."""
        started = time.monotonic()
        for n in range(1, self.count + 1):
            if (wait := started + (n - 1) / self.rate - time.monotonic()) > 0:
                time.sleep(wait)
            yield n, event(self.run_id, n, self.node).encode()

    def _relp_client(self) -> RelpClient:
        return RelpClient(LOOPBACK, self.port, stall_s=120, stopped=self._stop.is_set)

    def _run_relp(self) -> None:
        client = self._relp_client()
        try:
            for n, data in self._paced():
                client.send(data)
                self.sent = n
            client.close()  # every event acknowledged
        except RelpError as error:
            self.error = str(error)
        finally:
            client.abort()
            self.resends = client.reconnects
            self.relp_resent = client.resent

    def marker(self) -> None:
        data = event(self.run_id, 0, self.node, MARKER).encode()
        if self.sender == "relp":
            client = self._relp_client()
            try:
                client.send(data)
                client.close()
            except RelpError as error:
                self.error = self.error or f"marker: {error}"
            finally:
                client.abort()
            return
        sock = self._send(None, str(len(data)).encode() + b" " + data)
        if sock is not None:
            sock.close()

    def _send(self, sock: socket.socket | None, frame: bytes) -> socket.socket | None:
        """Send one frame, reconnecting while the listener is down (at most 120 s)."""
        deadline = time.monotonic() + 120
        while not self._stop.is_set():
            try:
                if sock is None:
                    sock = socket.create_connection((LOOPBACK, self.port), timeout=5)
                sock.sendall(frame)
                return sock
            except OSError:
                if sock is not None:
                    with contextlib.suppress(OSError):
                        sock.close()
                    sock = None
                    self.resends += 1
                if time.monotonic() > deadline:
                    self.error = "rsyslogd did not accept events for 120 s"
                    return None
                time.sleep(0.1)
        return None


@dataclass
class ArchiveCount:
    """What the archive holds of one run: copies of each event number, and the record
    numbers of those events (the marker is left out of both)."""

    run_id: str
    copies: Counter[int] = field(default_factory=Counter)
    ledger: Ledger = field(default_factory=Ledger)
    marker_seen: bool = False
    seen_keys: set[str] = field(default_factory=set)
    records: int = 0
    record_bytes: int = 0  # as JSON lines, as the S3 output buffers them uncompressed
    last_growth: float = field(default_factory=time.monotonic)

    def add(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Count the records of this run (others' are left out)."""
        for record in records:
            self.records += 1
            self.record_bytes += len(json.dumps(record, separators=(",", ":"))) + 1
            params = audit_params(record)
            if not params or params.get("run_id") != self.run_id or "n" not in params:
                continue
            if params.get("service") == MARKER:
                self.marker_seen = True
                continue
            self.copies[int(params["n"])] += 1
            self.ledger.add(record, None)

    def refresh(self, client: Any, bucket: str) -> None:
        """Read the objects not read before (objects are written once, never appended)."""
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for item in page.get("Contents", []):
                if item["Key"] not in self.seen_keys:
                    body = client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
                    self.seen_keys.add(item["Key"])
                    self.last_growth = time.monotonic()
                    self.add(decode_body(body))

    @property
    def distinct(self) -> int:
        return len(self.copies)

    def lost(self, sent: int) -> int:
        return sum(1 for n in range(1, sent + 1) if n not in self.copies)

    def duplicates(self) -> int:
        return sum(self.copies.values()) - self.distinct

    def seq_gaps(self) -> int:
        """Numbers missing between two this run delivered, per node and instance. Not the
        numbers before an instance's first record here (another run's on a shared rig),
        nor after its last: nothing numbered after them arrived."""
        verdict = self.ledger.verdict(datetime.now(UTC), 0, whole_instances=False)
        return sum(gap.size for _, gap in verdict.lost)

    def seq_duplicates(self) -> int:
        return sum(s.duplicates for s in self.ledger.verdict(datetime.now(UTC), 0, False).streams)

    @property
    def instances(self) -> int:
        return len(self.ledger.streams)
