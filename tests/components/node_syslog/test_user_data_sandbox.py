"""The rendered node installer, run for real in a sandbox: a user, mount and network
namespace with /etc and /var behind overlays (what it writes lands in a temp dir), and
stubs on PATH for what only a node has (dnf, rpm, systemctl, logger, sleep, kubectl).
`rsyslogd -N1` is the real rsyslogd checking the files the script wrote.

Success: it installs, writes the rendered files, validates, starts rsyslog and ends when
the port answers. Failure: it stops at the failed step, says why in one line (stderr and
the journal), names the taint the node keeps, and exits 1. Never does it try to lift the
taint itself (NodeRestriction would refuse the kubelet's credentials): the syslog-gate does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from components.node_syslog.files import node_user_data
from components.node_syslog.gate import TAINT_EFFECT, TAINT_KEY
from components.node_syslog.rsyslog import (
    DROPIN_PATH,
    MAIN_CONF_PATH,
    NodeSyslogSettings,
    render_main_conf,
    render_rsyslog_conf,
)
from components.node_syslog.user_data import JOURNALD_DROPIN_PATH, rsyslog_install_part
from tests.rsyslog_harness import RSYSLOGD

SETTINGS = NodeSyslogSettings()
TAINT = f"{TAINT_KEY}=true:{TAINT_EFFECT}"

# Each stub appends "name args..." to $CALLS, then does what the scenario asks.
STUBS = {
    "dnf": 'echo "dnf $*" >> "$CALLS"; [ "$SCENARIO" != no-repository ]',
    "rpm": 'echo "rpm $*" >> "$CALLS"',
    "logger": 'echo "logger $*" >> "$CALLS"',
    "sleep": 'echo "sleep $*" >> "$CALLS"',
    "kubectl": 'echo "kubectl $*" >> "$CALLS"; exit 1',
    # The real rsyslogd checks what the script wrote; it is never started as a daemon.
    "rsyslogd": f'echo "rsyslogd $*" >> "$CALLS"; exec {RSYSLOGD} "$@"',
    # `restart rsyslog` binds the syslog port (as rsyslog would) unless rsyslog is broken.
    "systemctl": (
        'echo "systemctl $*" >> "$CALLS"\n'
        'if [ "$*" = "restart rsyslog" ] && [ "$SCENARIO" = ok ]; then\n'
        f'  "{sys.executable}" -c "$LISTENER" & disown\n'
        '  for _ in 1 2 3 4 5 6 7 8 9 10; do [ -e "$SANDBOX/listening" ] && break; '
        "/bin/sleep 0.2; done\n"
        "fi"
    ),
}
# Accepts one connection on the syslog port, then exits (bounded: 20 s at most).
LISTENER = f"""
import pathlib, os, socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", {SETTINGS.listen_port})); s.listen(1); s.settimeout(20)
pathlib.Path(os.environ["SANDBOX"], "listening").touch()
try:
    s.accept()
except OSError:
    pass
"""
SANDBOX = """
set -u
for top in etc var; do
  mkdir -p "$SANDBOX/$top.upper" "$SANDBOX/$top.work"
  mount -t overlay overlay \
    -o "lowerdir=/$top,upperdir=$SANDBOX/$top.upper,workdir=$SANDBOX/$top.work" "/$top" || exit 97
done
ip link set lo up || exit 98
PATH="$SANDBOX/bin:$PATH" bash "$SANDBOX/install.sh" > "$SANDBOX/stdout" 2> "$SANDBOX/stderr"
echo $? > "$SANDBOX/rc"
"""


@dataclass
class Run:
    returncode: int
    calls: list[str]
    stderr: str
    root: Path

    def written(self, path: str) -> str | None:
        """What the script left at `path` on the node (None: nothing)."""
        top, _, rest = path.lstrip("/").partition("/")
        target = self.root / f"{top}.upper" / rest
        return target.read_text() if target.is_file() else None


def _sandbox_available() -> str | None:
    if sys.platform != "linux" or not shutil.which("unshare") or not shutil.which("ip"):
        return "needs Linux with unshare and ip"
    if not Path(RSYSLOGD).is_file():
        return f"needs the real rsyslogd ({RSYSLOGD})"
    probe = subprocess.run(
        ["unshare", "-rmn", "true"], capture_output=True, text=True, timeout=30, check=False
    )
    if probe.returncode != 0:
        return (
            "unprivileged user namespaces are off here (Ubuntu 24.04: sysctl "
            f"kernel.apparmor_restrict_unprivileged_userns=0): {probe.stderr.strip()}"
        )
    return None


pytestmark = pytest.mark.skipif(_sandbox_available() is not None, reason=str(_sandbox_available()))


def _run_installer(tmp_path: Path, scenario: str) -> Run:
    script = rsyslog_install_part(render_rsyslog_conf(SETTINGS), SETTINGS, TAINT).content
    (tmp_path / "install.sh").write_text(script)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in STUBS.items():
        stub = bin_dir / name
        stub.write_text(f"#!/bin/bash\n{body}\n")
        stub.chmod(0o755)
    env = {
        "PATH": os.environ["PATH"],
        "SANDBOX": str(tmp_path),
        "CALLS": str(tmp_path / "calls"),
        "SCENARIO": scenario,
        "LISTENER": LISTENER,
    }
    (tmp_path / "calls").write_text("")
    sandbox = subprocess.run(
        ["unshare", "-rmn", "bash", "-c", SANDBOX],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert sandbox.returncode == 0, sandbox.stderr
    return Run(
        returncode=int((tmp_path / "rc").read_text()),
        calls=(tmp_path / "calls").read_text().splitlines(),
        stderr=(tmp_path / "stderr").read_text(),
        root=tmp_path,
    )


def test_success_installs_the_rendered_config_and_ends_when_the_port_answers(
    tmp_path: Path,
) -> None:
    run = _run_installer(tmp_path, "ok")
    assert run.returncode == 0, run.stderr
    assert run.written(MAIN_CONF_PATH) == render_main_conf(SETTINGS, dropin_path=DROPIN_PATH)
    assert run.written(DROPIN_PATH) == render_rsyslog_conf(SETTINGS)
    assert run.written(JOURNALD_DROPIN_PATH) is not None
    # The distribution's config is kept aside, once.
    assert run.written(MAIN_CONF_PATH + ".dist") is not None
    steps = [
        "dnf install -y rsyslog",
        f"rsyslogd -N1 -f {MAIN_CONF_PATH}",
        "systemctl enable rsyslog",
        "systemctl restart rsyslog",
        "logger -t container-audit-log node syslog ready on TCP 127.0.0.1:514",
    ]
    assert [call for call in run.calls if call in steps] == steps
    assert "NOT ready" not in run.stderr
    assert not [call for call in run.calls if call.startswith("kubectl")]


def test_without_package_repositories_it_stops_says_why_and_keeps_the_taint(
    tmp_path: Path,
) -> None:
    run = _run_installer(tmp_path, "no-repository")
    assert run.returncode == 1
    assert run.calls.count("dnf install -y rsyslog") == 5
    why = (
        "node syslog NOT ready: dnf install rsyslog failed 5 times (no route to the AL2023 "
        f"package repositories?); the node keeps the taint {TAINT}"
    )
    assert run.stderr.splitlines()[-1] == f"container-audit-log: {why}"
    assert run.calls[-1] == f"logger -p user.err -t container-audit-log {why}"
    # Nothing half-done: no config written, rsyslog neither touched nor started.
    assert run.written(MAIN_CONF_PATH) is None and run.written(DROPIN_PATH) is None
    assert not [call for call in run.calls if call.startswith(("systemctl", "rsyslogd"))]
    assert not [call for call in run.calls if call.startswith("kubectl")]


def test_rsyslog_that_never_listens_is_reported_after_a_bounded_wait(tmp_path: Path) -> None:
    run = _run_installer(tmp_path, "never-listens")
    assert run.returncode == 1
    assert "systemctl restart rsyslog" in run.calls
    assert run.calls.count("sleep 1") == 30
    assert run.stderr.splitlines()[-1] == (
        "container-audit-log: node syslog NOT ready: rsyslog does not answer on TCP "
        f"127.0.0.1:514 after 30 s (systemctl status rsyslog); the node keeps the taint {TAINT}"
    )


def test_the_node_registers_with_the_taint_the_installer_names() -> None:
    document = node_user_data(SETTINGS)
    assert document is not None
    assert f"--register-with-taints={TAINT}" in document
    assert f"TAINT={TAINT}" in document
