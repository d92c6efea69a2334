"""The whole chain with the real daemons: rsyslogd (the local stack's node config) -> Fluent
Bit (the local stack's agent config) -> moto S3, paths and ports moved to a temp dir and
127.0.0.1 only. What a container sends to node syslog is what the archive holds."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from components.agent.routes import S3Route
from tests.agent_harness import AgentRunner, wait_flushed
from tests.rsyslog_harness import NodeLayout, RsyslogDaemon, send_tcp, send_udp
from tooling.e2e import LocalStack, load_local_stack, remap_node_syslog
from tooling.localrun import RunningAgent
from tooling.loopback import free_port


@dataclass
class Chain:
    stack: LocalStack
    agent: RunningAgent
    rsyslog: RsyslogDaemon
    node_port: int
    bucket: str
    runner: AgentRunner

    def archive(self, expected: int, timeout: float = 60) -> dict[str, list[dict[str, Any]]]:
        """Wait until the agent took in `expected` records; stop both daemons (rsyslog
        drains into the agent, the agent uploads on a clean stop); the objects by key."""
        wait_flushed(self.agent, expected, timeout)
        self.rsyslog.stop()
        assert self.agent.stop() == 0, self.agent.log_text()[-2000:]
        return self.runner.objects(self.bucket)


@pytest.fixture
def chain(run_agent: AgentRunner, tmp_path: Path) -> Iterator[Chain]:
    stack = load_local_stack()
    bucket = run_agent.new_bucket()
    agent = run_agent.start(stack.agent_config, bucket=bucket, name="agent")
    layout = NodeLayout(tmp_path / "node")
    settings = remap_node_syslog(stack.node_syslog, layout.root, free_port(), agent.handoff)
    for directory in (settings.work_directory, settings.spool_directory):
        Path(directory).mkdir(parents=True, exist_ok=True)
    layout.write(settings)
    rsyslog = RsyslogDaemon(layout)
    rsyslog.start()
    try:
        rsyslog.wait_listening(settings.listen_port)
        yield Chain(stack, agent, rsyslog, settings.listen_port, bucket, run_agent)
    finally:
        rsyslog.stop()


def _records(objects: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return [record for records in objects.values() for record in records]


def test_every_event_arrives_once_under_the_documented_keys(chain: Chain) -> None:
    count = 3000
    marker = secrets.token_hex(4)
    lines = [
        f"<134>1 2026-01-02T03:04:{i % 60:02d}.{i:06d}Z pod-{i % 7} audit-demo {i} EXEC "
        f'[audit@32473 seq="{i}"] {marker} event {i}'
        for i in range(count)
    ]
    started = datetime.now(UTC).replace(microsecond=0)
    send_tcp(chain.node_port, lines)
    objects = chain.archive(count)
    stopped = datetime.now(UTC)
    seen = [r["message"] for r in _records(objects) if marker in str(r.get("message"))]
    assert len(seen) == count, f"{count - len(set(seen))} missing, {len(seen) - len(set(seen))} dup"
    assert sorted(seen) == sorted(f"{marker} event {i}" for i in range(count))
    # Keys: <logPrefix><tag>/YYYY/MM/DD/HH/MMSS-<uuid>.jsonl.gz (README "S3 objects land
    # at"). The time is the object's first record's (UTC), except for what the agent
    # uploads as it stops, as here: that is keyed by the upload time.
    route = S3Route.model_validate(
        {"type": "s3", "name": "x", "bucket": chain.bucket, "keyPrefix": "audit/local"}
    )
    for key, records in objects.items():
        parts = route.layout.parse_key(key)
        assert parts is not None, key
        assert parts["tag"] == "audit.syslog"
        keyed = datetime.strptime(
            "{year}-{month}-{day}T{hour}:{minute}:{second}Z".format(**parts), "%Y-%m-%dT%H:%M:%S%z"
        )
        first = min(datetime.fromisoformat(r["date"].replace("Z", "+00:00")) for r in records)
        assert keyed == first.replace(microsecond=0) or started <= keyed <= stopped, key


def test_messages_arrive_as_one_record_each_whatever_their_form(chain: Chain) -> None:
    """Via rsyslog: RFC 3164 becomes RFC 5424 with the event's time; a message holding a
    line break (one UDP datagram) stays one record, the break escaped as #012; a message
    longer than nodeSyslog.maxMessageSize is cut to it, and its rest makes no record."""
    limit = chain.stack.node_syslog.max_message_size
    long_text = "L" * (limit + 40_000)
    send_tcp(chain.node_port, ["<38>Feb  5 17:32:18 pod-a sshd[77]: rfc3164 via rsyslog"])
    send_udp(chain.node_port, ["<134>1 2026-01-02T03:04:05Z pod-a app 1 M - first\nsecond"])
    send_tcp(chain.node_port, [f"<134>1 2026-01-02T03:04:06Z pod-a app 1 M - {long_text}"])
    records = _records(chain.archive(3))
    assert len(records) == 3, [str(r.get("message"))[:60] for r in records]
    by_start = {str(r["message"])[:6]: r for r in records}
    legacy = by_start["rfc316"]
    assert (legacy["host"], legacy["ident"], legacy["pid"], legacy["pri"]) == (
        "pod-a",
        "sshd",
        "77",
        "38",
    )
    assert re.fullmatch(r"\d{4}-02-05T17:32:18\.000000Z", legacy["date"]), legacy
    assert "time_unreadable" not in legacy
    assert by_start["first#"]["message"] == "first#012second"
    cut = by_start["LLLLLL"]["message"]
    assert set(cut) == {"L"} and len(cut) < limit
    assert len(cut) > limit - 200  # the header and nothing else is what the limit costs
