"""demo/audit-shell.sh and audit-sh.sh with the real bash and dash: what a person typing in
`kubectl exec -it POD -- bash` leaves in syslog."""

from __future__ import annotations

import time
from pathlib import Path

from tests.demo.helpers import RUN_ID, run_shell, wait_for
from tests.demo.test_audit_events import audit
from tests.rsyslog_harness import (
    running_sink,
)
from tooling.e2e import DEMO_DIR
from tooling.loopback import free_port

BASH_RC = str(DEMO_DIR / "audit-shell.sh")


def _session(
    tmp_path: Path, typed: str, expected: int, argv: list[str] | None = None
) -> list[dict[str, str]]:
    port = free_port()
    with running_sink(port, framing="octet-counting") as sink:
        done = run_shell(argv or ["bash", "--rcfile", BASH_RC, "-i"], port, tmp_path, typed)
        wait_for(lambda: sink.count() >= expected)
        time.sleep(0.2)  # every hook has exited: nothing else may still arrive
        assert sink.count() == expected, (sink.snapshot(), done.stderr)
    return [audit(frame) for frame in sink.snapshot()]


def test_each_typed_line_is_logged_once_as_typed(tmp_path: Path) -> None:
    typed = "echo one | tr a-z A-Z\nfor i in 1 2 3; do true; done\n\nls /nonexistent; echo after\n"
    events = _session(tmp_path, typed, expected=4)
    assert events[0]["event"] == "SHELL" and events[0]["shell"] == "bash"
    assert "command" not in events[0]  # the shell start
    assert [e["command"] for e in events[1:]] == [
        "echo one | tr a-z A-Z",
        "for i in 1 2 3; do true; done",
        "ls /nonexistent; echo after",
    ]
    assert {e["run_id"] for e in events} == {RUN_ID}


def test_a_line_is_logged_before_it_runs(tmp_path: Path) -> None:
    # The shell dies on this line: only a hook that runs first can log it.
    events = _session(tmp_path, "kill -9 $$\necho never\n", expected=2)
    assert events[1]["command"] == "kill -9 $$"


def test_with_history_off_each_command_is_logged(tmp_path: Path) -> None:
    events = _session(tmp_path, "set +o history\necho two; echo three\n", expected=4)
    assert [e["command"] for e in events[1:]] == ["set +o history", "echo two", "echo three"]


def test_bash_c_is_logged_through_bash_env(tmp_path: Path) -> None:
    port = free_port()
    with running_sink(port, framing="octet-counting") as sink:
        done = run_shell(["bash", "-c", "echo via-c && true"], port, tmp_path)
        assert done.stdout == "via-c\n"
        wait_for(lambda: sink.count() >= 1)
    [event] = [audit(frame) for frame in sink.snapshot()]
    assert event["command"] == "echo via-c && true"


def test_sh_logs_that_a_shell_was_opened(tmp_path: Path) -> None:
    events = _session(tmp_path, "echo hi\n", expected=1, argv=["dash", "-i"])
    assert events[0]["shell"] == "sh" and "command" not in events[0]


def test_a_dead_syslog_does_not_break_the_shell(tmp_path: Path) -> None:
    done = run_shell(
        ["bash", "--rcfile", BASH_RC, "-i"], free_port(), tmp_path, "echo still-works\n"
    )
    assert "still-works" in done.stdout
    assert "send failed" not in done.stderr and "Traceback" not in done.stderr
