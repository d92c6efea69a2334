"""EKS AL2023 user data: a MIME multipart/mixed document whose shell part installs
rsyslog with exactly the rendered config."""

from __future__ import annotations

import base64
import configparser
import email
import shlex
import subprocess
from email.message import Message
from pathlib import Path

import pytest
import yaml

from components.node_syslog.rsyslog import (
    DROPIN_PATH,
    MAIN_CONF_PATH,
    NodeSyslogSettings,
    render_main_conf,
    render_rsyslog_conf,
)
from components.node_syslog.user_data import (
    JOURNALD_DROPIN_PATH,
    MAX_USER_DATA_BYTES,
    UserDataPart,
    render_user_data,
    rsyslog_install_part,
)

NODE_CONFIG = yaml.safe_dump(
    {
        "apiVersion": "node.eks.aws/v1alpha1",
        "kind": "NodeConfig",
        "spec": {"kubelet": {"config": {"maxPods": 58}}},
    }
)
SETTINGS = NodeSyslogSettings(local_copy={"enabled": True})
DROPIN = render_rsyslog_conf(SETTINGS)


def _parts(text: str) -> list[Message]:
    document = email.message_from_string(text)
    assert document.get_content_type() == "multipart/mixed"
    parts = document.get_payload()
    assert isinstance(parts, list)
    return [p for p in parts if isinstance(p, Message)]


def _decoded(part: Message) -> str:
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode("ascii")


def _user_data() -> str:
    parts = [
        UserDataPart("application/node.eks.aws", "---\n" + NODE_CONFIG),
        rsyslog_install_part(DROPIN, SETTINGS),
    ]
    return render_user_data(parts)


def _script() -> str:
    return _decoded(_parts(_user_data())[1])


def _written_files(script: str) -> dict[str, str]:
    """What each `write_file PATH MODE BASE64` line of the script puts on the node."""
    files = {}
    for line in script.splitlines():
        words = shlex.split(line) if line.startswith("write_file ") else []
        if words:
            _, path, _mode, encoded, *on_failure = words
            assert on_failure == ["||", "fail", f"cannot write {path}"], line
            files[path] = base64.b64decode(encoded, validate=True).decode()
    return files


def test_document_is_multipart_mixed_with_the_parts_in_order() -> None:
    text = _user_data()
    document = email.message_from_string(text)
    assert document.get_content_type() == "multipart/mixed"
    assert document["MIME-Version"] == "1.0"
    assert document.get_boundary()
    parts = _parts(text)
    assert [p.get_content_type() for p in parts] == [
        "application/node.eks.aws",
        "text/x-shellscript",
    ]
    assert yaml.safe_load(_decoded(parts[0])) == yaml.safe_load(NODE_CONFIG)


def test_every_part_comes_back_byte_for_byte() -> None:
    contents = ["first line\nFrom the start\n", "no trailing newline", "--not-a-boundary\n"]
    text = render_user_data([UserDataPart("text/x-shellscript", c) for c in contents])
    assert [_decoded(p) for p in _parts(text)] == contents


def test_shell_part_writes_exactly_the_rendered_dropin_and_main_config() -> None:
    files = _written_files(_script())
    assert files[DROPIN_PATH] == DROPIN
    assert files[MAIN_CONF_PATH] == render_main_conf(SETTINGS, dropin_path=DROPIN_PATH)


def test_with_imjournal_journald_stops_rate_limiting() -> None:
    assert SETTINGS.journal == "imjournal"
    script = _script()
    journald = configparser.ConfigParser()
    journald.read_string(_written_files(script)[JOURNALD_DROPIN_PATH])
    assert journald["Journal"]["RateLimitIntervalSec"] == "0"
    assert any(
        line.startswith("systemctl restart systemd-journald ||") for line in script.splitlines()
    )


def test_without_imjournal_journald_is_left_alone() -> None:
    settings = NodeSyslogSettings(journal="imuxsock")
    part = rsyslog_install_part(render_rsyslog_conf(settings), settings)
    assert JOURNALD_DROPIN_PATH not in part.content
    assert "systemd-journald" not in part.content


def test_shell_part_installs_validates_then_restarts(tmp_path: Path) -> None:
    script = _script()
    lines = script.splitlines()
    assert lines[0] == "#!/bin/bash"
    assert "set -uo pipefail" in lines
    steps = [
        "dnf install -y rsyslog",
        "write_file " + DROPIN_PATH,
        f"rsyslogd -N1 -f {MAIN_CONF_PATH}",
        "systemctl enable rsyslog",
        "systemctl restart rsyslog",
    ]
    positions = [next(i for i, line in enumerate(lines) if step in line) for step in steps]
    assert positions == sorted(positions)
    install_dirs = next(line for line in lines if line.startswith("install -d -m 0700"))
    for directory in (
        SETTINGS.work_directory,
        SETTINGS.spool_directory,
        "/var/log/container-audit",
    ):
        assert directory in shlex.split(install_dirs)

    path = tmp_path / "install.sh"
    path.write_text(script)
    checked = subprocess.run(
        ["bash", "-n", str(path)], capture_output=True, text=True, timeout=30, check=False
    )
    assert checked.returncode == 0, checked.stderr


def test_write_file_function_decodes_into_place(tmp_path: Path) -> None:
    """Run the script's own write_file helper on a temp path (nothing else of it runs)."""
    script = _script()
    helper = script[
        script.index("write_file() {") : script.index("}\n", script.index("write_file() {")) + 2
    ]
    target = tmp_path / "60-test.conf"
    text = 'a "quoted" $VAR `cmd` \\ line\nEOF\n'
    encoded = base64.b64encode(text.encode()).decode()
    run = subprocess.run(
        [
            "bash",
            "-c",
            f"set -euo pipefail\n{helper}\nwrite_file "
            f"{shlex.quote(str(target))} 0644 {shlex.quote(encoded)}",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert target.read_text() == text
    assert oct(target.stat().st_mode & 0o777) == "0o644"
    assert [p.name for p in tmp_path.iterdir()] == ["60-test.conf"]


def test_boundary_is_stable_and_follows_the_content() -> None:
    part = UserDataPart("text/x-shellscript", "#!/bin/bash\necho one\n")
    other = UserDataPart("text/x-shellscript", "#!/bin/bash\necho two\n")
    assert render_user_data([part]) == render_user_data([part])
    boundaries = {
        email.message_from_string(render_user_data([p])).get_boundary() for p in (part, other)
    }
    assert len(boundaries) == 2


def test_refuses_what_ec2_or_the_parsers_would_not_take() -> None:
    with pytest.raises(ValueError, match="at least one part"):
        render_user_data([])
    with pytest.raises(ValueError, match="ASCII"):
        UserDataPart("text/x-shellscript", "echo caf\u00e9")
    with pytest.raises(ValueError, match="type/subtype"):
        UserDataPart("shellscript", "echo")
    with pytest.raises(ValueError, match=str(MAX_USER_DATA_BYTES)):
        render_user_data([UserDataPart("text/x-shellscript", "#" * MAX_USER_DATA_BYTES)])


def test_default_install_fits_in_ec2_user_data() -> None:
    settings = NodeSyslogSettings()
    part = rsyslog_install_part(render_rsyslog_conf(settings), settings)
    assert len(render_user_data([part]).encode()) < MAX_USER_DATA_BYTES // 2


def test_relp_installs_the_imrelp_package_too() -> None:
    off = rsyslog_install_part(DROPIN, SETTINGS).content
    assert "rsyslog-relp" not in off
    settings = NodeSyslogSettings(local_copy={"enabled": True}, relp={"enabled": True})
    on = rsyslog_install_part(render_rsyslog_conf(settings), settings).content.splitlines()
    assert any("if dnf install -y rsyslog rsyslog-relp; then" in line for line in on)
    assert any(line.startswith("rpm -q rsyslog-relp || fail") for line in on)
