"""The handoff-cleaner sidecar as rendered: the gate's pinned image, the agent's privileges,
env the script accepts, and refusals of mounts it could not work with."""

from __future__ import annotations

import ast
import sys
from typing import Any

import pytest

from components.agent import handoff_cleaner
from components.agent.handoff_cleaner import (
    NAME,
    SCRIPT_FILE,
    SCRIPT_MOUNT,
    SCRIPT_VOLUME,
    container_spec,
    script_text,
)
from components.agent.handoff_cleaner_script import load_config
from components.common.workload import container_security_context
from components.node_syslog import gate as syslog_gate

HANDOFF = "/var/log/container-audit-log/handoff"
STORAGE = "/var/fluent-bit/state"
MOUNTS = [
    {"name": "handoff", "mountPath": HANDOFF},
    {"name": "state", "mountPath": STORAGE},
]


def spec(**overrides: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "handoff_dir_mount": HANDOFF,
        "tail_db": f"{STORAGE}/handoff.db",
        "metrics_port": 2021,
        "volume_mounts": MOUNTS,
        **overrides,
    }
    return container_spec(**arguments)


def test_the_sidecar_runs_the_script_in_the_gates_pinned_image() -> None:
    container = spec()
    assert container["name"] == NAME == "handoff-cleaner"
    assert container["image"] == syslog_gate.IMAGE
    assert "@sha256:" in container["image"]
    assert container["command"] == ["python3", f"{SCRIPT_MOUNT}/{SCRIPT_FILE}"]
    assert container["command"][1] == "/opt/handoff-cleaner/handoff_cleaner.py"
    assert container["ports"] == [
        {"name": "cleaner-metrics", "containerPort": 2021, "protocol": "TCP"}
    ]
    assert container["volumeMounts"] == [
        {"name": SCRIPT_VOLUME, "mountPath": SCRIPT_MOUNT, "readOnly": True},
        *MOUNTS,
    ]
    assert container["resources"]["limits"] == {"cpu": "100m", "memory": "64Mi"}


def test_it_has_the_agents_privileges_for_the_host_paths_and_no_more() -> None:
    context = spec()["securityContext"]
    assert context == container_security_context(run_as_root=True)
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert context["allowPrivilegeEscalation"] is False
    assert context["privileged"] is False
    assert context["readOnlyRootFilesystem"] is True


def test_its_env_is_what_the_script_accepts() -> None:
    env = {entry["name"]: entry for entry in spec()["env"]}
    assert env["HOST_IP"]["valueFrom"] == {"fieldRef": {"fieldPath": "status.hostIP"}}
    assert env["METRICS_ADDRESS"]["value"] == "$(HOST_IP)"
    assert env["PYTHONDONTWRITEBYTECODE"]["value"] == "1"
    values = {name: entry.get("value", "") for name, entry in env.items()}
    # What the kubelet makes of $(HOST_IP): the node's address.
    values["HOST_IP"] = "10.0.1.23"
    values["METRICS_ADDRESS"] = values["HOST_IP"]
    config = load_config(values)
    assert config.handoff_dir == HANDOFF
    assert config.tail_db == f"{STORAGE}/handoff.db"
    assert config.metrics_port == 2021
    assert config.settle_seconds == 120
    assert config.interval_seconds == 10


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"volume_mounts": [{**MOUNTS[0], "readOnly": True}, MOUNTS[1]]},
            "must be mounted read-write (mount handoff)",
        ),
        (
            {"volume_mounts": [MOUNTS[0], {**MOUNTS[1], "readOnly": True}]},
            "must be mounted read-write (mount state)",
        ),
        ({"volume_mounts": [MOUNTS[0]]}, "no volume mount holds the tail database"),
        ({"handoff_dir_mount": "handoff"}, "must be an absolute path"),
        ({"metrics_port": 0}, "metrics_port must be a TCP port"),
    ],
)
def test_refuses_what_the_cleaner_could_not_work_with(
    overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        spec(**overrides)


def test_the_deepest_mount_decides() -> None:
    mounts = [
        {"name": "var", "mountPath": "/var", "readOnly": True},
        {"name": "handoff", "mountPath": HANDOFF + "/"},
        {"name": "state", "mountPath": STORAGE},
    ]
    assert spec(volume_mounts=mounts)["volumeMounts"][1:] == mounts


def test_the_script_is_standard_library_only() -> None:
    text = script_text()
    assert text == handoff_cleaner.SCRIPT_SOURCE.read_text(encoding="utf-8")
    modules = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            modules |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module.split(".")[0])
    assert modules
    assert modules <= set(sys.stdlib_module_names) | {"__future__"}
