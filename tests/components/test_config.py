"""StackConfig: secure defaults, and one clear line for every kind of bad value."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.config import ConfigError, StackConfig, load_archive_config, load_stack_config
from tooling.engine import load_stack_file

NS = "container-audit-log"
DEPLOY = "arn:aws:iam::111122223333:role/ci-deploy"
EKS = {"mode": "eks", "name": "audit", "access": {"deployPrincipalArns": [DEPLOY]}}


def _load(**overrides: Any) -> StackConfig:
    raw = {"aws:region": "eu-west-1", f"{NS}:cluster": json.dumps(EKS)}
    for key, value in overrides.items():
        full = key if ":" in key else f"{NS}:{key}"
        if value is None:
            raw.pop(full, None)
        else:
            raw[full] = value if isinstance(value, str) else json.dumps(value)
    return load_stack_config(raw, "dev")


def test_defaults_are_the_secure_ones() -> None:
    cfg = _load()
    assert cfg.bucket.encryption == "kms"
    assert cfg.bucket.force_destroy is False
    assert cfg.cluster.public_access_cidrs == []  # private API endpoint unless told
    assert "audit" in cfg.cluster.enabled_log_types
    assert cfg.environment == "dev"


@pytest.mark.parametrize("stack", ["dev", "staging", "prod", "local"])
def test_every_stack_file_is_valid(stack: str) -> None:
    raw, _ = load_stack_file(stack)
    cfg = load_stack_config(raw, stack)
    assert cfg.environment == stack


def test_prod_archive_turns_on_object_lock_in_compliance_mode() -> None:
    raw, _ = load_stack_file("archive-prod")
    lock = load_archive_config(raw, "archive-prod").bucket.object_lock
    assert lock.enabled and lock.mode == "COMPLIANCE"


BAD_VALUES: list[tuple[str, dict[str, Any], list[str]]] = [
    (
        "wrong type",
        {"bucket": {"retentionDays": "a year"}},
        ["bucket.retentionDays", '"a year"', "integer"],
    ),
    (
        "unknown enum",
        {"bucket": {"encryption": "rot13"}},
        ["bucket.encryption", '"rot13"', "'kms'", "'sse-s3'"],
    ),
    (
        "negative days",
        {"bucket": {"retentionDays": -5}},
        ["bucket.retentionDays", "-5", "greater than or equal to 1"],
    ),
    (
        "transition after expiration",
        {"bucket": {"retentionDays": 30, "transitionDays": 60}},
        ["bucket", "transitionDays (60)", "retentionDays (30)"],
    ),
    (
        "bad bucket name",
        {"bucket": {"name": "Audit_Logs"}},
        ["bucket.name", "'Audit_Logs'", "lowercase"],
    ),
    ("bucket name like an IP", {"bucket": {"name": "192.168.1.10"}}, ["bucket.name", "IP address"]),
    ("missing cluster", {"cluster": None}, [f"{NS}:cluster", "missing"]),
    ("missing cluster mode", {"cluster": {"name": "x"}}, ["cluster.mode", "missing"]),
    (
        "eks without a deploy principal",
        {"cluster": {"mode": "eks", "name": "audit"}},
        ["cluster", "access.deployPrincipalArns is empty", "pulumi up"],
    ),
    (
        "deploy principal is a session",
        {
            "cluster": {
                **EKS,
                "access": {"deployPrincipalArns": ["arn:aws:sts::111122223333:assumed-role/x/y"]},
            }
        },
        ["access.deployPrincipalArns", "'arn:aws:sts::111122223333:assumed-role/x/y'", "role"],
    ),
    (
        "principal both deploy and admin",
        {
            "cluster": {
                **EKS,
                "access": {"deployPrincipalArns": [DEPLOY], "adminPrincipalArns": [DEPLOY]},
            }
        },
        ["access", DEPLOY, "list it once"],
    ),
    (
        "access on an existing cluster",
        {"cluster": {"mode": "existing", "name": "k", "irsa": False, "access": EKS["access"]}},
        ["cluster", "access only applies to mode 'eks'"],
    ),
    (
        "subnet id",
        {"cluster": {**EKS, "vpcId": "vpc-0123456789abcdef0", "subnetIds": ["private-a"]}},
        ["subnetIds", "'private-a'", "subnet-"],
    ),
    (
        "unknown key in bucket",
        {"bucket": {"retentionDayz": 3}},
        ["bucket.retentionDayz", "unknown key", "retentionDays"],
    ),
    (
        "unknown nested key",
        {"bucket": {"objectLock": {"enable": True}}},
        ["bucket.objectLock.enable", "unknown key", "enabled"],
    ),
    ("unknown top-level key", {"bukket": {}}, [f"{NS}:bukket", "unknown key", "bucket"]),
    (
        "object lock mode",
        {"bucket": {"objectLock": {"enabled": True, "mode": "STRICT"}}},
        ["objectLock.mode", '"STRICT"', "'GOVERNANCE'", "'COMPLIANCE'"],
    ),
    (
        "lock longer than retention",
        {
            "bucket": {
                "retentionDays": 30,
                "transitionDays": None,
                "objectLock": {"enabled": True, "retentionDays": 90},
            }
        },
        ["objectLock.retentionDays (90)", "retentionDays (30)"],
    ),
    (
        "force destroy with lock",
        {"bucket": {"forceDestroy": True, "objectLock": {"enabled": True, "retentionDays": 1}}},
        ["forceDestroy", "objectLock"],
    ),
    (
        "IA transition too early",
        {"bucket": {"transitionDays": 7, "transitionStorageClass": "STANDARD_IA"}},
        ["transitionDays (7)", "at least 30", "STANDARD_IA"],
    ),
    (
        "bad storage class",
        {"bucket": {"transitionStorageClass": "TAPE"}},
        ["transitionStorageClass", '"TAPE"', "'GLACIER_IR'"],
    ),
    (
        "admin role not an ARN",
        {"bucket": {"adminRoleArn": "admin"}},
        ["adminRoleArn", "'admin'", "IAM role ARN"],
    ),
    (
        "cluster mode",
        {"cluster": {"mode": "gke", "name": "x"}},
        ["cluster.mode", '"gke"', "'eks'", "'existing'"],
    ),
    (
        "world-open API",
        {"cluster": {**EKS, "publicAccessCidrs": ["0.0.0.0/0"]}},
        ["publicAccessCidrs", "'0.0.0.0/0'", "whole internet"],
    ),
    (
        "not a CIDR",
        {"cluster": {**EKS, "publicAccessCidrs": ["10.0.0.300/8"]}},
        ["publicAccessCidrs", "'10.0.0.300/8'", "not a CIDR"],
    ),
    (
        "existing without OIDC",
        {"cluster": {"mode": "existing", "name": "kind"}},
        ["cluster", "oidcProviderArn", "irsa: false"],
    ),
    (
        "eks with kubeconfig",
        {"cluster": {**EKS, "kubeconfigPath": "~/.kube/config"}},
        ["kubeconfigPath", "only apply to mode 'existing'"],
    ),
    (
        "node group sizes",
        {"cluster": {**EKS, "nodeGroup": {"minSize": 3, "desiredSize": 2}}},
        ["nodeGroup", "3 <= 2 <= 4"],
    ),
    (
        "kubernetes version",
        {"cluster": {**EKS, "version": "latest"}},
        ["cluster.version", "'latest'", "1.33"],
    ),
    (
        "log prefix with leading slash",
        {"logPrefix": "/audit/"},
        [f"{NS}:logPrefix", "'/audit/'", "ending in '/'"],
    ),
    ("log prefix without trailing slash", {"logPrefix": "audit"}, ["logPrefix", "'audit'"]),
    ("region", {"aws:region": "europe"}, ["aws:region", "'europe'", "eu-west-1"]),
    ("missing region", {"aws:region": None}, ["aws:region", "missing"]),
    ("bucket not an object", {"bucket": "big"}, ["bucket", '"big"', "dictionary"]),
    ("tags not strings", {"tags": {"team": ["a"]}}, ["tags.team", "string"]),
    (
        "syslog port out of range",
        {"nodeSyslog": {"listenPort": 70000}},
        ["nodeSyslog.listenPort", "70000", "1-65535"],
    ),
    (
        "syslog queue size zero",
        {"nodeSyslog": {"queueSize": 0}},
        ["nodeSyslog.queueSize", "0", "between"],
    ),
    (
        "syslog delivery mode",
        {"nodeSyslog": {"mode": "sidecar"}},
        ["nodeSyslog.mode", '"sidecar"', "'userdata'", "'daemonset'"],
    ),
    (
        "userdata on an existing cluster",
        {"cluster": {"mode": "existing", "name": "k", "irsa": False}},
        ["nodeSyslog.mode 'userdata'", "daemonset"],
    ),
    (
        "userdata without tcp",
        {"nodeSyslog": {"tcp": False}},
        ["nodeSyslog.tcp is false", "tainted", "TCP 514"],
    ),
    (
        "handoff inside the queue spool",
        {"nodeSyslog": {"handoffDirectory": "/var/spool/rsyslog/handoff"}},
        ["handoffDirectory", "/var/spool/rsyslog", "spoolDirectory"],
    ),
    (
        "message size leaves no room for the record numbers",
        # Below bufferMaxSize by itself, not with the "<seq> <seq_instance> " prefix.
        {"nodeSyslog": {"maxMessageSize": 999_950}, "agent": {"bufferMaxSize": "1M"}},
        ["maxMessageSize (999950)", "record numbers (103 bytes)", "bufferMaxSize (1000000"],
    ),
    (
        "agent route without a name",
        {"agent": {"routes": [{"type": "s3"}]}},
        ["agent.routes[0].s3.name", "missing"],
    ),
    (
        "unknown route type",
        {"agent": {"routes": [{"type": "kafka", "name": "k"}]}},
        ["agent.routes[0]", "kafka", "'s3'"],
    ),
    (
        "gzip PutObject above 50M",
        {"agent": {"routes": [{"type": "s3", "name": "a", "totalFileSize": "80M"}]}},
        ["route 'a'", "totalFileSize 80M", "at most 50000000 bytes with PutObject"],
    ),
    (
        "unpinned agent image",
        {"agent": {"image": "fluent/fluent-bit:latest"}},
        ["agent", "fluent/fluent-bit:latest", "pin a version tag"],
    ),
    (
        "isolated partition",
        {"aws:region": "us-iso-east-1"},
        ["aws:region", "'us-iso-east-1'", "isolated", "aws, aws-cn, aws-us-gov"],
    ),
    (
        "audit-bucket route writing outside the log prefix",
        {"agent": {"routes": [{"type": "s3", "name": "a", "keyPrefix": "elsewhere"}]}},
        ["agent.routes 'a'", "keyPrefix 'elsewhere'", "outside logPrefix 'audit/'"],
    ),
    (
        "route in another partition",
        {
            "agent": {
                "routes": [
                    {"type": "s3", "name": "a"},
                    {
                        "type": "cloudwatch_logs",
                        "name": "cw",
                        "region": "cn-north-1",
                        "logGroupName": "g",
                    },
                ]
            }
        },
        ["agent.routes 'cw'", "'cn-north-1'", "aws-cn", "own partition"],
    ),
    (
        "opensearch sigv4 without its domain",
        {
            "agent": {
                "routes": [
                    {
                        "type": "opensearch",
                        "name": "search",
                        "host": "search.example.com",
                        "awsAuth": True,
                        "awsRegion": "eu-west-1",
                    }
                ]
            }
        },
        ["route 'search'", "domainArn is not set", "es:ESHttpPost"],
    ),
    (
        "s3-compatible archive without a bucket name",
        {
            "cluster": {"mode": "existing", "name": "k", "irsa": False},
            "nodeSyslog": {"mode": "daemonset"},
            "agent": {"routes": [{"type": "s3", "name": "a", "endpoint": "http://minio:9000"}]},
        },
        ["agent.routes 'a'", "bucket.name is not set", "does not create"],
    ),
    (
        "s3-compatible archive on a stack that creates AWS resources",
        {
            "bucket": {"name": "local-archive"},
            "agent": {"routes": [{"type": "s3", "name": "a", "endpoint": "http://minio:9000"}]},
        },
        ["agent.routes 'a'", "cluster.mode 'existing' with irsa: false"],
    ),
    (
        "athena on an s3-compatible archive",
        {
            "cluster": {"mode": "existing", "name": "k", "irsa": False},
            "nodeSyslog": {"mode": "daemonset"},
            "bucket": {"name": "local-archive"},
            "query": {"enabled": True},
            "agent": {"routes": [{"type": "s3", "name": "a", "endpoint": "http://minio:9000"}]},
        },
        ["agent.routes 'a'", "query.enabled is true", "Athena"],
    ),
    (
        "admin role from another partition",
        {"bucket": {"adminRoleArn": "arn:aws-cn:iam::123456789012:role/admin"}},
        ["bucket.adminRoleArn", "arn:aws-cn:iam::123456789012:role/admin", "'arn:aws:'"],
    ),
    (
        "query cost guard below Athena's minimum",
        {"query": {"bytesScannedCutoffPerQuery": 1000}},
        ["query.bytesScannedCutoffPerQuery = 1000", "10485760"],
    ),
    (
        "auditor that is not an IAM principal",
        {"query": {"auditorPrincipals": ["security-team"]}},
        ["auditorPrincipals entry 'security-team'", ":role/<name>"],
    ),
    (
        "unknown query key",
        {"query": {"resultsBucket": "x"}},
        ["query.resultsBucket", "unknown key", "auditorPrincipals"],
    ),
    (
        "unknown log type",
        {"cluster": {**EKS, "enabledLogTypes": ["audit", "everything"]}},
        ["enabledLogTypes[1]", '"everything"', "'audit'"],
    ),
]


@pytest.mark.parametrize(
    ("case", "overrides", "expected"), BAD_VALUES, ids=[c[0] for c in BAD_VALUES]
)
def test_bad_value_gives_one_clear_line(
    case: str, overrides: dict[str, Any], expected: list[str]
) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(**overrides)
    message = str(caught.value)
    assert len(message.splitlines()) == 1, message
    assert message.startswith("Pulumi.dev.yaml: "), message
    for fragment in expected:
        assert fragment in message, f"{fragment!r} not in {message!r}"


def test_several_bad_values_give_one_line_each() -> None:
    with pytest.raises(ConfigError) as caught:
        _load(bucket={"retentionDays": 0, "encryption": "none"})
    lines = str(caught.value).splitlines()
    assert len(lines) == 2
    assert any("retentionDays" in line for line in lines)
    assert any("encryption" in line for line in lines)


def test_a_stack_outside_the_four_environments_is_named_as_such() -> None:
    raw = {"aws:region": "eu-west-1", f"{NS}:cluster": json.dumps(EKS)}
    with pytest.raises(ConfigError) as caught:
        load_stack_config(raw, "qa")
    assert str(caught.value).startswith('Pulumi.qa.yaml: stack name (the environment) = "qa"')
    assert "'prod'" in str(caught.value)


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_staging_and_prod_refuse_nodes_outside_private_subnets(stack: str) -> None:
    raw, _ = load_stack_file(stack)
    cluster = json.loads(raw[f"{NS}:cluster"])
    del cluster["vpcId"], cluster["subnetIds"]
    raw[f"{NS}:cluster"] = json.dumps(cluster)
    with pytest.raises(ConfigError) as caught:
        load_stack_config(raw, stack)
    message = str(caught.value)
    assert message.splitlines() == [message]
    assert message.startswith(f"Pulumi.{stack}.yaml: {NS}:<config>: cluster.subnetIds is empty")
    assert "private subnets" in message


def test_dev_may_use_the_default_vpc() -> None:
    assert _load().cluster.subnet_ids == []


def test_other_namespaces_are_left_to_their_owners() -> None:
    cfg = _load(**{"aws:profile": "audit", "kubernetes:context": "kind"})
    assert cfg.region == "eu-west-1"


def test_the_agent_gets_a_role_only_when_a_route_calls_aws() -> None:
    assert _load().agent_calls_aws  # the default route: the audit archive on S3
    console_only = _load(agent={"routes": [{"type": "stdout", "name": "console"}]})
    assert not console_only.agent_calls_aws
    assert console_only.archive_on_aws
