"""NodeSyslog: the same rendered rsyslog config, delivered at boot or as a DaemonSet."""

from __future__ import annotations

import base64
import email
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.node_syslog.component import NodeSyslog, NodeSyslogArgs
from components.node_syslog.files import node_user_data
from components.node_syslog.rsyslog import NodeSyslogSettings
from tests.conftest import STACKS, run_component, stack_graph
from tooling.artifacts import daemon_configs
from tooling.graph import ResourceGraph

RSYSLOGD = "/usr/sbin/rsyslogd"


def _graph(**settings: Any) -> ResourceGraph:
    import pulumi_kubernetes as k8s

    def build() -> NodeSyslog:
        return NodeSyslog(
            "node-syslog",
            NodeSyslogArgs(
                settings=NodeSyslogSettings(**settings),
                namespace="audit-logging",
                provider=k8s.Provider("k8s", kubeconfig="{}"),
            ),
        )

    return run_component(build)


def _pod(graph: ResourceGraph) -> dict[str, Any]:
    pod = graph.one("kubernetes:apps/v1:DaemonSet").inputs["spec"]["template"]["spec"]
    assert isinstance(pod, dict)
    return pod


def test_userdata_mode_keeps_the_config_but_runs_no_pods() -> None:
    graph = _graph(mode="userdata")
    assert graph.by_type("kubernetes:apps/v1:DaemonSet") == []
    data = graph.one("kubernetes:core/v1:ConfigMap").inputs["data"]
    assert 'include(file="/etc/rsyslog.d/60-container-audit-log.conf")' in data["rsyslog.conf"]


def test_daemonset_runs_rsyslog_on_the_host_network_with_two_capabilities() -> None:
    graph = _graph(mode="daemonset")
    pod = _pod(graph)
    assert pod["hostNetwork"] is True
    [container] = pod["containers"]
    context = container["securityContext"]
    # NET_BIND_SERVICE for port 514; SETPCAP so libcap-ng builds can drop what they do not use.
    assert context["capabilities"] == {"drop": ["ALL"], "add": ["NET_BIND_SERVICE", "SETPCAP"]}
    assert context["allowPrivilegeEscalation"] is False
    assert context["readOnlyRootFilesystem"] is True
    assert ":" in container["image"] and not container["image"].endswith(":latest")
    assert container["resources"]["limits"]["memory"] and container["resources"]["limits"]["cpu"]


def test_no_capability_at_all_on_an_unprivileged_port() -> None:
    [container] = _pod(_graph(mode="daemonset", listen_port=1514))["containers"]
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}


def test_queue_spool_is_a_host_path_and_the_journal_is_read_only() -> None:
    pod = _pod(_graph(mode="daemonset", journal="imjournal"))
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["name"]: m for m in pod["containers"][0]["volumeMounts"]}
    assert volumes["rsyslog-spool"]["hostPath"]["path"] == "/var/spool/rsyslog"
    assert mounts["rsyslog-spool"]["readOnly"] is False
    journal = [
        name for name, v in volumes.items() if "journal" in v.get("hostPath", {}).get("path", "")
    ]
    assert journal and all(mounts[name]["readOnly"] is True for name in journal)


def test_config_change_rolls_the_daemonset() -> None:
    def checksum(graph: ResourceGraph) -> str:
        spec = graph.one("kubernetes:apps/v1:DaemonSet").inputs["spec"]
        return str(spec["template"]["metadata"]["annotations"]["checksum/config"])

    assert checksum(_graph(mode="daemonset")) != checksum(
        _graph(mode="daemonset", queue_size=40000)
    )


def test_user_data_taints_the_node_then_installs_rsyslog() -> None:
    document = node_user_data(NodeSyslogSettings(mode="userdata"))
    assert document is not None
    message = email.message_from_string(document)
    assert message.get_content_type() == "multipart/mixed"
    parts = [part for part in message.walk() if not part.is_multipart()]
    assert [part.get_content_type() for part in parts] == [
        "application/node.eks.aws",
        "text/x-shellscript",
    ]
    node_config = yaml.safe_load(str(parts[0].get_payload()))
    assert node_config["kind"] == "NodeConfig"
    assert node_config["spec"]["kubelet"]["flags"] == [
        "--register-with-taints=container-audit-log/syslog-not-ready=true:NoSchedule"
    ]
    assert "dnf install -y rsyslog" in str(parts[1].get_payload())
    assert node_user_data(NodeSyslogSettings(mode="daemonset")) is None


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_eks_stacks_put_the_rsyslog_installer_in_the_node_user_data(stack: str) -> None:
    template = stack_graph(stack).one("aws:ec2/launchTemplate:LaunchTemplate").inputs
    document = base64.b64decode(template["userData"]).decode()
    assert "dnf install -y rsyslog" in document
    assert "systemctl restart rsyslog" in document


def test_local_stack_runs_rsyslog_as_a_daemonset() -> None:
    graph = stack_graph("local")
    names = {r.inputs["metadata"]["name"] for r in graph.by_type("kubernetes:apps/v1:DaemonSet")}
    assert names == {"fluent-bit", "node-syslog"}


@pytest.mark.parametrize("stack", STACKS)
def test_rsyslogd_accepts_every_stack_config(stack: str, tmp_path: Path) -> None:
    """The real daemon validates the stack's files, node paths moved under tmp_path."""
    files = {
        path.removeprefix("rsyslog/"): text
        for path, text in daemon_configs(stack_graph(stack))
        if path.startswith("rsyslog/") and path.endswith(".conf")
    }
    moves = {"/var/lib/rsyslog": tmp_path / "work", "/var/spool/rsyslog": tmp_path / "spool"}
    for target in moves.values():
        target.mkdir()

    def sandboxed(text: str) -> str:
        for node_path, local in moves.items():
            text = text.replace(node_path, str(local))
        return text

    dropin = tmp_path / "dropin.conf"
    dropin.write_text(sandboxed(files["60-container-audit-log.conf"]))
    main = sandboxed(files["rsyslog.conf"])
    include = next(line for line in main.splitlines() if line.startswith("include("))
    (tmp_path / "rsyslog.conf").write_text(main.replace(include, f'include(file="{dropin}")'))
    result = subprocess.run(
        [RSYSLOGD, "-N1", "-f", str(tmp_path / "rsyslog.conf")],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
