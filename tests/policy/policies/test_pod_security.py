from __future__ import annotations

from typing import Any

import pytest

from policy.policies.pod_security import forbidden_reason, normalize
from tests.policy import compliant as c
from tests.policy.harness import DELETE, analyze, changed

POD = ("spec", "template", "spec")
MAIN = (*POD, "containers", 0)
AGENT_CONFIG = {
    **c.CONFIG,
    "k8s-run-as-non-root": {
        "rootAllowed": [
            {"namespace": "audit-logging", "name": "fluent-bit", "reason": "root-owned buffer"}
        ]
    },
}


def deployment(path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    return changed(c.deployment(), path, value)


def agent_with_volume(volume: dict[str, Any], read_only: bool | None = None) -> dict[str, Any]:
    props = c.daemonset()
    spec = props["spec"]["template"]["spec"]
    spec["volumes"].append(volume)
    if read_only is not None:
        mount = {"name": volume["name"], "mountPath": "/host", "readOnly": read_only}
        spec["containers"][0]["volumeMounts"] = [mount]
    return props


VIOLATIONS = [
    pytest.param(
        c.DEPLOYMENT_T,
        deployment((*POD, "securityContext", "seccompProfile"), DELETE),
        {},
        "k8s-seccomp-profile",
        id="no-seccomp",
    ),
    pytest.param(
        c.DEPLOYMENT_T,
        deployment((*MAIN, "securityContext", "seccompProfile"), {"type": "Unconfined"}),
        {},
        "k8s-seccomp-profile",
        id="container-overrides-to-unconfined",
    ),
    pytest.param(
        c.DEPLOYMENT_T,
        deployment((*MAIN, "securityContext", "runAsUser"), 0),
        {},
        "k8s-run-as-non-root",
        id="container-uid-0",
    ),
    pytest.param(
        c.DEPLOYMENT_T,
        deployment((*POD, "securityContext"), {"seccompProfile": {"type": "RuntimeDefault"}}),
        {},
        "k8s-run-as-non-root",
        id="image-default-user",
    ),
    pytest.param(
        c.DAEMONSET_T,
        agent_with_volume({"name": "root", "hostPath": {"path": "/"}}, read_only=True),
        c.CONFIG,
        "k8s-host-paths-allow-listed",
        id="host-root",
    ),
    pytest.param(
        c.DAEMONSET_T,
        agent_with_volume(
            {"name": "cri", "hostPath": {"path": "/var/run/containerd/containerd.sock"}},
            read_only=True,
        ),
        c.CONFIG,
        "k8s-host-paths-allow-listed",
        id="runtime-socket",
    ),
    pytest.param(
        c.DAEMONSET_T,
        agent_with_volume({"name": "etc", "hostPath": {"path": "/etc"}}, read_only=True),
        c.CONFIG,
        "k8s-host-paths-allow-listed",
        id="path-not-listed",
    ),
    pytest.param(
        c.DAEMONSET_T,
        agent_with_volume({"name": "buf", "hostPath": {"path": "/var/lib/fluent-bit/x"}}, False),
        c.CONFIG,
        "k8s-host-paths-allow-listed",
        id="read-only-path-mounted-writable",
    ),
]


@pytest.mark.parametrize(("type_token", "props", "config", "policy"), VIOLATIONS)
def test_violation_fires_exactly_its_policy(
    type_token: str, props: dict[str, Any], config: dict[str, Any], policy: str
) -> None:
    assert set(analyze(type_token, props, {**c.CONFIG, **config})) == {policy}


def test_root_is_accepted_only_with_a_reason() -> None:
    props = changed(c.daemonset(), (*MAIN, "securityContext", "runAsUser"), 0)
    assert analyze(c.DAEMONSET_T, props, AGENT_CONFIG) == {}
    no_reason = {
        "rootAllowed": [{"namespace": "audit-logging", "name": "fluent-bit", "reason": ""}]
    }
    fired = analyze(c.DAEMONSET_T, props, {**c.CONFIG, "k8s-run-as-non-root": no_reason})
    assert fired == {"k8s-run-as-non-root": ["container 'fluent-bit' runs as root (runAsUser 0)"]}


def test_writable_buffer_path_is_accepted_where_allow_listed_writable() -> None:
    config = {
        **c.CONFIG,
        "k8s-host-paths-allow-listed": {
            "allowed": [
                {
                    "namespace": "audit-logging",
                    "name": "fluent-bit",
                    "path": "/var/lib/fluent-bit",
                    "writable": True,
                }
            ]
        },
    }
    props = agent_with_volume({"name": "s3", "hostPath": {"path": "/var/lib/fluent-bit/s3"}}, False)
    assert analyze(c.DAEMONSET_T, props, config) == {}


@pytest.mark.parametrize(
    ("path", "forbidden"),
    [
        ("/", True),
        ("/var/run", True),
        ("/run/containerd", True),
        ("/var/run/docker.sock", True),
        ("//run/../run/crio/", True),
        ("/var/log/journal", False),
        ("/run/log/journal", False),
        ("/var/lib/containerd-not-a-socket", False),
    ],
)
def test_root_and_runtime_sockets_are_never_allowed(path: str, forbidden: bool) -> None:
    assert (forbidden_reason(normalize(path)) is not None) is forbidden
