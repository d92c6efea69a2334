"""The rsyslog renderer: settings validation, what the DaemonSet needs, and the rendered
text checked by the real `rsyslogd -N1`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from components.node_syslog.numbering import FORWARD_TEMPLATE
from components.node_syslog.rsyslog import (
    RELP_HANDOFF_ACTION,
    RELP_RULESET,
    RULESET,
    TEMPLATE_RFC5424,
    ContainerPort,
    NodeSyslogSettings,
    render_main_conf,
    render_rsyslog_conf,
    rs_object,
    rs_ruleset,
)
from tests.rsyslog_harness import (
    HandoffFiles,
    NodeLayout,
    RsyslogDaemon,
    rfc5424,
    send_tcp,
    validate_config,
)
from tooling.loopback import free_port, wait_until

_PARAM = re.compile(r'([A-Za-z][A-Za-z0-9._]*)="((?:[^"\\]|\\.)*)"')


def _objects(text: str, kind: str) -> list[dict[str, str]]:
    """The parameters of every `kind(...)` object in RainerScript text (lower-case keys)."""
    found = []
    for body in re.findall(rf"\b{kind}\(([^)]*)\)", text):
        found.append({key.lower(): value for key, value in _PARAM.findall(body)})
    return found


def _error(values: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as caught:
        NodeSyslogSettings.model_validate(values)
    return str(caught.value)


# --- rendered configs accepted by rsyslogd -N1 ---------------------------------------

REPRESENTATIVE = {
    "userdata-imjournal": {"mode": "userdata", "journal": "imjournal"},
    "daemonset-imuxsock-local-copy": {
        "mode": "daemonset",
        "journal": "imuxsock",
        "localCopy": {"enabled": True},
    },
    "udp-only-no-journal": {"tcp": False, "journal": "none"},
    "rate-limited-small-queue": {
        "rateLimit": {"interval": 5, "burst": 50000},
        "queueSize": 500,
        "queueMaxDiskSpace": "64m",
    },
}


@pytest.mark.parametrize("overrides", REPRESENTATIVE.values(), ids=REPRESENTATIVE.keys())
def test_rsyslogd_accepts_rendered_config(tmp_path: Path, overrides: dict[str, Any]) -> None:
    layout = NodeLayout(tmp_path)
    if overrides.get("localCopy"):
        overrides = {**overrides, "localCopy": {"enabled": True, "path": str(layout.local_copy)}}
    conf = layout.write(layout.settings(**overrides))
    result = validate_config(conf)
    assert result.returncode == 0, result.stderr
    assert "error" not in result.stderr.lower(), result.stderr


def test_rsyslogd_check_rejects_an_unknown_parameter(tmp_path: Path) -> None:
    # The -N1 oracle above is only worth something if it catches a wrong key.
    layout = NodeLayout(tmp_path)
    conf = layout.write(layout.settings())
    layout.dropin.write_text(layout.dropin.read_text().replace("queue.size=", "queue.sizee="))
    result = validate_config(conf)
    assert result.returncode != 0
    assert "queue.sizee" in result.stderr


def test_imjournal_config_runs_and_forwards(tmp_path: Path) -> None:
    """imjournal loads at run time too (no journald here: it just finds no entries)."""
    layout = NodeLayout(tmp_path)
    settings = layout.settings(journal="imjournal")
    layout.write(settings)
    handoff = HandoffFiles(layout.handoff)
    with RsyslogDaemon(layout) as daemon:
        daemon.wait_listening(settings.listen_port)
        send_tcp(settings.listen_port, [rfc5424("node-1", "app", "journal-mode-hello")])
        wait_until(
            lambda: any("journal-mode-hello" in f for f in handoff.snapshot()),
            10,
            "the message in the handoff files",
            diagnose=daemon.output,
        )
    assert "imjournal" not in daemon.output(), daemon.output()


# --- what the text says --------------------------------------------------------------


def test_handoff_is_one_numbered_file_per_minute_with_no_queue_of_its_own() -> None:
    settings = NodeSyslogSettings(
        queue_max_disk_space="2g", spool_directory="/data/spool", handoff_directory="/data/h"
    )
    text = render_rsyslog_conf(settings)
    (handoff,) = _objects(text, "action")[:1]
    assert handoff["type"] == "omfile"
    assert handoff["template"] == FORWARD_TEMPLATE
    (names,) = [t for t in _objects(text, "template") if t["name"] == handoff["dynafile"]]
    assert names["string"] == (
        "/data/h/audit-%$year-utc%%$month-utc%%$day-utc%T%$hour-utc%%$minute-utc%.log"
    )
    # Written by the intake worker right after numbering: nothing waits in a second queue.
    assert not any(key.startswith("queue.") for key in handoff)
    assert handoff["action.resumeretrycount"] == "-1"
    (ruleset,) = _objects(text, "ruleset")
    assert ruleset["queue.workerthreads"] == "1"
    assert ruleset["queue.spooldirectory"] == "/data/spool"
    assert ruleset["queue.saveonshutdown"] == "on"
    assert ruleset["queue.maxdiskspace"] == "2g"


def test_inputs_listen_on_the_configured_address_and_share_one_ruleset() -> None:
    settings = NodeSyslogSettings(listen_address="10.1.2.3", listen_port=1514, journal="imuxsock")
    text = render_rsyslog_conf(settings)
    inputs = {i["type"]: i for i in _objects(text, "input")}
    assert set(inputs) == {"imtcp", "imudp", "imuxsock"}
    assert {(inputs[t]["address"], inputs[t]["port"]) for t in ("imtcp", "imudp")} == {
        ("10.1.2.3", "1514")
    }
    assert inputs["imuxsock"]["socket"] == settings.socket_path
    (ruleset,) = [r["name"] for r in _objects(text, "ruleset")]
    assert {i["ruleset"] for i in inputs.values()} == {ruleset}


def test_default_rate_limits_are_off_for_every_input() -> None:
    text = render_rsyslog_conf(NodeSyslogSettings())
    (journal,) = [m for m in _objects(text, "module") if m["load"] == "imjournal"]
    assert journal["ratelimit.interval"] == "0"
    assert all(i["ratelimit.interval"] == "0" for i in _objects(text, "input"))


def test_local_copy_writes_the_same_format_to_the_configured_file() -> None:
    off = render_rsyslog_conf(NodeSyslogSettings())
    assert [a["type"] for a in _objects(off, "action")] == ["omfile"]
    on = NodeSyslogSettings(local_copy={"enabled": True, "path": "/var/log/audit/copy.log"})
    copy = _objects(render_rsyslog_conf(on), "action")[1]
    assert (copy["type"], copy["file"], copy["template"]) == (
        "omfile",
        "/var/log/audit/copy.log",
        TEMPLATE_RFC5424,
    )


def test_main_conf_sets_the_work_directory_and_includes_the_dropin() -> None:
    text = render_main_conf(NodeSyslogSettings(work_directory="/srv/rsyslog"), "/x/60.conf")
    assert _objects(text, "global") == [
        {"workdirectory": "/srv/rsyslog", "maxmessagesize": str(64 * 1024)}
    ]
    assert _objects(text, "include") == [{"file": "/x/60.conf"}]


# --- the formatter -------------------------------------------------------------------


def test_quoted_values_reach_rsyslog_unchanged(tmp_path: Path) -> None:
    """A value with quotes and backslashes, through rsyslog's own parser, into a file."""
    tricky = 'say "hi" \\ there'
    out = tmp_path / "out.log"
    conf = tmp_path / "t.conf"
    port = free_port()
    conf.write_text(
        "\n".join(
            [
                rs_object("module", {"load": "imtcp"}),
                rs_object("template", {"name": "fixed", "type": "string", "string": tricky}),
                rs_ruleset("r", [{"type": "omfile", "file": str(out), "template": "fixed"}]),
                rs_object(
                    "input", {"type": "imtcp", "address": "127.0.0.1", "port": port, "ruleset": "r"}
                ),
            ]
        )
    )
    layout = NodeLayout(tmp_path)
    layout.main_conf.write_text(conf.read_text())
    with RsyslogDaemon(layout) as daemon:
        daemon.wait_listening(port)
        send_tcp(port, ["<13>1 - h a - - - x"])
        wait_until(out.exists, 10, "the output file")
        wait_until(lambda: out.read_text() != "", 10, "a line in the output file")
    assert out.read_text() == tricky


@pytest.mark.parametrize("bad", ["a\nb", "tab\there", "nul\x00"])
def test_formatter_refuses_control_characters(bad: str) -> None:
    with pytest.raises(ValueError, match="control character"):
        rs_object("input", {"type": bad})


def test_formatter_refuses_bad_parameter_names() -> None:
    with pytest.raises(ValueError, match="parameter name"):
        rs_object("input", {'type="x" evil': "y"})


# --- validation ----------------------------------------------------------------------


@pytest.mark.parametrize("port", [0, 65536, -1])
def test_listen_port_out_of_range_is_refused(port: int) -> None:
    message = _error({"listenPort": port})
    assert "listenPort" in message and "1-65535" in message


def test_queue_size_zero_is_refused() -> None:
    message = _error({"queueSize": 0})
    assert "queueSize 0" in message and "between 100 and" in message


def test_unknown_mode_names_the_accepted_values() -> None:
    message = _error({"mode": "sidecar"})
    assert "mode" in message and "'userdata'" in message and "'daemonset'" in message


def test_unknown_key_is_refused() -> None:
    assert "queueSizes" in _error({"queueSizes": 10})


@pytest.mark.parametrize(
    "image", ["rsyslog/rsyslog", "rsyslog/rsyslog:latest", "localhost:5000/rsyslog"]
)
def test_unpinned_image_is_refused(image: str) -> None:
    assert "pinned" in _error({"image": image})


def test_digest_pinned_image_is_accepted() -> None:
    image = "rsyslog/rsyslog@sha256:" + "a" * 64
    assert NodeSyslogSettings(image=image).image == image


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("workDirectory", "relative/dir"),
        ("spoolDirectory", "/var/../etc"),
        ("spoolDirectory", "/var/spool/with space"),
        ("socketPath", "/run/x'y"),
    ],
)
def test_unsafe_paths_are_refused(key: str, value: str) -> None:
    assert key in _error({key: value})


def test_no_input_at_all_is_refused() -> None:
    message = _error({"tcp": False, "udp": False, "journal": "none"})
    assert "enable at least one input" in message


def test_bad_disk_space_and_address_are_refused() -> None:
    assert "queueMaxDiskSpace" in _error({"queueMaxDiskSpace": "lots"})
    assert "listenAddress" in _error({"listenAddress": "node.local"})


# --- what the DaemonSet needs --------------------------------------------------------


def test_daemonset_mounts_follow_the_journal_input() -> None:
    journal = NodeSyslogSettings(mode="daemonset", journal="imjournal")
    mounts = {m.host_path: m for m in journal.host_mounts()}
    assert {"/var/log/journal", "/run/log/journal", "/etc/machine-id"} <= set(mounts)
    assert all(mounts[p].read_only for p in ("/var/log/journal", "/etc/machine-id"))
    assert not mounts[journal.spool_directory].read_only
    assert not mounts[journal.work_directory].read_only

    socket = NodeSyslogSettings(mode="daemonset", journal="imuxsock", socket_path="/run/cal/log")
    paths = {m.host_path for m in socket.host_mounts()}
    assert "/run/cal" in paths and "/var/log/journal" not in paths
    assert len({m.name for m in socket.host_mounts()}) == len(socket.host_mounts())


def test_container_ports_follow_the_enabled_inputs() -> None:
    both = NodeSyslogSettings(listen_port=1514).container_ports()
    assert {(p.port, p.protocol) for p in both} == {(1514, "TCP"), (1514, "UDP")}
    tcp_only = NodeSyslogSettings(udp=False).container_ports()
    assert [p.protocol for p in tcp_only] == ["TCP"]


# --- RELP ----------------------------------------------------------------------------


def _relp_text(**overrides: Any) -> str:
    settings = NodeSyslogSettings.model_validate(
        {"relp": {"enabled": True}, "handoffDirectory": "/data/h", **overrides}
    )
    return render_rsyslog_conf(settings)


def test_relp_is_off_by_default_and_renders_nothing() -> None:
    text = render_rsyslog_conf(NodeSyslogSettings())
    assert "imrelp" not in text and "main_queue" not in text and RELP_RULESET not in text
    assert [p.name for p in NodeSyslogSettings().container_ports()] == [
        "syslog-tcp",
        "syslog-udp",
    ]


def test_relp_has_its_own_ruleset_counter_and_handoff_file() -> None:
    text = _relp_text()
    (relp_input,) = [i for i in _objects(text, "input") if i["type"] == "imrelp"]
    assert (relp_input["port"], relp_input["ruleset"]) == ("2514", RELP_RULESET)
    assert relp_input["address"] == "0.0.0.0"
    # The ruleset runs in imrelp's thread before the ack: no queue anywhere on the way.
    assert _objects(text, "main_queue") == [{"queue.type": "Direct"}]
    rulesets = {r["name"]: r for r in _objects(text, "ruleset")}
    assert set(rulesets[RELP_RULESET]) == {"name"}
    assert rulesets[RULESET]["queue.workerthreads"] == "1"
    body = text.split(f'ruleset(name="{RELP_RULESET}")', 1)[1]
    assert "$/relp_seq = $/relp_seq + 1" in body and "$/seq " not in body
    actions = {a["name"]: a for a in _objects(text, "action")}
    relp_action, forward_action = actions[RELP_HANDOFF_ACTION], actions["container_audit_handoff"]
    assert relp_action["dynafile"] != forward_action["dynafile"]
    assert {k: v for k, v in relp_action.items() if k not in ("name", "dynafile")} == {
        k: v for k, v in forward_action.items() if k not in ("name", "dynafile")
    }
    files = {t["name"]: t.get("string") for t in _objects(text, "template")}
    assert files[relp_action["dynafile"]] == (
        "/data/h/audit-%$year-utc%%$month-utc%%$day-utc%T%$hour-utc%%$minute-utc%-relp.log"
    )
    ports = NodeSyslogSettings(relp={"enabled": True, "port": 2601}).container_ports()
    assert ports[-1] == ContainerPort("syslog-relp", 2601, "TCP")


def test_relp_local_copy_goes_to_a_file_of_its_own() -> None:
    text = _relp_text(localCopy={"enabled": True, "path": "/var/log/audit/copy.log"})
    copies = sorted(a["file"] for a in _objects(text, "action") if "file" in a)
    assert copies == ["/var/log/audit/copy-relp.log", "/var/log/audit/copy.log"]


@pytest.mark.parametrize(
    ("relp", "message"),
    [
        ({"enabled": True, "port": 514}, "is listenPort too"),
        ({"enabled": True, "port": 0}, "outside 1-65535"),
        ({"enabled": True, "port": 65536}, "outside 1-65535"),
    ],
)
def test_relp_port_must_be_valid_and_its_own(relp: dict[str, Any], message: str) -> None:
    assert message in _error({"relp": relp})


def test_rsyslogd_accepts_the_relp_config(rsyslog_relp: Path, tmp_path: Path) -> None:
    del rsyslog_relp
    layout = NodeLayout(tmp_path)
    settings = layout.settings(
        journal="imjournal",
        localCopy={"enabled": True, "path": str(layout.local_copy)},
        relp={"enabled": True, "port": free_port()},
    )
    result = validate_config(layout.write(settings))
    assert result.returncode == 0, result.stderr
    assert "error" not in result.stderr.lower(), result.stderr
