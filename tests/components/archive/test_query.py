"""ArchiveQuery under the offline engine: table over the route's keys, workgroup, queries,
and an auditor role allowed exactly what it must (decided by the IAM evaluator)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from components.agent.monitoring import heartbeat_tag
from components.agent.settings import AgentSettings
from components.archive.queries import QUERIES
from components.archive.query import ArchiveQuery, ArchiveQueryArgs
from components.archive.query_settings import QuerySettings
from policy.policies.iam_eval import Request, all_actions, evaluate
from tests.conftest import policy_document, run_component
from tooling.graph import ResourceGraph

BUCKET = "archive-bucket"
BUCKET_ARN = f"arn:aws:s3:::{BUCKET}"
KEY = "arn:aws:kms:eu-west-1:123456789012:key/k"
PRINCIPAL = "arn:aws:iam::123456789012:role/security-team"
PREFIX = "audit/dev/"


def _graph(kms: bool = True, principals: tuple[str, ...] = (PRINCIPAL,)) -> ResourceGraph:
    args = ArchiveQueryArgs(
        settings=QuerySettings(auditor_principals=list(principals)),
        environment="dev",
        region="eu-west-1",
        agent=AgentSettings(),
        log_prefix=PREFIX,
        retention_days=30,
        bucket_name=BUCKET,
        bucket_arn=BUCKET_ARN,
        kms_key_arn=KEY if kms else None,
    )
    return run_component(lambda: ArchiveQuery("q", args))


def test_table_location_and_projection_follow_the_agents_keys() -> None:
    table = _graph().one("aws:glue/catalogTable:CatalogTable")
    params = table.inputs["parameters"]
    assert params["projection.enabled"] == "true"
    assert params["projection.day.range"] == "NOW-30DAYS,NOW"
    # A key the agent would write at 2026-11-30 07:xx lands in the projected partition.
    agent_format = AgentSettings().s3_routes[0].model_copy(update={"key_prefix": "audit/dev"})
    key = datetime(2026, 11, 30, 7, 5, 9, tzinfo=UTC).strftime(agent_format.s3_key_format)
    key = key.replace("$TAG", AgentSettings().tag).replace("$UUID", "AbCd1234").lstrip("/")
    location = params["storage.location.template"]
    location = location.replace("${day}", "2026/11/30").replace("${hour}", "07")
    assert f"s3://{BUCKET}/{key}".startswith(location.replace("${tag}", AgentSettings().tag))
    # Heartbeats (re-tagged by the agent) are the same table's other `tag` partition.
    beat = key.replace(AgentSettings().tag, heartbeat_tag(AgentSettings().tag))
    assert f"s3://{BUCKET}/{beat}".startswith(location.replace("${tag}", "audit.heartbeat"))
    assert params["projection.tag.values"].split(",") == ["audit.syslog", "audit.heartbeat"]
    assert table.inputs["storageDescriptor"]["location"] == f"s3://{BUCKET}/audit/dev/"
    serde = table.inputs["storageDescriptor"]["serDeInfo"]["serializationLibrary"]
    assert serde == "org.openx.data.jsonserde.JsonSerDe"


def test_workgroup_enforced_encrypted_and_cost_guarded() -> None:
    workgroup = _graph().one("aws:athena/workgroup:Workgroup")
    configuration = workgroup.inputs["configuration"]
    assert configuration["enforceWorkgroupConfiguration"] is True
    assert configuration["bytesScannedCutoffPerQuery"] == 10_000_000_000
    managed = configuration["managedQueryResultsConfiguration"]
    assert managed == {"enabled": True, "encryptionConfiguration": {"kmsKey": KEY}}


def test_named_queries_prune_by_partition() -> None:
    queries = _graph().by_type("aws:athena/namedQuery:NamedQuery")
    assert sorted(q.inputs["name"] for q in queries) == sorted(q.name for q in QUERIES)
    for query in queries:
        assert query.inputs["database"] == "container_audit_dev"
        assert query.inputs["workgroup"] == "container-audit-dev"
        text = query.inputs["query"]
        assert re.search(r"\btag (= \?|IN \(\?, \?\))\n  AND day BETWEEN \? AND \?", text), text


def test_no_auditor_role_without_principals() -> None:
    assert _graph(principals=()).by_type("aws:iam/role:Role") == []


def _auditor_policy(kms: bool = True) -> dict[str, Any]:
    graph = _graph(kms=kms)
    trust = policy_document(graph.one("aws:iam/role:Role"), "assumeRolePolicy")
    assert trust["Statement"][0]["Principal"] == {"AWS": [PRINCIPAL]}
    return policy_document(graph.one("aws:iam/rolePolicy:RolePolicy"))


WORKGROUP_ARN = "arn:aws:athena:eu-west-1:123456789012:workgroup/container-audit-dev"
GLUE = "arn:aws:glue:eu-west-1:123456789012"
S3_VIA = {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}
MUST = [
    Request("athena:StartQueryExecution", WORKGROUP_ARN),
    Request("athena:GetQueryResults", WORKGROUP_ARN),
    Request("athena:GetNamedQuery", WORKGROUP_ARN),
    Request("glue:GetTable", f"{GLUE}:table/container_audit_dev/audit_events"),
    Request("glue:GetDatabase", f"{GLUE}:database/container_audit_dev"),
    Request("glue:GetPartitions", f"{GLUE}:catalog"),
    Request("s3:GetObject", f"{BUCKET_ARN}/{PREFIX}audit.syslog/2026/11/30/07/0509-x.jsonl.gz"),
    Request("s3:ListBucket", BUCKET_ARN, context={"s3:prefix": f"{PREFIX}audit.syslog/"}),
    Request("s3:GetBucketLocation", BUCKET_ARN),
    Request("kms:Decrypt", KEY, context=S3_VIA),
]
MUST_NOT = [
    Request("athena:StartQueryExecution", WORKGROUP_ARN.replace("container-audit-dev", "other")),
    Request("athena:DeleteNamedQuery", WORKGROUP_ARN),
    Request("athena:UpdateWorkGroup", WORKGROUP_ARN),
    Request("glue:GetTable", f"{GLUE}:table/container_audit_dev/other"),
    Request("glue:DeleteTable", f"{GLUE}:table/container_audit_dev/audit_events"),
    Request("s3:GetObject", f"{BUCKET_ARN}/other/secret.txt"),
    Request("s3:ListBucket", BUCKET_ARN, context={"s3:prefix": "other/"}),
    Request("s3:PutObject", f"{BUCKET_ARN}/{PREFIX}x"),
    Request("s3:DeleteObject", f"{BUCKET_ARN}/{PREFIX}x"),
    Request("kms:Decrypt", KEY, context={"kms:ViaService": "ec2.eu-west-1.amazonaws.com"}),
    Request("kms:Decrypt", KEY),
    Request("kms:Encrypt", KEY, context=S3_VIA),
]


@pytest.mark.parametrize("request_", MUST, ids=lambda r: r.action)
def test_auditor_may(request_: Request) -> None:
    assert evaluate(request_, [_auditor_policy()]).decision == "allow"


@pytest.mark.parametrize("request_", MUST_NOT, ids=lambda r: r.action)
def test_auditor_may_not(request_: Request) -> None:
    assert evaluate(request_, [_auditor_policy()]).decision == "implicit-deny"


def test_auditor_has_no_action_beyond_reading_on_any_of_its_resources() -> None:
    document = _auditor_policy()
    resources = sorted({r for s in document["Statement"] for r in s["Resource"]})
    write_like = re.compile(r"^(Put|Delete|Create|Update|Tag|Untag|Batch(Create|Delete|Update))")
    for action in sorted(all_actions()):
        if not write_like.match(action.split(":", 1)[1]):
            continue
        for resource in resources:
            context = {"kms:ViaService": "s3.eu-west-1.amazonaws.com", "s3:prefix": PREFIX}
            decision = evaluate(Request(action, resource, context=context), [document])
            assert decision.decision != "allow", (action, resource)


def test_without_kms_no_key_statement() -> None:
    document = json.dumps(_auditor_policy(kms=False))
    assert "kms:" not in document
