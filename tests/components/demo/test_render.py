"""components/demo/render.py: the demo section's rules and the specs it renders."""

from __future__ import annotations

import json
import re
from typing import Any

import kubernetes_validate
import pytest
from pydantic import ValidationError

from components.common.workload import data_checksum
from components.demo.render import (
    BASH_PROFILE,
    BASH_RC,
    CONFIG_MAP_NAME,
    DEMO_DIR,
    DOWNWARD_ENV,
    MOUNT_DIR,
    SCRIPT,
    DemoSettings,
    config_map_data,
    demo_env,
    deployment_spec,
    service_plan,
)

VERSIONS = ["1.31", kubernetes_validate.latest_version()]


def _deployment(settings: DemoSettings | None = None, index: int = 0) -> dict[str, Any]:
    settings = settings or DemoSettings(enabled=True)
    service = settings.services[index]
    spec = deployment_spec(
        settings, service, run_id="dev-demo", syslog_port=514, transport="tcp", checksum="abc"
    )
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": service.name, "namespace": settings.namespace},
        "spec": spec,
    }


def _pod(settings: DemoSettings | None = None) -> dict[str, Any]:
    pod = _deployment(settings)["spec"]["template"]["spec"]
    assert isinstance(pod, dict)
    return pod


def test_defaults_are_off_with_two_services() -> None:
    settings = DemoSettings()
    assert settings.enabled is False
    assert settings.service_names == ["service-1", "service-2"]
    assert settings.effective_run_id("dev") == "dev-demo"
    assert DemoSettings(run_id="pr-42").effective_run_id("dev") == "pr-42"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"image": "python:latest"}, "uses ':latest'"),
        ({"image": "python"}, "has no tag"),
        ({"runId": "has space"}, "String should match pattern"),
        ({"services": []}, "at least 1 item"),
        ({"services": [{"name": "a", "commands": [[]]}]}, "non-empty argv list"),
        (
            {"services": [{"name": "a", "commands": [["id"]]}] * 2},
            "names must be unique; repeated: a",
        ),
        ({"resources": {"limits": {"cpu": "1"}}}, "must set limits.memory"),
        ({"runAsUser": 0}, "greater than or equal to 1000"),
        ({"replicas": 1}, "Extra inputs are not permitted"),
    ],
)
def test_invalid_settings_are_rejected(values: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        DemoSettings.model_validate(values)


@pytest.mark.parametrize("version", VERSIONS)
def test_deployments_are_valid_kubernetes_objects(version: str) -> None:
    settings = DemoSettings(enabled=True)
    for index in range(len(settings.services)):
        kubernetes_validate.validate(_deployment(settings, index), version, strict=True)


def test_pods_meet_the_restricted_pod_security_standard() -> None:
    pod = _pod()
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    assert not {"hostNetwork", "hostPID", "hostIPC"} & set(pod)
    # Restricted allows only these volume types.
    allowed = {"configMap", "emptyDir", "projected", "secret", "downwardAPI", "csi", "ephemeral"}
    for volume in pod["volumes"]:
        assert set(volume) - {"name"} <= allowed, volume
    [container] = pod["containers"]
    context = container["securityContext"]
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert context["readOnlyRootFilesystem"] is True
    assert context["runAsUser"] >= 1000
    assert "ports" not in container
    limits = container["resources"]["limits"]
    assert limits["cpu"] and limits["memory"]


def test_image_is_pinned_and_digest_is_appended() -> None:
    digest = "sha256:" + "b" * 64
    [container] = _pod(DemoSettings(image_digest=digest))["containers"]
    assert container["image"] == f"{DemoSettings().image}@{digest}"
    assert re.fullmatch(r"python:3\.12\.\d+-slim-\w+", DemoSettings().image)


def test_interactive_bash_reads_the_audit_profile() -> None:
    [container] = _pod()["containers"]
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert mounts[BASH_RC]["subPath"] == BASH_PROFILE and mounts[BASH_RC]["readOnly"]
    assert mounts[MOUNT_DIR]["readOnly"] is True
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["BASH_ENV"] == f"{MOUNT_DIR}/{BASH_PROFILE}"
    assert container["command"][:2] == ["python3", f"{MOUNT_DIR}/{SCRIPT}"]


def test_container_env_covers_every_variable_the_script_reads() -> None:
    source = (DEMO_DIR / SCRIPT).read_text()
    read = set(re.findall(r'env\.get\("([A-Z_]+)"', source))
    [container] = _pod()["containers"]
    given = {e["name"] for e in container["env"]}
    assert read, "the script reads its settings from the environment"
    assert read <= given, f"not set by the Deployment: {sorted(read - given)}"
    downward = {
        e["name"]: e["valueFrom"]["fieldRef"]["fieldPath"]
        for e in container["env"]
        if "valueFrom" in e
    }
    assert downward == DOWNWARD_ENV
    assert downward["HOST_IP"] == "status.hostIP"


def test_run_id_and_syslog_target_reach_the_container() -> None:
    service = DemoSettings().services[1]
    env = demo_env(service, "run-7", 1514, "udp")
    assert env["AUDIT_RUN_ID"] == "run-7" and env["AUDIT_SERVICE"] == "service-2"
    assert (env["AUDIT_SYSLOG_PORT"], env["AUDIT_SYSLOG_TRANSPORT"]) == ("1514", "udp")


def test_config_map_ships_the_repo_files_and_one_plan_per_service() -> None:
    settings = DemoSettings()
    data = config_map_data(settings)
    for name in ("audit_events.py", "audit-shell.sh", "audit-sh.sh"):
        assert data[name] == (DEMO_DIR / name).read_text()
    for service in settings.services:
        plan = json.loads(data[f"{service.name}.json"])
        assert plan["commands"] == service.commands
        assert plan["iterations"] == 0 and plan["interval"] == service.interval_seconds
    assert all(re.fullmatch(r"[-._a-zA-Z0-9]+", key) for key in data)  # ConfigMap key rule
    assert sum(len(v.encode()) for v in data.values()) < 1024 * 1024  # ConfigMap size limit
    assert CONFIG_MAP_NAME == "audit-demo-scripts"


def test_checksum_follows_the_scripts_and_plans() -> None:
    settings = DemoSettings()
    base = data_checksum(config_map_data(settings))
    assert base == data_checksum(config_map_data(DemoSettings()))
    changed = settings.model_copy(
        update={"services": [settings.services[0].model_copy(update={"interval_seconds": 5})]}
    )
    assert data_checksum(config_map_data(changed)) != base


def test_plan_iterations_for_local_runs() -> None:
    plan = json.loads(service_plan(DemoSettings().services[0], iterations=1))
    assert plan["iterations"] == 1
