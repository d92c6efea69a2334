"""tooling.e2e: the remapped configs, the missing-binary message, and the whole run with
the real agent between the real rsyslogd and a real moto server."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from components.agent.routes import OpenSearchRoute, RouteDefaults
from components.node_syslog.rsyslog import render_main_conf, render_rsyslog_conf
from tests.rsyslog_harness import validate_config
from tooling import e2e
from tooling.e2e import Ports, load_local_stack, remap_node_syslog
from tooling.fluent_bit_schema import check_config, load_schema
from tooling.localrun import remap_agent_config

PORTS = Ports(syslog=20514, http=22020, s3=29000)
ENDPOINT = "http://127.0.0.1:29000"


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []


def test_agent_config_is_remapped_to_the_temp_dir_and_loopback(tmp_path: Path) -> None:
    # The config e2e runs: the node's, monitoring additions included.
    stack = load_local_stack()
    config, dropped = remap_agent_config(
        stack.monitored_agent_config, tmp_path, PORTS.http, ENDPOINT, "b-e2e", tmp_path / "h"
    )
    assert dropped == []
    assert not [s for s in _strings(config) if s.startswith("/var/")]  # no node path is left
    service = config["service"]
    assert service["storage.path"].startswith(str(tmp_path))
    assert service["http_port"] == "22020" and service["http_listen"] == "${HOST_IP}"
    handoff, stats = config["pipeline"]["inputs"]  # node syslog's files; its counters (#17)
    assert handoff["path"] == f"{tmp_path / 'h'}/audit-*.log"
    assert handoff["db"] == f"{service['storage.path']}/handoff.db"
    assert stats["listen"] == "127.0.0.1" and stats["port"] != "5141"
    [s3] = [o for o in config["pipeline"]["outputs"] if o["name"] == "s3"]
    assert (s3["endpoint"], s3["bucket"]) == (ENDPOINT, "b-e2e")
    assert s3["store_dir"].startswith(str(tmp_path))
    # The rendered key format and record layout are kept: they are what verify reads.
    original = next(
        o for o in stack.monitored_agent_config["pipeline"]["outputs"] if o["name"] == "s3"
    )
    for key in ("s3_key_format", "format", "json_date_key", "compression", "upload_timeout"):
        assert s3[key] == original[key]
    assert check_config(config, load_schema()) == []


def test_outputs_without_a_local_server_are_left_out(tmp_path: Path) -> None:
    stack = load_local_stack()
    defaults = RouteDefaults(s3_store_base="/var/fluent-bit/s3", total_limit_size="2G")
    search = OpenSearchRoute(name="search", host="search.example.com").output(defaults)
    config = {
        **stack.agent_config,
        "pipeline": {
            **stack.agent_config["pipeline"],
            "outputs": [*stack.agent_config["pipeline"]["outputs"], search],
        },
    }
    remapped, dropped = remap_agent_config(
        config, tmp_path, PORTS.http, ENDPOINT, "b-e2e", tmp_path / "h"
    )
    assert dropped == ["search"]
    assert [o["name"] for o in remapped["pipeline"]["outputs"]] == ["s3"]


def test_node_syslog_is_remapped_and_rsyslogd_accepts_it(tmp_path: Path) -> None:
    stack = load_local_stack()
    settings = remap_node_syslog(stack.node_syslog, tmp_path, PORTS.syslog, tmp_path / "h")
    assert settings.listen_address == "127.0.0.1" and settings.listen_port == PORTS.syslog
    assert settings.journal == "none" and settings.tcp
    paths = (settings.work_directory, settings.spool_directory, settings.handoff_directory)
    for path in (*paths, settings.local_copy.path):
        assert path.startswith(str(tmp_path))
    dropin = tmp_path / "60-container-audit-log.conf"
    dropin.write_text(render_rsyslog_conf(settings))
    main = tmp_path / "rsyslog.conf"
    main.write_text(render_main_conf(settings, dropin_path=str(dropin)))
    for directory in (settings.work_directory, settings.spool_directory):
        Path(directory).mkdir(parents=True)
    checked = validate_config(main)
    assert checked.returncode == 0, checked.stderr
    assert f"{tmp_path / 'h'}/audit-" in dropin.read_text()


def test_without_fluent_bit_it_says_so_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FLUENT_BIT", str(tmp_path / "no-such-fluent-bit"))
    assert e2e.main([]) == e2e.EXIT_FAILED
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("e2e: no fluent-bit binary (FLUENT_BIT=")
    assert "build.sh" in err[0] and "on PATH" in err[0]


def test_the_whole_run_with_the_real_agent(
    fluent_bit: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """demo -> rsyslogd -> fluent-bit (the local stack's config) -> moto server -> verify,
    started and stopped by e2e itself; then verify --heartbeat over the same archive."""
    started = time.monotonic()
    code = e2e.main(["--fluent-bit", fluent_bit, "--interval", "1", "--timeout", "150"])
    captured = capsys.readouterr()
    assert code == e2e.EXIT_OK, captured.err
    assert time.monotonic() - started < 240
    assert "verify: OK" in captured.out
    rows = {
        line.split()[0]: line.split()[1]
        for line in captured.out.splitlines()
        if line.startswith("service-")
    }
    # service-1: START, 4 x (EXEC + EXIT), STOP, and the shell session (start + 2 lines).
    assert rows == {"service-1": "13", "service-2": "8"}
    # rsyslog's immark heartbeat went the whole way: the node's newest is in the archive.
    beats = [line.split() for line in captured.out.splitlines() if line.startswith("e2e-node ")]
    assert len(beats) == 1 and beats[0][-1] == "ok", captured.out
    assert int(beats[0][1]) >= 1 and int(beats[0][3]) <= 60 + 2 * e2e.HEARTBEAT_INTERVAL_S + 60
    seq_instance, seq = beats[0][4].split("/")
    assert seq_instance != "-" and int(seq) > 0  # numbered by rsyslog like every record
    assert "heartbeat: OK, 1 node(s)" in captured.out
    # Everything e2e started is stopped again.
    started_pids = [
        line.split("pid ")[1].rstrip(")") for line in captured.out.splitlines() if "started" in line
    ]
    stopped_pids = [
        line.split("pid ")[1].rstrip(")") for line in captured.out.splitlines() if "stopped" in line
    ]
    assert sorted(started_pids) == sorted(stopped_pids) and len(started_pids) == 3
