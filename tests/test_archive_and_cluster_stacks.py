"""Many clusters, one archive: archive stacks, cluster stacks that reference them, and what
the offline plan shows of both (issue #16's "done when")."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from components.archive.reference import (
    ArchiveReferenceArgs,
    ArchiveReferenceError,
    registration_of,
)
from components.config import ConfigError
from tests.conftest import stack_graph
from tooling.engine import REPO_ROOT, StackFileError, load_stack_file, run_stack
from tooling.graph import ResourceGraph
from tooling.plan import EXIT_INPUT, EXIT_OK, main, policy_config_for

PAIRS = [("staging", "archive-staging"), ("prod", "archive-prod")]


def _fluent_bit_config(graph: ResourceGraph) -> str:
    [configmap] = [
        r
        for r in graph.by_type("kubernetes:core/v1:ConfigMap")
        if "fluent-bit.yaml" in (r.inputs.get("data") or {})
    ]
    return str(configmap.inputs["data"]["fluent-bit.yaml"])


@pytest.mark.parametrize(("cluster", "archive"), PAIRS)
def test_a_cluster_plan_shows_the_archives_bucket_and_its_own_prefix(
    cluster: str, archive: str
) -> None:
    cluster_graph, archive_graph = stack_graph(cluster), stack_graph(archive)
    bucket = archive_graph.stack_outputs["bucketName"]
    prefix = f"audit/{cluster}/"
    assert cluster_graph.stack_outputs["bucketName"] == bucket
    assert cluster_graph.stack_outputs["logPrefix"] == prefix
    config = _fluent_bit_config(cluster_graph)
    assert f"bucket: {bucket}" in config
    assert f"s3_key_format: /{prefix}" in config
    [reference] = cluster_graph.by_type("pulumi:pulumi:StackReference")
    assert reference.read and reference.name == archive


@pytest.mark.parametrize(("cluster", "archive"), PAIRS)
def test_the_cluster_creates_the_writer_role_the_archive_granted(
    cluster: str, archive: str
) -> None:
    granted = stack_graph(archive).stack_outputs["clusters"][cluster]
    assert granted["writerRoleName"] == f"container-audit-log-writer-{cluster}"
    cluster_graph = stack_graph(cluster)
    assert cluster_graph.stack_outputs["agentRoleArn"] == granted["writerRoleArn"]
    role_policy = json.loads(cluster_graph.one("aws:iam/rolePolicy:RolePolicy").inputs["policy"])
    bucket_arn = stack_graph(archive).stack_outputs["bucketArn"]
    writes = [s for s in role_policy["Statement"] if s["Action"] == ["s3:PutObject"]]
    assert [s["Resource"] for s in writes] == [[f"{bucket_arn}/audit/{cluster}/*"]]


@pytest.mark.parametrize(("cluster", "archive"), PAIRS)
def test_destroying_a_cluster_stack_touches_nothing_of_the_archive(
    cluster: str, archive: str
) -> None:
    cluster_graph, archive_graph = stack_graph(cluster), stack_graph(archive)
    deleted, kept = cluster_graph.destroy_plan()
    assert kept == []
    archive_ids = {
        str(value)
        for r in archive_graph.resources
        for key, value in r.outputs.items()
        if key in ("arn", "bucket", "keyId") and value
    }
    touched = {
        str(value)
        for r in deleted
        for key, value in r.outputs.items()
        if key in ("arn", "bucket", "keyId") and value
    }
    assert touched.isdisjoint(archive_ids)
    assert not [r for r in deleted if r.type.startswith("aws:s3/")]
    assert all(not r.read for r in deleted)
    assert "(another stack's: untouched)" in _destroy_text(cluster_graph)


def _destroy_text(graph: ResourceGraph) -> str:
    from tooling.artifacts import destroy_text

    return destroy_text(graph)


@pytest.mark.parametrize("archive", ["archive-staging", "archive-prod"])
def test_an_archive_is_protected_and_its_data_retained(archive: str) -> None:
    graph = stack_graph(archive)
    # What holds audit records (tagged so): the archive's and the replica's bucket and key.
    holders = [
        r
        for r in graph.resources
        if r.type in ("aws:s3/bucket:Bucket", "aws:kms/key:Key")
        and (r.inputs.get("tags") or {}).get("data") == "audit-archive"
    ]
    assert len(holders) == (4 if archive == "archive-prod" else 2)
    assert holders and all(r.protect and r.retain_on_delete for r in holders)
    # Everything of the archive and its replica is protected (the query layer may be
    # replaced: it holds no records).
    archive_parts = [r for r in graph.resources if "container-audit-log:storage:" in r.urn]
    assert archive_parts and all(r.protect for r in archive_parts)
    _, kept = graph.destroy_plan()
    assert {r.type for r in kept} == {"aws:s3/bucket:Bucket", "aws:kms/key:Key"}
    assert "refused:" in _destroy_text(graph)


def test_the_prod_archive_is_replicated_with_its_own_key_lock_and_denies() -> None:
    graph = stack_graph("archive-prod")
    [rule] = graph.one("aws:s3/bucketReplicationConfig:BucketReplicationConfig").inputs["rules"]
    keys = {k.name: k.outputs["arn"] for k in graph.by_type("aws:kms/key:Key")}
    assert (
        rule["destination"]["encryptionConfiguration"]["replicaKmsKeyId"]
        == (keys["audit-log-replica-key"])
    )
    assert keys["audit-log-replica-key"] != keys["audit-log-key"]
    assert ":eu-central-1:" in keys["audit-log-replica-key"]
    assert rule["deleteMarkerReplication"] == {"status": "Disabled"}
    policies = {
        r.name: json.loads(r.inputs["policy"])
        for r in graph.by_type("aws:s3/bucketPolicy:BucketPolicy")
    }
    replica = {s["Sid"]: s for s in policies["audit-log-replica-policy"]["Statement"]}
    assert {"DenyInsecureTransport", "DenyForeignKmsKeys", "DenyDirectWrites"} <= set(replica)
    assert replica["DenyDirectWrites"]["Principal"] == "*"
    locks = graph.by_type("aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration")
    assert len(locks) == 2
    role = json.loads(
        next(
            r for r in graph.by_type("aws:iam/rolePolicy:RolePolicy") if "replica" in r.name
        ).inputs["policy"]
    )
    actions = {a for s in role["Statement"] for a in _list(s["Action"])}
    assert "s3:PutObject" not in actions and not any(a.endswith("*") for a in actions)


def _list(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _copy_stacks(tmp_path: Path) -> Path:
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    for path in REPO_ROOT.glob("Pulumi.*.yaml"):
        shutil.copy(path, stacks)
    return stacks


def test_a_second_cluster_is_one_stack_file_and_one_line(tmp_path: Path) -> None:
    stacks = _copy_stacks(tmp_path)
    # The one line in the archive's config:
    archive = stacks / "Pulumi.archive-prod.yaml"
    text = archive.read_text()
    assert text.count("      - stack: prod\n") == 1
    archive.write_text(
        text.replace("      - stack: prod\n", "      - stack: prod\n      - stack: prod-eu2\n")
    )
    # The one stack file: prod's, in another region, writing to the same archive.
    document = yaml.safe_load((stacks / "Pulumi.prod.yaml").read_text())
    config = document["config"]
    config["aws:region"] = "eu-west-2"
    config["container-audit-log:environment"] = "prod"
    config["container-audit-log:archiveRegion"] = "eu-west-1"
    config["container-audit-log:cluster"]["name"] = "audit-log-prod-eu2"
    del config["container-audit-log:logPrefix"]  # unset: audit/prod-eu2/, as the archive assigns
    for route in config["container-audit-log:agent"]["routes"]:
        route.pop("awsRegion", None)
    config["container-audit-log:agent"]["routes"] = [
        r for r in config["container-audit-log:agent"]["routes"] if r["type"] == "s3"
    ]
    (stacks / "Pulumi.prod-eu2.yaml").write_text(yaml.safe_dump(document))

    build = tmp_path / "build"
    # prod-eu2 has no policy config of its own: it takes its environment's (prod.json), and
    # iam-agent-least-privilege judges its role against the prefix the archive registered
    # for it (audit/prod-eu2/), not prod's.
    code = main(["--all", "--stacks-dir", str(stacks), "--build-dir", str(build)])
    assert code == EXIT_OK, (build / "prod-eu2" / "policy.txt").read_text()
    assert policy_config_for("prod-eu2", stacks).name == "prod.json"
    assert "0 violations: PASS" in (build / "prod-eu2" / "policy.txt").read_text()

    graph = ResourceGraph.load(build / "prod-eu2" / "resources.json")
    archive_graph = ResourceGraph.load(build / "archive-prod" / "resources.json")
    assert graph.stack_outputs["logPrefix"] == "audit/prod-eu2/"
    assert graph.stack_outputs["bucketName"] == archive_graph.stack_outputs["bucketName"]
    assert graph.stack_outputs["agentRoleArn"].endswith(":role/container-audit-log-writer-prod-eu2")
    config_text = _fluent_bit_config(graph)
    assert "s3_key_format: /audit/prod-eu2/" in config_text
    assert "region: eu-west-1" in config_text  # the archive's region, not the cluster's
    bucket_policy = (
        build / "archive-prod" / "aws" / "s3-bucket-policy-audit-log-policy.json"
    ).read_text()
    assert "container-audit-log-writer-prod-eu2" in bucket_policy
    assert "audit/prod-eu2/*" in bucket_policy
    # prod's own resources did not change by adding a cluster beside it (only what its
    # StackReference reads does: the archive's list of clusters).
    assert _created(ResourceGraph.load(build / "prod" / "resources.json")) == _created(
        stack_graph("prod")
    )


def _created(graph: ResourceGraph) -> dict[str, object]:
    return {r.urn: r.inputs for r in graph.resources if not r.read}


def test_an_unregistered_cluster_fails_with_the_line_to_add(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stacks = _copy_stacks(tmp_path)
    text = (stacks / "Pulumi.prod.yaml").read_text()
    (stacks / "Pulumi.prod-eu9.yaml").write_text(
        text.replace("  container-audit-log:logPrefix: audit/prod/\n", "")
        + "  container-audit-log:environment: prod\n"
    )
    code = main(["--stack", "prod-eu9", "--stacks-dir", str(stacks), "--build-dir", str(tmp_path)])
    assert code == EXIT_INPUT
    [line] = capsys.readouterr().err.splitlines()
    assert line == (
        "plan prod-eu9: archive stack 'archive-prod' does not register cluster 'prod-eu9': add "
        "`- stack: prod-eu9` to container-audit-log:archive.clusters in "
        "Pulumi.archive-prod.yaml and update it first"
    )


def test_a_prefix_that_disagrees_with_the_archive_fails(tmp_path: Path) -> None:
    stacks = _copy_stacks(tmp_path)
    path = stacks / "Pulumi.prod.yaml"
    path.write_text(path.read_text().replace("logPrefix: audit/prod/", "logPrefix: audit/other/"))
    with pytest.raises(
        ArchiveReferenceError, match=r"assigns cluster 'prod' the prefix 'audit/prod/'"
    ):
        run_stack("prod", stacks)


def test_a_writer_registered_for_another_account_fails_before_anything_is_created(
    tmp_path: Path,
) -> None:
    stacks = _copy_stacks(tmp_path)
    path = stacks / "Pulumi.archive-prod.yaml"
    text = path.read_text()
    path.write_text(
        text.replace(
            "      - stack: prod\n", '      - stack: prod\n        account: "222222222222"\n'
        )
    )
    with pytest.raises(ArchiveReferenceError) as caught:
        run_stack("prod", stacks)
    assert str(caught.value) == (
        "archive stack 'archive-prod' expects cluster 'prod''s writer role in account "
        "222222222222, but this stack deploys to account 123456789012: set "
        '`account: "123456789012"` on its line in Pulumi.archive-prod.yaml'
    )
    # The archive itself grants that account's writer role, through its account principal.
    archive = run_stack("archive-prod", stacks)
    [key_policy] = [
        r
        for r in archive.by_type("aws:kms/keyPolicy:KeyPolicy")
        if r.name == "audit-log-key-policy"
    ]
    policy = json.loads(key_policy.inputs["policy"])
    writer = next(s for s in policy["Statement"] if s["Sid"] == "AllowWriter0DataKeysThroughS3")
    assert writer["Principal"] == {"AWS": "arn:aws:iam::222222222222:root"}


def test_the_program_itself_checks_its_registration() -> None:
    # What `pulumi preview` runs: the same check, on the StackReference's outputs.
    clusters = stack_graph("archive-prod").stack_outputs["clusters"]
    args = ArchiveReferenceArgs("acme/container-audit-log/archive-prod", "prod", "audit/prod/")
    assert registration_of(clusters, args).writer_role_name == "container-audit-log-writer-prod"
    with pytest.raises(ArchiveReferenceError, match="does not register cluster 'prod'"):
        registration_of({}, args)
    with pytest.raises(ArchiveReferenceError, match="but this stack deploys to account 999"):
        registration_of(clusters, args, "999999999999")


def test_a_cluster_in_another_region_must_say_where_its_archive_is(tmp_path: Path) -> None:
    stacks = _copy_stacks(tmp_path)
    path = stacks / "Pulumi.prod.yaml"
    path.write_text(path.read_text().replace("aws:region: eu-west-1", "aws:region: eu-west-2"))
    with pytest.raises(ArchiveReferenceError) as caught:
        run_stack("prod", stacks)
    assert str(caught.value) == (
        "archive stack 'archive-prod' is in region eu-west-1, but this stack's agent would "
        "write to eu-west-2 (archiveRegion, unset: the stack's region): set "
        "container-audit-log:archiveRegion: eu-west-1"
    )


def test_plan_all_plans_archives_first_and_a_single_cluster_plan_follows_its_reference(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--order"]) == EXIT_OK
    order = capsys.readouterr().out.split()
    assert order[:2] == ["archive-prod", "archive-staging"]
    assert main(["--stack", "staging", "--build-dir", str(tmp_path)]) == EXIT_OK
    assert (tmp_path / "staging" / "resources.json").is_file()
    assert not (tmp_path / "archive-staging").exists()  # planned in memory only


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"container-audit-log:archiveStack": None}, "stackKind 'cluster' needs archiveStack"),
        (
            {"container-audit-log:bucket": '{"forceDestroy": true}'},
            "bucket is set in a cluster stack",
        ),
        ({"container-audit-log:query": '{"enabled": false}'}, "query is set in a cluster stack"),
        (
            {"container-audit-log:archiveStack": "org/project/../x"},
            "archiveStack 'org/project/../x' must name a stack",
        ),
    ],
)
def test_cluster_stack_config_mistakes_are_one_line(
    overrides: dict[str, str | None], message: str
) -> None:
    from components.config import load_stack_config

    raw, _ = load_stack_file("prod")
    for key, value in overrides.items():
        if value is None:
            raw.pop(key)
        else:
            raw[key] = value
    with pytest.raises(ConfigError) as caught:
        load_stack_config(raw, "prod")
    assert message in str(caught.value)
    assert len(str(caught.value).splitlines()) == 1


@pytest.mark.parametrize(
    ("archive", "message"),
    [
        ({"clusters": [{"stack": "prod"}, {"stack": "prod"}]}, "lists stack 'prod' twice"),
        (
            {
                "clusters": [
                    {"stack": "a", "prefix": "audit/x/"},
                    {"stack": "b", "prefix": "audit/x/y/"},
                ]
            },
            "overlaps",
        ),
        (
            {
                "clusters": [
                    {
                        "stack": "a",
                        "roleArn": "arn:aws:iam::222222222222:role/w",
                        "account": "222222222222",
                    }
                ]
            },
            "roleArn, or account and roleName, not both",
        ),
        ({"clusters": [{"stack": "a", "prefix": "logs/a/"}]}, "outside logPrefix 'audit/'"),
        ({"replication": {"enabled": True}}, "replication.region is required"),
        (
            {"replication": {"enabled": True, "region": "eu-central-1", "account": "222222222222"}},
            "set replication.providerRoleArn",
        ),
    ],
)
def test_archive_stack_config_mistakes_are_one_line(
    archive: dict[str, object], message: str
) -> None:
    from components.config import load_archive_config

    raw, _ = load_stack_file("archive-prod")
    raw["container-audit-log:archive"] = json.dumps(archive)
    with pytest.raises(ConfigError) as caught:
        load_archive_config(raw, "archive-prod")
    assert message in str(caught.value)
    assert str(caught.value).startswith("Pulumi.archive-prod.yaml: container-audit-log:")
    assert len(str(caught.value).splitlines()) == 1


def test_a_combined_stack_is_not_given_an_archive_stack() -> None:
    from components.config import load_stack_config

    raw, _ = load_stack_file("dev")
    raw["container-audit-log:archiveStack"] = "archive-prod"
    with pytest.raises(ConfigError, match="only apply to stackKind 'cluster'"):
        load_stack_config(raw, "dev")


def test_an_archive_stack_file_is_refused_where_a_cluster_is_needed() -> None:
    from components.config import load_stack_config

    raw, _ = load_stack_file("archive-prod")
    with pytest.raises(ConfigError, match="archive-prod is an archive stack"):
        load_stack_config(raw, "archive-prod")


def test_a_stack_file_referencing_itself_is_refused(tmp_path: Path) -> None:
    stacks = _copy_stacks(tmp_path)
    path = stacks / "Pulumi.prod.yaml"
    path.write_text(path.read_text().replace("archiveStack: archive-prod", "archiveStack: prod"))
    with pytest.raises(StackFileError, match="references itself"):
        run_stack("prod", stacks)
