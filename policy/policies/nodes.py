"""Node policies: the worker nodes' launch templates hide credentials from pods and encrypt disks.

IMDSv2 with a hop limit of 1 keeps the node role's credentials away from pods on the pod
network (a token request from inside a pod needs a second hop). Unset values fall back to
the AMI's defaults (AL2023 EKS AMIs set a hop limit of 2), so they are violations too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import EnforcementLevel, Policy, Severity

from .common import UNKNOWN, Report, Resource, dicts, get, resource_policy

LAUNCH_TEMPLATE_TYPES = ("aws:ec2/launchTemplate:LaunchTemplate",)


def _true(value: Any) -> bool:
    # LaunchTemplate takes booleans as strings ("true"); accept both spellings.
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _check_metadata(resource: Resource, config: Mapping[str, Any], report: Report) -> None:
    options = resource.props.get("metadataOptions")
    if options is UNKNOWN:
        return
    if get(options, "httpEndpoint") == "disabled":
        return  # no instance metadata at all: nothing to steal
    tokens = get(options, "httpTokens")
    if tokens not in ("required", UNKNOWN):
        report(f"metadataOptions.httpTokens is {tokens!r}: IMDSv1 (no token) stays open")
    hops = get(options, "httpPutResponseHopLimit")
    if hops is not UNKNOWN and hops != 1:
        shown = "unset (the AMI's default, 2 on AL2023)" if hops is None else repr(hops)
        report(f"metadataOptions.httpPutResponseHopLimit is {shown}: pods can reach IMDS")


def _check_disks(resource: Resource, config: Mapping[str, Any], report: Report) -> None:
    mappings = resource.props.get("blockDeviceMappings")
    if mappings is UNKNOWN:
        return
    volumes = [m for m in dicts(mappings) if m.get("ebs") is not None]
    if not volumes:
        report(
            "no blockDeviceMappings with ebs: the root volume's encryption is left to the "
            "account's EBS default"
        )
    for mapping in volumes:
        encrypted = get(mapping, "ebs", "encrypted")
        if encrypted is not UNKNOWN and not _true(encrypted):
            device = mapping.get("deviceName", "?")
            report(f"blockDeviceMappings {device}: ebs.encrypted is {encrypted!r}")


def policies() -> list[Policy]:
    mandatory = EnforcementLevel.MANDATORY
    return [
        resource_policy(
            name="ec2-imdsv2-hop-limit",
            what="Node launch templates require IMDSv2 tokens with a response hop limit of 1.",
            fix="set metadataOptions {httpEndpoint: 'enabled', httpTokens: 'required', "
            "httpPutResponseHopLimit: 1} on the aws.ec2.LaunchTemplate.",
            severity=Severity.HIGH,
            enforcement=mandatory,
            types=LAUNCH_TEMPLATE_TYPES,
            check=_check_metadata,
        ),
        resource_policy(
            name="ec2-encrypted-volumes",
            what="Node launch templates encrypt every EBS volume they define.",
            fix="add blockDeviceMappings for the root device with ebs.encrypted='true'.",
            severity=Severity.HIGH,
            enforcement=mandatory,
            types=LAUNCH_TEMPLATE_TYPES,
            check=_check_disks,
        ),
    ]
