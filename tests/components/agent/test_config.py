"""The rendered Fluent Bit config: service, input, filters, outputs, and its YAML text."""

import copy
import hashlib

import pytest
import yaml

from components.agent.config import config_checksum, to_yaml
from components.agent.parsers import RFC5424_PARSER
from components.agent.routes import RenderError
from components.agent.settings import PipelineContext
from tests.components.agent.fluent_bit_samples import S3, render, settings


def test_service_section() -> None:
    service = render(settings(grace=45, flush=2, logLevel="warn"))["service"]
    assert service["grace"] == "45"
    assert service["flush"] == "2"
    assert service["log_level"] == "warn"
    assert (service["http_server"], service["http_listen"], service["http_port"]) == (
        "on",
        "${HOST_IP}",
        "2020",
    )
    assert service["health_check"] == "on"
    assert {"hc_errors_count", "hc_retry_failure_count", "hc_period"} <= service.keys()
    assert service["storage.path"] == "/var/fluent-bit/buffer"
    assert service["storage.delete_irrecoverable_chunks"] == "on"
    # Off by default: the fault scenarios (tests/tooling/faults) show why.
    assert service["storage.checksum"] == "off"
    assert service["storage.backlog.flush_on_shutdown"] == "off"
    assert service["storage.sync"] == "normal"


def test_storage_settings_reach_the_service_and_host_paths() -> None:
    agent = settings(storage={"hostPath": "/data/flb", "sync": "full", "maxChunksUp": 64})
    service = render(agent)["service"]
    assert service["storage.path"] == "/data/flb/buffer"
    assert service["storage.sync"] == "full"
    assert service["storage.max_chunks_up"] == "64"
    assert agent.host_paths == ["/data/flb/buffer", "/data/flb/s3/archive"]


def test_input_tails_the_handoff_files_with_offsets_beside_the_chunks() -> None:
    agent = settings(bufferMaxSize="2M", storage={"hostPath": "/data/fb"})
    context = PipelineContext("c", "dev", handoff_directory="/data/handoff")
    (tail,) = render(agent, context)["pipeline"]["inputs"]
    assert tail["name"] == "tail"
    assert tail["path"] == "/data/handoff/audit-*.log"
    assert tail["db"] == "/data/fb/buffer/handoff.db"
    assert tail["tag"] == "audit.syslog"
    assert tail["storage.type"] == "filesystem"
    assert tail["parser"] == RFC5424_PARSER
    assert tail["buffer_max_size"] == "2M"
    # A file found without a stored offset is read whole; an over-long line stops the
    # file instead of being skipped (the config check keeps rsyslog's lines shorter).
    assert tail["read_from_head"] == tail["read_newly_discovered_files_from_head"] == "true"
    assert tail["skip_long_lines"] == "off"
    assert "mem_buf_limit" not in tail


def test_context_filter_adds_cluster_node_and_environment() -> None:
    context = PipelineContext(cluster_name="prod-eu", environment="prod")
    modifier = render(settings(), context)["pipeline"]["filters"][1]  # after event-time
    assert modifier["name"] == "record_modifier"
    assert modifier["match"] == "audit.syslog"
    assert modifier["record"] == ["cluster prod-eu", "environment prod", "node ${NODE_NAME}"]


def test_grep_rules_become_one_filter_each() -> None:
    rules = [
        {"action": "include", "key": "message", "regex": "exec"},
        {"action": "exclude", "key": "ident", "regex": "^kubelet$"},
    ]
    filters = render(settings(grep=rules))["pipeline"]["filters"]
    greps = [f for f in filters if f["name"] == "grep"]
    assert greps[0]["regex"] == "message exec"
    assert greps[1]["exclude"] == "ident ^kubelet$"
    assert "exclude" not in greps[0]
    assert "regex" not in greps[1]


def test_no_kubernetes_filter_by_default() -> None:
    names = [f["name"] for f in render(settings())["pipeline"]["filters"]]
    assert "kubernetes" not in names


def test_one_output_per_route() -> None:
    routes = [S3, {"type": "stdout", "name": "console"}]
    outputs = render(settings(routes=routes))["pipeline"]["outputs"]
    assert [(o["name"], o["alias"]) for o in outputs] == [("s3", "archive"), ("stdout", "console")]


def test_environment_rules_are_applied_at_render_time() -> None:
    agent = settings(routes=[S3, {"type": "stdout", "name": "console"}])
    with pytest.raises(RenderError, match=r"route 'console'.*prod"):
        render(agent, PipelineContext(cluster_name="c", environment="prod"))


def test_to_yaml_is_deterministic_and_round_trips() -> None:
    config = render(settings(routes=[S3, {"type": "stdout", "name": "console"}]))
    text = to_yaml(config)
    assert text == to_yaml(copy.deepcopy(config))
    reordered = {key: config[key] for key in reversed(list(config))}
    reordered["service"] = dict(reversed(list(config["service"].items())))
    assert to_yaml(reordered) == text
    assert yaml.safe_load(text) == config
    assert text.index("service:") < text.index("parsers:") < text.index("pipeline:")


def test_to_yaml_writes_no_anchors() -> None:
    shared = {"name": "stdout", "match": "*"}
    text = to_yaml({"pipeline": {"outputs": [shared, shared]}})
    assert "&" not in text and "*id" not in text


def test_to_yaml_keeps_long_regexes_on_one_line() -> None:
    text = to_yaml(render(settings()))
    lines = [line for line in text.splitlines() if line.strip().startswith("regex:")]
    assert any("(?<message>(?m:.*))$" in line for line in lines)


def test_config_checksum_is_sha256_of_the_text() -> None:
    text = to_yaml(render(settings()))
    assert config_checksum(text) == hashlib.sha256(text.encode()).hexdigest()
    assert config_checksum(text) != config_checksum(text + "\n")
