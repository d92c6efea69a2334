from __future__ import annotations

from typing import Any

import pytest

from policy.policies.kubernetes import image_problem
from tests.policy import compliant as c
from tests.policy.harness import DELETE, analyze, changed

POD = ("spec", "template", "spec")
MAIN = (*POD, "containers", 0)
INIT = (*POD, "initContainers", 0)
CONTEXT = (*MAIN, "securityContext")
DIGEST = "sha256:" + "a" * 64


def deployment(path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    return changed(c.deployment(), path, value)


VIOLATIONS = [
    pytest.param(
        c.DEPLOYMENT_T,
        deployment((*CONTEXT, "privileged"), True),
        {},
        "k8s-no-privileged",
        id="priv",
    ),
    pytest.param(
        c.DEPLOYMENT_T,
        deployment((*INIT, "securityContext", "privileged"), True),
        {},
        "k8s-no-privileged",
        id="privileged-init-container",
    ),
    pytest.param(
        c.CRONJOB_T,
        changed(
            c.cronjob(),
            (
                "spec",
                "jobTemplate",
                "spec",
                "template",
                "spec",
                "containers",
                0,
                "securityContext",
                "privileged",
            ),
            True,
        ),
        {},
        "k8s-no-privileged",
        id="privileged-cronjob",
    ),
    pytest.param(
        c.POD_T,
        changed(c.pod(), ("spec", "containers", 0, "securityContext", "privileged"), True),
        {},
        "k8s-no-privileged",
        id="privileged-pod",
    ),
    pytest.param(
        c.DEPLOYMENT_T,
        deployment((*CONTEXT, "allowPrivilegeEscalation"), DELETE),
        {},
        "k8s-no-privilege-escalation",
        id="escalation-unset",
    ),
    pytest.param(
        c.DEPLOYMENT_T,
        deployment((*CONTEXT, "capabilities"), {"drop": ["NET_RAW"]}),
        {},
        "k8s-drop-all-capabilities",
        id="drops-one-only",
    ),
    pytest.param(
        c.DEPLOYMENT_T,
        deployment((*CONTEXT, "capabilities"), {"drop": ["ALL"], "add": ["SYS_ADMIN"]}),
        {"k8s-drop-all-capabilities": {"allowedCapabilities": ["NET_BIND_SERVICE"]}},
        "k8s-drop-all-capabilities",
        id="adds-unlisted",
    ),
    pytest.param(
        c.DEPLOYMENT_T,
        deployment((*CONTEXT, "readOnlyRootFilesystem"), False),
        {},
        "k8s-read-only-root-filesystem",
        id="writable-root",
    ),
    pytest.param(
        c.DEPLOYMENT_T,
        deployment((*MAIN, "resources", "limits", "memory"), DELETE),
        {},
        "k8s-resources-bounded",
        id="no-memory-limit",
    ),
    pytest.param(
        c.DEPLOYMENT_T,
        deployment((*INIT, "resources"), DELETE),
        {},
        "k8s-resources-bounded",
        id="init-without-resources",
    ),
    pytest.param(
        c.DEPLOYMENT_T,
        deployment((*MAIN, "image"), "fluent/fluent-bit:latest"),
        {},
        "k8s-image-pinned",
        id="latest",
    ),
    pytest.param(
        c.DEPLOYMENT_T,
        deployment((*MAIN, "image"), "localhost:5000/fluent-bit"),
        {},
        "k8s-image-pinned",
        id="registry-port-is-not-a-tag",
    ),
    pytest.param(
        c.DEPLOYMENT_T,
        deployment((*MAIN, "image"), c.IMAGE),
        {"k8s-image-pinned": {"requireDigest": True}},
        "k8s-image-pinned",
        id="tag-where-digest-required",
    ),
    pytest.param(
        c.DEPLOYMENT_T, deployment((*POD, "hostPID"), True), {}, "k8s-no-host-namespaces", id="pid"
    ),
    pytest.param(
        c.DEPLOYMENT_T, deployment((*POD, "hostIPC"), True), {}, "k8s-no-host-namespaces", id="ipc"
    ),
    pytest.param(
        c.DEPLOYMENT_T,
        deployment((*POD, "hostNetwork"), True),
        {},
        "k8s-host-access-allow-listed",
        id="host-network",
    ),
    pytest.param(
        c.DEPLOYMENT_T,
        deployment((*MAIN, "ports"), [{"containerPort": 514, "hostPort": 514}]),
        {},
        "k8s-host-access-allow-listed",
        id="host-port",
    ),
    pytest.param(
        c.DAEMONSET_T,
        c.daemonset(namespace="kube-system"),
        # Its path is allowed (so only the node-agent allow-list speaks).
        {
            "k8s-host-paths-allow-listed": {
                "allowed": [{"namespace": "kube-system", "name": "fluent-bit", "path": "/var/lib"}]
            }
        },
        "k8s-host-access-allow-listed",
        id="agent-name-in-another-namespace",
    ),
    pytest.param(
        c.DEPLOYMENT_T,
        deployment(("metadata", "namespace"), "default"),
        {},
        "k8s-no-default-namespace",
        id="default",
    ),
    pytest.param(
        c.DEPLOYMENT_T,
        deployment(("metadata", "namespace"), DELETE),
        {},
        "k8s-no-default-namespace",
        id="namespace-unset",
    ),
    pytest.param(
        c.CONFIGMAP_T,
        changed(c.configmap(), ("metadata", "namespace"), "default"),
        {},
        "k8s-no-default-namespace",
        id="configmap",
    ),
    pytest.param(
        c.DEPLOYMENT_T,
        deployment((*POD, "automountServiceAccountToken"), DELETE),
        {},
        "k8s-no-automount-service-account-token",
        id="token-by-default",
    ),
    pytest.param(
        c.DEPLOYMENT_T,
        deployment((*POD, "automountServiceAccountToken"), True),
        {},
        "k8s-no-automount-service-account-token",
        id="token-asked-for",
    ),
]


@pytest.mark.parametrize(("type_token", "props", "config", "policy"), VIOLATIONS)
def test_violation_fires_exactly_its_policy(
    type_token: str, props: dict[str, Any], config: dict[str, Any], policy: str
) -> None:
    fired = analyze(type_token, props, {**c.CONFIG, **config})
    assert set(fired) == {policy}, fired


@pytest.mark.parametrize(
    ("type_token", "props", "config"),
    [
        pytest.param(c.DEPLOYMENT_T, c.deployment(), {}, id="deployment"),
        pytest.param(c.CRONJOB_T, c.cronjob(), {}, id="cronjob"),
        pytest.param(c.POD_T, c.pod(), {}, id="pod"),
        pytest.param(c.DAEMONSET_T, c.daemonset(), {}, id="allow-listed-node-agent"),
        pytest.param(c.DAEMONSET_T, c.daemonset(name="node-syslog"), {}, id="rsyslog-agent"),
        pytest.param(c.CONFIGMAP_T, c.configmap(), {}, id="configmap"),
        pytest.param(c.NAMESPACE_T, c.namespace(), {}, id="namespace-has-no-namespace"),
        pytest.param(
            c.DEPLOYMENT_T,
            deployment(
                (*CONTEXT, "capabilities"), {"drop": ["all"], "add": ["CAP_NET_BIND_SERVICE"]}
            ),
            {"k8s-drop-all-capabilities": {"allowedCapabilities": ["NET_BIND_SERVICE"]}},
            id="allow-listed-capability",
        ),
        pytest.param(
            c.DEPLOYMENT_T,
            changed(
                deployment((*MAIN, "image"), f"fluent/fluent-bit@{DIGEST}"),
                (*INIT, "image"),
                f"busybox@{DIGEST}",
            ),
            {"k8s-image-pinned": {"requireDigest": True}},
            id="digest",
        ),
        pytest.param(
            c.DEPLOYMENT_T,
            deployment((*POD, "automountServiceAccountToken"), True),
            {
                "k8s-no-automount-service-account-token": {
                    "apiClients": [{"namespace": "audit-demo", "name": "demo"}]
                }
            },
            id="allow-listed-api-client",
        ),
    ],
)
def test_compliant_workload_fires_nothing(
    type_token: str, props: dict[str, Any], config: dict[str, Any]
) -> None:
    assert analyze(type_token, props, {**c.CONFIG, **config}) == {}


def test_node_agent_needs_the_allow_list() -> None:
    fired = analyze(
        c.DAEMONSET_T,
        c.daemonset(),
        {"k8s-host-paths-allow-listed": c.CONFIG["k8s-host-paths-allow-listed"]},
    )
    assert fired == {
        "k8s-host-access-allow-listed": [
            "audit-logging/fluent-bit is not an allow-listed node agent but uses "
            "hostPath volume 'buffer' (/var/lib/fluent-bit)"
        ]
    }


def test_each_offending_container_is_named() -> None:
    props = deployment((*CONTEXT, "readOnlyRootFilesystem"), False)
    props = changed(props, (*INIT, "securityContext", "readOnlyRootFilesystem"), False)
    assert analyze(c.DEPLOYMENT_T, props, c.CONFIG)["k8s-read-only-root-filesystem"] == [
        "container 'fluent-bit' does not set securityContext.readOnlyRootFilesystem=true",
        "init container 'init' does not set securityContext.readOnlyRootFilesystem=true",
    ]


@pytest.mark.parametrize(
    ("image", "pinned"),
    [
        ("fluent/fluent-bit:5.1.1", True),
        ("registry.example.com:5000/fluent/fluent-bit:5.1.1", True),
        (f"fluent/fluent-bit:5.1.1@{DIGEST}", True),
        ("fluent/fluent-bit", False),
        ("fluent/fluent-bit:latest", False),
        ("fluent/fluent-bit@sha256:abc", False),
        ("", False),
    ],
)
def test_image_pinning(image: str, pinned: bool) -> None:
    assert (image_problem(image, require_digest=False) is None) is pinned
