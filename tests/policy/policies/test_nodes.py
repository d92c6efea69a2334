from __future__ import annotations

from typing import Any

import pytest

from tests.policy.harness import DELETE, analyze, changed

LAUNCH_TEMPLATE_T = "aws:ec2/launchTemplate:LaunchTemplate"


def launch_template() -> dict[str, Any]:
    return {
        "metadataOptions": {
            "httpEndpoint": "enabled",
            "httpTokens": "required",
            "httpPutResponseHopLimit": 1,
        },
        "blockDeviceMappings": [
            {"deviceName": "/dev/xvda", "ebs": {"encrypted": "true", "volumeSize": 50}}
        ],
    }


VIOLATIONS = [
    pytest.param(("metadataOptions", "httpTokens"), "optional", "ec2-imdsv2-hop-limit", id="v1"),
    pytest.param(("metadataOptions",), DELETE, "ec2-imdsv2-hop-limit", id="ami-defaults"),
    pytest.param(
        ("metadataOptions", "httpPutResponseHopLimit"), 2, "ec2-imdsv2-hop-limit", id="two-hops"
    ),
    pytest.param(
        ("blockDeviceMappings", 0, "ebs", "encrypted"), "false", "ec2-encrypted-volumes", id="plain"
    ),
    pytest.param(("blockDeviceMappings",), DELETE, "ec2-encrypted-volumes", id="account-default"),
]


@pytest.mark.parametrize(("path", "value", "policy"), VIOLATIONS)
def test_violation_fires_exactly_its_policy(
    path: tuple[str | int, ...], value: Any, policy: str
) -> None:
    assert set(analyze(LAUNCH_TEMPLATE_T, changed(launch_template(), path, value))) == {policy}


def test_compliant_template_and_imds_off_fire_nothing() -> None:
    assert analyze(LAUNCH_TEMPLATE_T, launch_template()) == {}
    no_imds = changed(launch_template(), ("metadataOptions",), {"httpEndpoint": "disabled"})
    assert analyze(LAUNCH_TEMPLATE_T, no_imds) == {}
    boolean = changed(launch_template(), ("blockDeviceMappings", 0, "ebs", "encrypted"), True)
    assert analyze(LAUNCH_TEMPLATE_T, boolean) == {}
