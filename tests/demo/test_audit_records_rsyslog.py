"""Demo records decoded by an independent parser: the real rsyslogd, its RFC 5424 parser
and mmpstrucdata, printing the structured data as JSON. Not the project's own decoder.

rsyslog accepts an unescaped ']' inside a quoted value, so each line is also checked
against RFC 5424's SD-ELEMENT grammar, in which '"', '\\' and ']' MUST be escaped.
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from components.node_syslog.rsyslog import NodeSyslogSettings
from demo.audit_events import (
    EVENT_MAX_BYTES,
    SD_ID,
    Identity,
    escape_control,
    format_event,
)
from tests.rsyslog_harness import NodeLayout, RsyslogDaemon
from tooling.loopback import LOOPBACK, free_port, wait_until

# RFC 5424 section 6: SD-ELEMENT = "[" SD-ID *(SP SD-PARAM) "]", SD-PARAM = PARAM-NAME "="
# %d34 PARAM-VALUE %d34; SD-NAME = 1*32PRINTUSASCII except '=', SP, ']', %d34; inside
# PARAM-VALUE '"', '\' and ']' MUST be escaped (a '\' before another character is literal).
_SD_NAME = r"[\x21\x23-\x3c\x3e-\x5c\x5e-\x7e]{1,32}"
_PARAM_VALUE = r'(?:[^"\\\]]|\\.)*'
_SD_ELEMENT = re.compile(rf'\[{_SD_NAME}(?: {_SD_NAME}="{_PARAM_VALUE}")*\]')
_HEADER = re.compile(r"^<\d{1,3}>1 \S+ \S{1,255} \S{1,48} \S{1,128} \S{1,32} ")

RUN_ID = "run-42"
IDENTITY = Identity(RUN_ID, "service-1", "service-1-abc12", "audit-demo", "service-1", "node-a")


def _config(port: int, out: Path, work: Path) -> str:
    max_size = NodeSyslogSettings().max_message_size
    return "\n".join(
        [
            f'global(workDirectory="{work}" maxMessageSize="{max_size}")',
            'module(load="imtcp")',
            'module(load="mmpstrucdata")',
            'template(name="sd" type="string" string="%$!%\\n")',
            'ruleset(name="decode") {',
            '  action(type="mmpstrucdata" sd_name.lowercase="off")',
            f'  action(type="omfile" file="{out}" template="sd")',
            "}",
            f'input(type="imtcp" address="{LOOPBACK}" port="{port}" ruleset="decode")',
            "",
        ]
    )


@pytest.fixture(scope="module")
def decode(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DecodeFn]:
    root = tmp_path_factory.mktemp("rsyslog-decoder")
    layout = NodeLayout(root)
    layout.work.mkdir(parents=True)
    out = root / "decoded.jsonl"
    port = free_port()
    layout.main_conf.write_text(_config(port, out, layout.work))
    with RsyslogDaemon(layout) as daemon:
        daemon.wait_listening(port)
        yield DecodeFn(port, out, daemon)


class DecodeFn:
    """Send lines to rsyslogd (octet-counted, as the demo does); return their SD params."""

    def __init__(self, port: int, out: Path, daemon: RsyslogDaemon) -> None:
        self.port, self.out, self.daemon = port, out, daemon

    def __call__(self, *lines: str) -> list[Mapping[str, str]]:
        before = self._records()
        with socket.create_connection((LOOPBACK, self.port), timeout=5) as sock:
            for line in lines:
                data = line.encode("utf-8")
                sock.sendall(str(len(data)).encode() + b" " + data)
        wait_until(
            lambda: len(self._records()) >= len(before) + len(lines),
            10.0,
            "rsyslogd to write the decoded records",
            diagnose=self.daemon.output,
        )
        return [record["rfc5424-sd"][SD_ID] for record in self._records()[len(before) :]]

    def _records(self) -> list[dict[str, dict[str, dict[str, str]]]]:
        if not self.out.exists():
            return []
        text = self.out.read_text(encoding="utf-8")
        return [json.loads(line) for line in text.splitlines() if line.endswith("}")]


def _well_formed(line: str) -> None:
    header = _HEADER.match(line)
    assert header, line[:200]
    assert _SD_ELEMENT.match(line, header.end()), f"not an RFC 5424 SD-ELEMENT: {line[:300]}"
    assert len(line.encode("utf-8")) <= EVENT_MAX_BYTES


TRICKY = [
    'echo "a]b" \\ $HOME',
    "ends with a backslash \\",
    '] [ ] \\] \\\\] "]"',
    "tab\tnew\nline\rbell\x07 nul\x00",
    "ünïcødé ✓ 日本語",
]


@pytest.mark.parametrize("command", TRICKY)
def test_values_round_trip_through_rsyslog(decode: DecodeFn, command: str) -> None:
    line = format_event(IDENTITY, "EXEC", "m", pid=7, uid=10001, extra={"command": command})
    _well_formed(line)
    [params] = decode(line)
    assert params["run_id"] == RUN_ID
    assert params["command"] == escape_control(command)
    assert params["uid"] == "10001" and params["pod"] == "service-1-abc12"


def test_a_70000_character_command_stays_one_well_formed_record(decode: DecodeFn) -> None:
    command = ("x]\\" * 23_334)[:70_000]
    line = format_event(
        IDENTITY, "EXEC", f"exec: {command}", pid=7, uid=0, extra={"command": command}
    )
    _well_formed(line)
    [params] = decode(line)
    assert params["run_id"] == RUN_ID  # the record can still be tied to its run
    assert params["command"].startswith(escape_control(command)[:1000])
    assert re.search(r"\.\.\.\(\+\d+ bytes\)$", params["command"])
    assert len(params["command"]) < 5000


def test_every_field_oversized_still_fits_rsyslogs_limit(decode: DecodeFn) -> None:
    assert NodeSyslogSettings().max_message_size > EVENT_MAX_BYTES
    big = "é]\\\x01" * 5000  # multibyte, escaped and control characters at every cut point
    identity = Identity(RUN_ID, big, big, big, big, big)
    extra = {"command": big, "exit": big, "duration_ms": big, "shell": big, "event": big}
    line = format_event(identity, big, big * 10, pid=1, uid=1, extra=extra)
    _well_formed(line)
    [params] = decode(line)
    assert params["run_id"] == RUN_ID
    assert set(params) >= {"service", "pod", "namespace", "container", "node", "command"}


@pytest.mark.parametrize("length", range(240, 262))
def test_truncation_at_every_cut_point_decodes_to_a_prefix(decode: DecodeFn, length: int) -> None:
    # Escaping doubles backslashes and quotes: over these lengths the cut lands inside every
    # kind of escape at least once.
    value = ('\\"]a' * length)[:length]
    line = format_event(IDENTITY, "EXEC", "m", pid=1, uid=1, extra={"shell": value * 3})
    _well_formed(line)
    [params] = decode(line)
    assert params["run_id"] == RUN_ID
    kept, marker, _ = params["shell"].rpartition("...(+")
    assert marker and (value * 3).startswith(kept)
