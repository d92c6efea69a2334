"""Rendered configs against the committed Fluent Bit 5.1.1 schema, and that schema against
the real binary (`fluent-bit -J`, `--dry-run`): those tests need the `fluent_bit` fixture."""

import copy
from pathlib import Path
from typing import Any

import pytest

from components.agent.config import render_fluent_bit_config, to_yaml
from components.agent.settings import AgentSettings, PipelineContext
from tooling.fluent_bit_schema import (
    RENDERED_PLUGINS,
    SCHEMA_PATH,
    check_config,
    dry_run,
    load_schema,
    schema_from_binary,
    schema_text,
    value_problem,
)

BUCKET = {"bucket": "audit-archive-1", "region": "eu-west-1"}
SECRET = {"name": "route-creds", "key": "value"}
REPRESENTATIVE: dict[str, tuple[dict[str, Any], PipelineContext]] = {
    "dev-s3-stdout": (
        {
            "routes": [
                {"type": "s3", "name": "archive", "uploadTimeout": "1m", **BUCKET},
                {"type": "stdout", "name": "console"},
            ],
            "logLevel": "debug",
        },
        PipelineContext(cluster_name="dev", environment="dev"),
    ),
    "prod-s3-opensearch": (
        {
            "routes": [
                {"type": "s3", "name": "archive", "storageClass": "STANDARD_IA", **BUCKET},
                {
                    "type": "opensearch",
                    "name": "search",
                    "host": "vpc-audit.eu-west-1.es.amazonaws.com",
                    "awsAuth": True,
                    "awsRegion": "eu-west-1",
                    "domainArn": "arn:aws:es:eu-west-1:123456789012:domain/audit",
                },
            ],
            "storage": {"sync": "full"},
            "grep": [{"action": "exclude", "key": "ident", "regex": "^healthcheck$"}],
        },
        PipelineContext(cluster_name="prod-eu", environment="prod"),
    ),
    "local-s3-endpoint": (
        {
            "routes": [
                {
                    "type": "s3",
                    "name": "archive",
                    "endpoint": "http://127.0.0.1:9000",
                    "usePutObject": True,
                    "totalFileSize": "20M",
                    **BUCKET,
                }
            ],
            "syslogFormat": "rfc3164",
        },
        PipelineContext(cluster_name="kind", environment="local"),
    ),
    "all-route-types": (
        {
            "routes": [
                {"type": "s3", "name": "archive", **BUCKET},
                {
                    "type": "s3",
                    "name": "plain",
                    "compression": "none",
                    "uploadChunkSize": "10M",
                    "totalFileSize": "20M",
                    "keyPrefix": "plain",
                    **BUCKET,
                },
                {
                    "type": "opensearch",
                    "name": "search",
                    "host": "search.example.com",
                    "httpUser": "writer",
                    "httpPasswordSecret": SECRET,
                },
                {
                    "type": "cloudwatch_logs",
                    "name": "cw",
                    "region": "eu-west-1",
                    "logGroupName": "/audit/containers",
                    "autoCreateGroup": True,
                    "logRetentionDays": 90,
                },
                {
                    "type": "loki",
                    "name": "loki",
                    "host": "loki.example.com",
                    "tenantId": "sec",
                    "httpUser": "writer",
                    "httpPasswordSecret": SECRET,
                },
                {
                    "type": "forward",
                    "name": "aggregator",
                    "host": "agg.example.com",
                    "sharedKeySecret": SECRET,
                },
                {"type": "stdout", "name": "console", "retryLimit": 1},
            ],
            "grep": [
                {"action": "include", "key": "message", "regex": "exec|shell"},
                {"action": "exclude", "key": "$host", "regex": "^test-"},
            ],
        },
        PipelineContext(cluster_name="staging", environment="dev"),
    ),
}
# What the DaemonSet sets from the downward API and Secrets, for a dry run.
DRY_RUN_ENV = {
    "NODE_NAME": "node-1",
    "HOST_IP": "127.0.0.1",
    "FLB_SEARCH_HTTP_PASSWORD": "x",
    "FLB_LOKI_HTTP_PASSWORD": "x",
    "FLB_AGGREGATOR_SHARED_KEY": "x",
}


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return load_schema()


def rendered(name: str) -> dict[str, Any]:
    data, context = REPRESENTATIVE[name]
    return render_fluent_bit_config(AgentSettings.model_validate(data), context)


def test_schema_is_the_pinned_version(schema: dict[str, Any]) -> None:
    assert schema["fluent-bit"]["version"] == "5.1.1"


def test_committed_schema_is_what_the_binary_prints(fluent_bit: str) -> None:
    """`make schema` is up to date: the committed file equals the binary's, cut down."""
    assert SCHEMA_PATH.read_text(encoding="utf-8") == schema_text(schema_from_binary(fluent_bit))


def test_committed_schema_holds_only_the_rendered_plugins(schema: dict[str, Any]) -> None:
    for section, names in RENDERED_PLUGINS.items():
        assert [p["name"] for p in schema[section]] == sorted(names)
    assert SCHEMA_PATH.stat().st_size < 100_000


@pytest.mark.parametrize("name", sorted(REPRESENTATIVE))
def test_rendered_config_fits_the_schema(name: str, schema: dict[str, Any]) -> None:
    assert check_config(rendered(name), schema) == []


@pytest.mark.parametrize("name", sorted(REPRESENTATIVE))
def test_rendered_config_passes_the_agents_dry_run(
    name: str, fluent_bit: str, tmp_path: Path
) -> None:
    path = tmp_path / "fluent-bit.yaml"
    path.write_text(to_yaml(rendered(name)), encoding="utf-8")
    result = dry_run(path, env=DRY_RUN_ENV)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dry_run_rejects_what_the_schema_rejects(fluent_bit: str, tmp_path: Path) -> None:
    """The schema check and the agent agree on an unknown property: the check is not lax."""
    config = rendered("dev-s3-stdout")
    config["pipeline"]["outputs"][0]["storage_total_limit"] = "1G"
    assert check_config(config, load_schema()) != []
    path = tmp_path / "fluent-bit.yaml"
    path.write_text(to_yaml(config), encoding="utf-8")
    assert dry_run(path, env=DRY_RUN_ENV).returncode != 0


def test_unknown_property_is_reported(schema: dict[str, Any]) -> None:
    config = rendered("dev-s3-stdout")
    config["pipeline"]["outputs"][0]["storage_total_limit"] = "1G"
    assert check_config(config, schema) == [
        "outputs[0] (s3): unknown property 'storage_total_limit' for plugin 's3'"
    ]


def test_role_arn_exists_for_s3_so_only_the_renderer_keeps_it_out(
    schema: dict[str, Any],
) -> None:
    config = rendered("dev-s3-stdout")
    config["pipeline"]["outputs"][0]["role_arn"] = "arn:aws:iam::123456789012:role/x"
    assert check_config(config, schema) == []


def test_unknown_plugin_is_reported(schema: dict[str, Any]) -> None:
    config = rendered("dev-s3-stdout")
    config["pipeline"]["outputs"].append({"name": "kafka", "match": "*"})
    assert check_config(config, schema) == ["outputs[2] (kafka): unknown output plugin 'kafka'"]


@pytest.mark.parametrize(
    ("section", "key", "value", "problem"),
    [
        ("inputs", "docker_mode_flush", "fifty", "'fifty' is not a valid integer"),
        ("inputs", "buffer_max_size", "1 MiB", "'1 MiB' is not a valid size"),
        ("outputs", "use_put_object", "maybe", "'maybe' is not a boolean"),
        ("outputs", "upload_timeout", "ten minutes", "'ten minutes' is not a valid time"),
        ("outputs", "workers", "two", "'two' is not a valid integer"),
        ("filters", "record", "lonely", "'lonely' needs at least 2 space-separated values"),
    ],
)
def test_wrongly_typed_value_is_reported(
    schema: dict[str, Any], section: str, key: str, value: str, problem: str
) -> None:
    config = rendered("dev-s3-stdout")
    [entry] = [p for p in config["pipeline"][section] if p.get("alias") != "event-time"][:1]
    entry[key] = value
    (reported,) = check_config(config, schema)
    assert f"property {key!r} value {problem}" in reported


def test_property_names_are_case_insensitive(schema: dict[str, Any]) -> None:
    config = rendered("dev-s3-stdout")
    config["pipeline"]["outputs"][0]["Upload_Timeout"] = "5m"
    config["pipeline"]["filters"].append({"name": "grep", "Match": "*", "REGEX": "a b"})
    assert check_config(config, schema) == []


def test_service_keys_are_checked_against_the_5_1_list(schema: dict[str, Any]) -> None:
    config = rendered("dev-s3-stdout")
    config["service"]["http_listener"] = "0.0.0.0"
    config["service"]["flush.adaptive.min"] = "1"
    assert check_config(config, schema) == ["service: unknown key 'http_listener'"]


def test_missing_parser_and_bad_parser_keys_are_reported(schema: dict[str, Any]) -> None:
    config = rendered("dev-s3-stdout")
    config["parsers"][0]["timekey"] = "time"
    config["pipeline"]["inputs"][0]["parser"] = "docker"
    problems = check_config(config, schema)
    assert "parsers[0] (syslog-rfc5424): unknown key 'timekey'" in problems
    assert "parser not defined: docker (input tail, key parser)" in problems


def test_unknown_sections_are_reported(schema: dict[str, Any]) -> None:
    config = copy.deepcopy(rendered("dev-s3-stdout"))
    config["outputs"] = []
    config["pipeline"]["processors"] = []
    assert check_config(config, schema) == [
        "unknown top-level section 'outputs'",
        "pipeline: unknown section 'processors'",
    ]


@pytest.mark.parametrize(
    ("prop_type", "value", "fits"),
    [
        ("boolean", "On", True),
        ("boolean", True, True),
        ("integer", "-1", True),
        ("integer", 3, True),
        ("size", "512KB", True),
        ("size", "5Mi", False),
        ("time", "6D", True),
        ("double", "0.8", True),
        ("string", "anything at all", True),
        ("integer", "${PORT}", True),
        ("space delimited strings (minimum 2)", ["a b", "c d"], True),
        ("space delimited strings (minimum 2)", ["a b", "c"], False),
        ("deprecated", "x", False),
    ],
)
def test_value_types(prop_type: str, value: Any, fits: bool) -> None:
    assert (value_problem(prop_type, value) is None) is fits
