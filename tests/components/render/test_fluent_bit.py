"""The agent settings and the rendered Fluent Bit config: service, parsers, input, filters."""

import copy
import hashlib
import re
from datetime import UTC, datetime
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from components.render.fluent_bit import (
    RFC3164_PARSER,
    RFC5424_PARSER,
    AgentSettings,
    PipelineContext,
    config_checksum,
    onigmo_to_python,
    parse_time,
    parse_with,
    render_fluent_bit_config,
    tag_matches,
    to_yaml,
    undefined_parsers,
)
from components.render.fluent_bit_routes import RenderError

S3 = {"type": "s3", "name": "archive", "bucket": "audit-archive-1", "region": "eu-west-1"}
DEV = PipelineContext(cluster_name="demo-cluster", environment="dev")

# Samples from RFC 5424 section 6.5 and RFC 3164 section 5.4, plus what rsyslog writes.
RFC5424_SU = (
    "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - "
    "'su root' failed for lonvick on /dev/pts/8"
)
RFC5424_DONUTS = (
    "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - "
    "%% It's time to make the do-nuts."
)
RFC5424_SD = (
    "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 "
    'iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"] '
    "An application event log entry"
)
RFC5424_RSYSLOG = (
    "<86>1 2025-03-09T07:05:42.123456+00:00 ip-10-0-1-23 audit-demo 4242 - - "
    " exec: /bin/sh -c 'cat /etc/shadow' uid=0"
)
RFC3164_SU = "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8"
RFC3164_BFG = "<13>Feb  5 17:32:18 10.0.0.99 Use the BFG!"


def settings(**overrides: Any) -> AgentSettings:
    data: dict[str, Any] = {"routes": [S3]}
    data.update(overrides)
    return AgentSettings.model_validate(data)


def render(agent: AgentSettings, context: PipelineContext = DEV) -> dict[str, Any]:
    return render_fluent_bit_config(agent, context)


def test_defaults_are_pinned_and_local() -> None:
    agent = settings()
    assert agent.image == "fluent/fluent-bit:5.1.1"
    assert agent.listen_port == 5140
    assert agent.kubernetes_metadata is False
    assert agent.resources.limits.memory == "512Mi"


@pytest.mark.parametrize(
    "image", ["fluent/fluent-bit", "fluent/fluent-bit:latest", "registry:5000/fluent-bit"]
)
def test_unpinned_images_are_rejected(image: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(repr(image))):
        settings(image=image)


def test_image_digest_is_appended_to_the_reference() -> None:
    digest = "sha256:" + "a" * 64
    assert settings(imageDigest=digest).image_ref == f"fluent/fluent-bit:5.1.1@{digest}"
    with pytest.raises(ValidationError, match="imageDigest"):
        settings(imageDigest="sha256:abc")


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
    assert service["storage.checksum"] == "on"
    assert service["storage.sync"] == "normal"


def test_storage_settings_reach_the_service_and_host_paths() -> None:
    agent = settings(storage={"hostPath": "/data/flb", "sync": "full", "maxChunksUp": 64})
    service = render(agent)["service"]
    assert service["storage.path"] == "/data/flb/buffer"
    assert service["storage.sync"] == "full"
    assert service["storage.max_chunks_up"] == "64"
    assert agent.host_paths == ["/data/flb/buffer", "/data/flb/s3/archive"]


def test_grace_drives_the_pod_termination_period() -> None:
    assert settings(grace=40).termination_grace_period_seconds > 40


def test_input_is_loopback_syslog_on_disk() -> None:
    (syslog,) = render(settings(listenPort=6514, bufferMaxSize="2M"))["pipeline"]["inputs"]
    assert syslog["name"] == "syslog"
    assert (syslog["mode"], syslog["listen"], syslog["port"]) == ("tcp", "127.0.0.1", "6514")
    assert syslog["tag"] == "audit.syslog"
    assert syslog["storage.type"] == "filesystem"
    assert syslog["parser"] == RFC5424_PARSER
    assert syslog["buffer_max_size"] == "2M"
    assert "mem_buf_limit" not in syslog
    assert syslog["format"] == "newline"


def test_input_framing_follows_node_syslog() -> None:
    (syslog,) = render(settings(tcpFraming="octet_counting"))["pipeline"]["inputs"]
    assert syslog["format"] == "octet_counting"


def test_every_named_parser_is_defined() -> None:
    for fmt in ("rfc5424", "rfc3164"):
        config = render(settings(syslogFormat=fmt))
        assert undefined_parsers(config) == []
        assert config["pipeline"]["inputs"][0]["parser"] in {p["name"] for p in config["parsers"]}


def test_undefined_parser_is_reported() -> None:
    config = render(settings())
    config["pipeline"]["inputs"][0]["parser"] = "nope"
    assert undefined_parsers(config) == ["nope (input syslog, key parser)"]


def test_rfc5424_parser_regex_compiles_in_python() -> None:
    parser = render(settings())["parsers"][0]
    pattern = re.compile(onigmo_to_python(parser["regex"]))
    assert {"pri", "timestamp", "time", "host", "ident", "message"} <= set(pattern.groupindex)
    assert parser["time_format"] == "%Y-%m-%dT%H:%M:%S.%L%z"


def test_rfc5424_sample_lines() -> None:
    su = parse_with(RFC5424_PARSER, RFC5424_SU)
    assert su == {
        "pri": "34",
        "version": "1",
        "timestamp": "2003-10-11T22:14:15.003Z",
        "host": "mymachine.example.com",
        "ident": "su",
        "pid": "-",
        "msgid": "ID47",
        "extradata": "-",
        "message": "'su root' failed for lonvick on /dev/pts/8",
    }
    donuts = parse_with(RFC5424_PARSER, RFC5424_DONUTS)
    assert donuts is not None
    assert (donuts["host"], donuts["pid"], donuts["message"]) == (
        "192.0.2.1",
        "8710",
        "%% It's time to make the do-nuts.",
    )


def test_rfc5424_structured_data_and_rsyslog_lines() -> None:
    sd = parse_with(RFC5424_PARSER, RFC5424_SD)
    assert sd is not None
    assert sd["extradata"].endswith('[examplePriority@32473 class="high"]')
    assert sd["message"] == "An application event log entry"
    rsyslog = parse_with(RFC5424_PARSER, RFC5424_RSYSLOG)
    assert rsyslog is not None
    assert rsyslog["ident"] == "audit-demo"
    assert rsyslog["message"] == " exec: /bin/sh -c 'cat /etc/shadow' uid=0"


def test_rfc5424_malformed_structured_data_is_kept_not_dropped() -> None:
    line = "<13>1 2025-01-01T00:00:00.1Z host app - - [broken sd without end"
    parsed = parse_with(RFC5424_PARSER, line)
    assert parsed is not None
    assert "extradata" not in parsed
    assert parsed["message"] == "[broken sd without end"


def test_rfc5424_parser_rejects_non_syslog_lines() -> None:
    assert parse_with(RFC5424_PARSER, "hello world") is None
    assert parse_with(RFC5424_PARSER, RFC3164_SU) is None


def test_rfc5424_time_handles_fractions_and_offsets() -> None:
    assert parse_time(RFC5424_PARSER, "2003-10-11T22:14:15.003Z") == datetime(
        2003, 10, 11, 22, 14, 15, 3000, tzinfo=UTC
    )
    assert parse_time(RFC5424_PARSER, "2003-08-24T05:14:15.000003-07:00") == datetime(
        2003, 8, 24, 12, 14, 15, 3, tzinfo=UTC
    )
    # Fluent Bit's %L needs a fraction: the record then gets the ingest time.
    assert parse_time(RFC5424_PARSER, "2003-10-11T22:14:15Z") is None


def test_rfc3164_sample_lines_and_time() -> None:
    su = parse_with(RFC3164_PARSER, RFC3164_SU)
    assert su == {
        "pri": "34",
        "timestamp": "Oct 11 22:14:15",
        "host": "mymachine",
        "ident": "su",
        "message": "'su root' failed for lonvick on /dev/pts/8",
    }
    bfg = parse_with(RFC3164_PARSER, RFC3164_BFG)
    assert bfg == {
        "pri": "13",
        "timestamp": "Feb  5 17:32:18",
        "host": "10.0.0.99",
        "message": "Use the BFG!",
    }
    now = datetime(2025, 6, 1, tzinfo=UTC)
    assert parse_time(RFC3164_PARSER, "Feb  5 17:32:18", now=now) == datetime(
        2025, 2, 5, 17, 32, 18, tzinfo=UTC
    )
    assert parse_time(
        RFC3164_PARSER, "Feb  5 17:32:18", now=now, rfc3164_time_offset="+0200"
    ) == datetime(2025, 2, 5, 15, 32, 18, tzinfo=UTC)


def test_rfc3164_parser_states_the_zone() -> None:
    (parser,) = render(settings(syslogFormat="rfc3164", rfc3164TimeOffset="-0500"))["parsers"]
    assert parser["name"] == RFC3164_PARSER
    assert parser["time_offset"] == "-0500"
    assert "%Y" not in parser["time_format"]


def test_context_filter_adds_cluster_node_and_environment() -> None:
    context = PipelineContext(cluster_name="prod-eu", environment="prod")
    modifier = render(settings(), context)["pipeline"]["filters"][0]
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


def test_with_default_bucket_fills_the_stack_bucket() -> None:
    agent = settings(routes=[{"type": "s3", "name": "archive"}])
    with pytest.raises(RenderError, match="bucket=None"):
        render(agent)
    resolved = agent.with_default_bucket("stack-audit-1", "us-west-2", "audit/dev/")
    output = render(resolved)["pipeline"]["outputs"]
    assert (output[0]["bucket"], output[0]["region"]) == ("stack-audit-1", "us-west-2")
    # The stack's prefix: the only one the agent's IAM role may write under.
    assert output[0]["s3_key_format"].startswith("/audit/dev/$TAG/")


def test_environment_rules_are_applied_at_render_time() -> None:
    agent = settings(routes=[S3, {"type": "stdout", "name": "console"}])
    with pytest.raises(RenderError, match=r"route 'console'.*prod"):
        render(agent, PipelineContext(cluster_name="c", environment="prod"))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"routes": []}, "routes"),
        ({"routes": [S3, {**S3, "bucket": "other-bucket"}]}, "repeated: archive"),
        ({"routes": [{**S3, "match": "kube.*"}]}, "match 'kube.\\*' selects no input tag"),
        (
            {"routes": [S3, {**S3, "name": "copy", "storeDir": "/var/fluent-bit/s3/archive"}]},
            "storeDir '/var/fluent-bit/s3/archive' overlaps",
        ),
        (
            {"routes": [{**S3, "storeDir": "/var/fluent-bit/buffer/s3"}]},
            "overlaps '/var/fluent-bit/buffer'",
        ),
        ({"serviceMonitor": True}, "serviceMonitor: true needs metricsService"),
        ({"kubernetesMetadata": True}, "kubernetesMetadata: true is not supported"),
        ({"listenPort": 2020}, "listenPort and httpPort are both 2020"),
        ({"listenPort": 514}, "listen_port|listenPort"),
        ({"bufferChunkSize": "2M", "bufferMaxSize": "1M"}, "bufferMaxSize 1M"),
        ({"maxUnavailable": 0}, "maxUnavailable 0"),
        ({"maxUnavailable": "150%"}, "maxUnavailable '150%'"),
        ({"grep": [{"action": "include", "key": "m", "regex": "${X}"}]}, "contains '\\$\\{'"),
        ({"logLevel": "verbose"}, "logLevel|log_level"),
    ],
)
def test_invalid_combinations_are_rejected(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        settings(**overrides)


def test_tag_matching_follows_fluent_bit_wildcards() -> None:
    assert tag_matches("audit.*", "audit.syslog")
    assert tag_matches("*", "audit.syslog")
    assert tag_matches("audit.syslog", "audit.syslog")
    assert not tag_matches("audit.sys", "audit.syslog")
    assert not tag_matches("audit?syslog", "audit.syslog")


def test_pipeline_context_is_validated() -> None:
    with pytest.raises(ValueError, match="cluster name 'a b'"):
        PipelineContext(cluster_name="a b", environment="dev")


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
    (line,) = [line for line in text.splitlines() if line.strip().startswith("regex:")]
    assert "(?<message>.*)$" in line


def test_config_checksum_is_sha256_of_the_text() -> None:
    text = to_yaml(render(settings()))
    assert config_checksum(text) == hashlib.sha256(text.encode()).hexdigest()
    assert config_checksum(text) != config_checksum(text + "\n")


def test_secret_env_collects_every_route() -> None:
    forward = {
        "type": "forward",
        "name": "agg",
        "host": "agg.example.com",
        "sharedKeySecret": {"name": "fwd", "key": "key"},
    }
    assert list(settings(routes=[S3, forward]).secret_env()) == ["FLB_AGG_SHARED_KEY"]
