"""The IAM evaluator against the AWS documentation's own examples and this project's policies.

Pages cited are from the AWS IAM User Guide (docs.aws.amazon.com/IAM/latest/UserGuide/):
"Condition operators" is reference_policies_elements_condition_operators, "Multivalued
context keys" is reference_policies_condition-single-vs-multi-valued-context-keys and its
examples page, "NotPrincipal" is reference_policies_elements_notprincipal, "Policy evaluation"
is reference_policies_evaluation-logic, "Cross-account" is
reference_policies_evaluation-logic-cross-account.
"""

from __future__ import annotations

from typing import Any

import pytest

from components.archive.policies import bucket_policy_document
from components.archive.settings import BucketSettings
from policy.policies.iam_eval import (
    ACTIONS,
    Request,
    all_actions,
    condition_holds,
    evaluate,
    evaluate_identity,
    evaluate_resource,
    expand_actions,
    statement_applies,
)

ACCOUNT = "111122223333"


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def decision_of(policy: dict[str, Any], request: Request) -> str:
    return evaluate_identity([policy], request).decision


# --- Condition operators page ----------------------------------------------------------

RUN_INSTANCES_ON_AN_IMAGE = Request("ec2:RunInstances", "arn:aws:ec2:us-east-1::image/ami-1")


def _run_instances(operator: str) -> dict[str, Any]:
    return doc(
        {
            "Sid": "RunInstance",
            "Effect": "Allow",
            "Action": "ec2:RunInstances",
            "Resource": "*",
            "Condition": {operator: {"ec2:InstanceType": ["t1.*", "t2.*", "m3.*"]}},
        }
    )


def test_stringlike_without_ifexists_denies_resources_lacking_the_key() -> None:
    """Condition operators, "...IfExists": THISPOLICYDOESNOTWORK grants nothing on an image."""
    assert decision_of(_run_instances("StringLike"), RUN_INSTANCES_ON_AN_IMAGE) == "implicit-deny"


def test_ifexists_lets_an_absent_key_match_and_still_checks_a_present_one() -> None:
    """Condition operators, "...IfExists": StringLikeIfExists on ec2:InstanceType."""
    policy = _run_instances("StringLikeIfExists")
    instance = "arn:aws:ec2:us-east-1:111122223333:instance/*"
    t2 = Request("ec2:RunInstances", instance, context={"ec2:InstanceType": "t2.micro"})
    m5 = Request("ec2:RunInstances", instance, context={"ec2:InstanceType": "m5.large"})
    assert evaluate_identity([policy], RUN_INSTANCES_ON_AN_IMAGE).statements == ("RunInstance",)
    assert decision_of(policy, t2) == "allow"
    assert decision_of(policy, m5) == "implicit-deny"


def test_absent_key_fails_positive_operators_and_satisfies_negated_ones() -> None:
    """Condition operators, "Important": absent key is false, true for StringNotLike/ArnNotLike."""
    assert not condition_holds("StringEquals", "aws:PrincipalTag/job-category", "x", {})
    assert not condition_holds("ArnLike", "aws:SourceArn", "arn:aws:sns:*:*:*", {})
    assert condition_holds("StringNotEquals", "aws:PrincipalTag/job-category", "x", {})
    assert condition_holds("StringNotLike", "s3:prefix", "home/*", {})
    assert condition_holds("ArnNotLike", "aws:SourceArn", "arn:aws:sns:*:*:*", {})


def test_null_true_means_absent_and_false_means_present() -> None:
    """Condition operators, "Null": aws:TokenIssueTime must not exist to use the EC2 API."""
    policy = doc(
        {
            "Action": "ec2:*",
            "Effect": "Allow",
            "Resource": "*",
            "Condition": {"Null": {"aws:TokenIssueTime": "true"}},
        }
    )
    long_term = Request("ec2:DescribeInstances", "*")
    temporary = Request("ec2:DescribeInstances", "*", context={"aws:TokenIssueTime": "2024-05-01"})
    assert decision_of(policy, long_term) == "allow"
    assert decision_of(policy, temporary) == "implicit-deny"
    assert condition_holds("Null", "aws:TokenIssueTime", "false", temporary.context)
    assert not condition_holds("Null", "aws:TokenIssueTime", False, long_term.context)


def test_date_greater_than_on_token_issue_time() -> None:
    """Condition operators, "Date": credentials issued in 2020 or later; an IAM user is denied."""
    policy = doc(
        {
            "Effect": "Allow",
            "Action": "iam:*AccessKey*",
            "Resource": f"arn:aws:iam::{ACCOUNT}:user/*",
            "Condition": {"DateGreaterThan": {"aws:TokenIssueTime": "2020-01-01T00:00:01Z"}},
        }
    )
    user = f"arn:aws:iam::{ACCOUNT}:user/ana"

    def issued(when: str | None) -> Request:
        context = {} if when is None else {"aws:TokenIssueTime": when}
        return Request("iam:CreateAccessKey", user, context=context)

    assert decision_of(policy, issued("2021-06-01T12:00:00Z")) == "allow"
    assert decision_of(policy, issued("1609459200")) == "allow"  # epoch seconds: 2021-01-01
    assert decision_of(policy, issued("2019-12-31T23:59:59Z")) == "implicit-deny"
    assert decision_of(policy, issued(None)) == "implicit-deny"


def test_bool_secure_transport_deny() -> None:
    """Condition operators, "Boolean": BooleanExample denies S3 over plain HTTP."""
    policy = doc(
        {
            "Sid": "BooleanExample",
            "Action": "s3:*",
            "Effect": "Deny",
            "Resource": ["arn:aws:s3:::DOC-EXAMPLE-BUCKET", "arn:aws:s3:::DOC-EXAMPLE-BUCKET/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    )
    obj = "arn:aws:s3:::DOC-EXAMPLE-BUCKET/a.txt"
    http = Request("s3:GetObject", obj, context={"aws:SecureTransport": False})
    https = Request("s3:GetObject", obj, context={"aws:SecureTransport": "true"})
    assert evaluate_identity([policy], http).statements == ("BooleanExample",)
    assert decision_of(policy, http) == "explicit-deny"
    assert decision_of(policy, https) == "implicit-deny"  # the policy allows nothing itself


def test_numeric_less_than_equals_on_max_keys() -> None:
    """Condition operators, "Numeric": s3:max-keys up to 10."""
    policy = doc(
        {
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": "arn:aws:s3:::example_bucket",
            "Condition": {"NumericLessThanEquals": {"s3:max-keys": "10"}},
        }
    )
    listing = "arn:aws:s3:::example_bucket"
    assert decision_of(policy, Request("s3:ListBucket", listing, context={"s3:max-keys": 10})) == (
        "allow"
    )
    assert decision_of(
        policy, Request("s3:ListBucket", listing, context={"s3:max-keys": "11"})
    ) == ("implicit-deny")


def test_ip_address_ranges_ipv4_and_ipv6() -> None:
    """Condition operators, "IP address": 203.0.113.0/24 and 2001:DB8:1234:5678::/64."""
    ranges = ["203.0.113.0/24", "2001:DB8:1234:5678::/64"]
    for inside in ("203.0.113.7", "2001:db8:1234:5678::1"):
        assert condition_holds("IpAddress", "aws:SourceIp", ranges, {"aws:SourceIp": inside})
    assert not condition_holds(
        "IpAddress", "aws:SourceIp", ranges, {"aws:SourceIp": "198.51.100.1"}
    )
    assert condition_holds("NotIpAddress", "aws:SourceIp", ranges, {"aws:SourceIp": "198.51.100.1"})


def test_arnlike_matches_each_colon_part_where_stringlike_spans_them() -> None:
    """Condition operators, "ARN": the someservice example succeeds with StringLike only."""
    pattern = "arn:aws:someservice:*:111122223333:finance/*"
    context = {
        "aws:SourceArn": "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:"
        "finance/document.txt"
    }
    assert condition_holds("StringLike", "aws:SourceArn", pattern, context)
    assert not condition_holds("ArnLike", "aws:SourceArn", pattern, context)


def test_account_principal_and_arn_equals_on_source_arn() -> None:
    """Condition operators, "ARN": SQS queue policy for an SNS topic; a direct call is denied."""
    queue = "arn:aws:sqs:us-east-1:123456789012:QUEUE-ID"
    topic = "arn:aws:sns:us-east-1:123456789012:TOPIC-ID"
    policy = doc(
        {
            "Effect": "Allow",
            "Principal": {"AWS": "123456789012"},
            "Action": "SQS:SendMessage",
            "Resource": queue,
            "Condition": {"ArnEquals": {"aws:SourceArn": topic}},
        }
    )
    user = "arn:aws:iam::123456789012:user/direct"
    on_behalf = Request("sqs:SendMessage", queue, principal=user, context={"aws:SourceArn": topic})
    assert evaluate_resource(policy, on_behalf).decision == "allow"
    assert evaluate_resource(policy, Request("sqs:SendMessage", queue, user)).decision == (
        "implicit-deny"
    )
    stranger = Request(
        "sqs:SendMessage", queue, "arn:aws:iam::999999999999:user/x", context=on_behalf.context
    )
    assert evaluate_resource(policy, stranger).decision == "implicit-deny"


def test_context_key_names_are_case_insensitive_values_are_not() -> None:
    """Condition element page: aws:SourceIP is AWS:SourceIp; StringEquals john is not John."""
    assert condition_holds("IpAddress", "aws:SourceIP", "10.0.0.0/8", {"AWS:SourceIp": "10.1.2.3"})
    assert not condition_holds("StringEquals", "aws:username", "john", {"aws:username": "John"})
    assert condition_holds(
        "StringEqualsIgnoreCase", "aws:username", "john", {"aws:username": "John"}
    )
    assert not condition_holds(
        "StringNotEqualsIgnoreCase", "aws:username", "john", {"aws:username": "John"}
    )


def test_keys_are_anded_values_ored_and_a_negated_operator_needs_none_to_match() -> None:
    """Condition with multiple context keys or values: keys ANDed, values ORed."""
    statement = {
        "Effect": "Allow",
        "Action": "s3:GetObject",
        "Resource": "*",
        "Condition": {
            "StringEquals": {"aws:PrincipalTag/team": ["red", "blue"]},
            "StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]},
        },
    }

    def applies(team: str, region: str) -> bool:
        context = {"aws:PrincipalTag/team": team, "aws:RequestedRegion": region}
        return statement_applies(
            statement, Request("s3:GetObject", "x", context=context), resource_based=False
        )

    assert applies("blue", "us-west-2")
    assert not applies("green", "us-west-2")  # no value of the first key matches
    assert not applies("red", "eu-west-1")  # the negated key matched one of its values


# --- Multivalued context keys ------------------------------------------------------------


@pytest.mark.parametrize(
    ("tag_keys", "denied"),
    [
        (["key1:legal"], False),
        (["key1:hr", "key1:personnel"], False),
        (["key2:audit"], True),
        ([], True),
        (None, True),  # "No aws:TagKeys in the request context": Match
    ],
)
def test_forallvalues_deny_restricted_tags_table(tag_keys: list[str] | None, denied: bool) -> None:
    """Multivalued context keys examples: DenyRestrictedTags with ForAllValues:StringNotLike."""
    policy = doc(
        {
            "Sid": "DenyRestrictedTags",
            "Effect": "Deny",
            "Action": ["iam:Tag*", "iam:UnTag*"],
            "Resource": ["*"],
            "Condition": {"ForAllValues:StringNotLike": {"aws:TagKeys": "key1*"}},
        }
    )
    context: dict[str, list[str]] = {} if tag_keys is None else {"aws:TagKeys": tag_keys}
    request = Request("iam:TagRole", f"arn:aws:iam::{ACCOUNT}:role/r", context=context)
    assert (decision_of(policy, request) == "explicit-deny") is denied


def test_forallvalues_is_true_and_foranyvalue_false_on_an_empty_or_absent_set() -> None:
    """Multivalued context keys: ForAllValues returns true with no key, ForAnyValue false."""
    nothing: list[dict[str, list[str]]] = [{}, {"aws:TagKeys": []}]
    for context in nothing:
        assert condition_holds("ForAllValues:StringEquals", "aws:TagKeys", "a", context)
        assert not condition_holds("ForAnyValue:StringEquals", "aws:TagKeys", "a", context)
    some = {"aws:TagKeys": ["a", "b"]}
    assert condition_holds("ForAnyValue:StringEquals", "aws:TagKeys", ["b", "c"], some)
    assert not condition_holds("ForAllValues:StringEquals", "aws:TagKeys", ["b", "c"], some)
    assert condition_holds("ForAllValues:StringEquals", "aws:TagKeys", ["a", "b", "c"], some)
    assert condition_holds("ForAnyValue:StringEqualsIfExists", "aws:TagKeys", "a", {})


# --- Principals and evaluation logic -----------------------------------------------------

BOB = "arn:aws:iam::444455556666:user/Bob"
BUCKET = "arn:aws:s3:::BUCKETNAME"


def _deny_all_but(*names: str) -> dict[str, Any]:
    return doc(
        {
            "Effect": "Deny",
            "NotPrincipal": {"AWS": list(names)},
            "Action": "s3:*",
            "Resource": [BUCKET, f"{BUCKET}/*"],
        }
    )


def test_notprincipal_with_deny_denies_everyone_but_the_named_user_and_account() -> None:
    """NotPrincipal: Deny with NotPrincipal naming Bob and his account's root."""
    policy = _deny_all_but(BOB, "arn:aws:iam::444455556666:root")
    obj = f"{BUCKET}/report.csv"
    assert evaluate_resource(policy, Request("s3:GetObject", obj, BOB)).decision == "implicit-deny"
    alice = Request("s3:GetObject", obj, "arn:aws:iam::444455556666:user/Alice")
    assert evaluate_resource(policy, alice).decision == "explicit-deny"
    assert evaluate_resource(policy, Request("s3:GetObject", obj)).decision == "explicit-deny"


def test_notprincipal_without_the_account_denies_the_named_user_too() -> None:
    """NotPrincipal: without the account ARN, the policy may deny the whole account (Bob too)."""
    policy = _deny_all_but(BOB)
    request = Request("s3:GetObject", f"{BUCKET}/report.csv", BOB)
    assert evaluate_resource(policy, request).decision == "explicit-deny"


ROLE = "arn:aws:iam::444455556666:role/cross-account-read-only-role"
SESSION = "arn:aws:sts::444455556666:assumed-role/cross-account-read-only-role/session"


def test_a_role_session_is_named_by_its_role_in_principal() -> None:
    """Principal element, "IAM role principals": a role ARN covers the role's sessions."""
    policy = doc({"Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "s3:*", "Resource": "*"})
    assert evaluate_resource(policy, Request("s3:GetObject", "x", SESSION)).decision == "allow"
    other = SESSION.replace("cross-account-read-only-role", "other-role")
    assert evaluate_resource(policy, Request("s3:GetObject", "x", other)).decision == (
        "implicit-deny"
    )


def test_notprincipal_must_name_account_role_and_session_of_an_assumed_role() -> None:
    """NotPrincipal: for a role session name the account, the role and the session."""
    every_link = _deny_all_but("arn:aws:iam::444455556666:root", ROLE, SESSION)
    no_session = _deny_all_but("arn:aws:iam::444455556666:root", ROLE)
    request = Request("s3:GetObject", f"{BUCKET}/report.csv", SESSION)
    assert evaluate_resource(every_link, request).decision == "implicit-deny"
    assert evaluate_resource(no_session, request).decision == "explicit-deny"


CARLOS = f"arn:aws:iam::{ACCOUNT}:user/carlossalazar"
CARLOS_POLICY = doc(
    {
        "Sid": "AllowS3ListRead",
        "Effect": "Allow",
        "Action": ["s3:ListAllMyBuckets", "s3:HeadBucket"],
        "Resource": "*",
    },
    {
        "Sid": "AllowS3Self",
        "Effect": "Allow",
        "Action": "s3:*",
        "Resource": ["arn:aws:s3:::carlossalazar/*", "arn:aws:s3:::carlossalazar"],
    },
    {
        "Sid": "DenyS3Logs",
        "Effect": "Deny",
        "Action": "s3:*",
        "Resource": ["arn:aws:s3:::*log*", "arn:aws:s3:::*log*/*"],
    },
)
CARLOS_BUCKET_POLICY = doc(
    {"Effect": "Allow", "Action": "s3:*", "Principal": {"AWS": CARLOS}, "Resource": "*"}
)


def test_explicit_deny_beats_every_allow() -> None:
    """Policy evaluation, example evaluation: Carlos saving to carlossalazar-logs is denied."""
    to_logs = Request("s3:PutObject", "arn:aws:s3:::carlossalazar-logs/f.txt", CARLOS)
    result = evaluate(to_logs, [CARLOS_POLICY], CARLOS_BUCKET_POLICY)
    assert result.decision == "explicit-deny"
    assert result.statements == ("DenyS3Logs",)
    to_own = Request("s3:PutObject", "arn:aws:s3:::carlossalazar/f.txt", CARLOS)
    assert evaluate(to_own, [CARLOS_POLICY], CARLOS_BUCKET_POLICY).decision == "allow"


def test_same_account_needs_one_allow_cross_account_needs_both() -> None:
    """Policy evaluation ("either ... allows") and Cross-account ("both must allow")."""
    only_bucket_allows = Request("s3:GetObject", "arn:aws:s3:::shared/f", CARLOS)
    grant = doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::shared/*"})
    assert evaluate(only_bucket_allows, [], CARLOS_BUCKET_POLICY).decision == "allow"
    assert evaluate(only_bucket_allows, [], CARLOS_BUCKET_POLICY, same_account=False).decision == (
        "implicit-deny"
    )
    assert evaluate(only_bucket_allows, [grant], None, same_account=False).decision == (
        "implicit-deny"
    )
    both = evaluate(only_bucket_allows, [grant], CARLOS_BUCKET_POLICY, same_account=False)
    assert both.decision == "allow"
    assert both.statements == ("#0", "#0")


def test_service_and_federated_principals() -> None:
    """Principal element: service and federated principals are named as such."""
    trust = doc(
        {
            "Effect": "Allow",
            "Principal": {"Federated": "arn:aws:iam::111122223333:oidc-provider/oidc.eks"},
            "Action": "sts:AssumeRoleWithWebIdentity",
        }
    )
    role = f"arn:aws:iam::{ACCOUNT}:role/agent"
    oidc = Request(
        "sts:AssumeRoleWithWebIdentity", role, "arn:aws:iam::111122223333:oidc-provider/oidc.eks"
    )
    assert evaluate_resource(trust, oidc).decision == "allow"
    assert evaluate_resource(trust, Request("sts:AssumeRole", role, CARLOS)).decision == (
        "implicit-deny"
    )
    logs = doc(
        {
            "Effect": "Allow",
            "Principal": {"Service": "logging.s3.amazonaws.com"},
            "Action": "s3:PutObject",
            "Resource": "arn:aws:s3:::logs/*",
        }
    )
    assert evaluate_resource(
        logs, Request("s3:PutObject", "arn:aws:s3:::logs/x", "logging.s3.amazonaws.com")
    ).decision == ("allow")


def test_actions_ignore_case_resources_do_not_and_not_elements_invert() -> None:
    """Action element (case-insensitive) and Resource element (case-sensitive) pages."""
    allow = doc({"Effect": "Allow", "Action": "S3:put*", "Resource": "arn:aws:s3:::b/logs/*"})
    assert decision_of(allow, Request("s3:PutObject", "arn:aws:s3:::b/logs/x")) == "allow"
    assert decision_of(allow, Request("s3:PutObject", "arn:aws:s3:::b/Logs/x")) == "implicit-deny"
    everything_else = doc(
        {"Effect": "Allow", "NotAction": "iam:*", "NotResource": "arn:aws:s3:::b/*"}
    )
    assert decision_of(everything_else, Request("s3:GetObject", "arn:aws:s3:::c/x")) == "allow"
    assert decision_of(everything_else, Request("IAM:CreateUser", "*")) == "implicit-deny"
    assert decision_of(everything_else, Request("s3:GetObject", "arn:aws:s3:::b/x")) == (
        "implicit-deny"
    )


# --- this project's bucket policy ----------------------------------------------------------

ARCHIVE = "arn:aws:s3:::audit-log-dev"
OUR_KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/ours"
AGENT = f"arn:aws:iam::{ACCOUNT}:role/audit-log-agent"
AGENT_POLICY = doc(
    {"Sid": "PutAudit", "Effect": "Allow", "Action": "s3:PutObject", "Resource": f"{ARCHIVE}/a/*"}
)
KMS_HEADER = "s3:x-amz-server-side-encryption-aws-kms-key-id"


def _agent_put(**context: str | bool) -> Request:
    return Request(
        "s3:PutObject",
        f"{ARCHIVE}/a/2026/11/30/node-1.gz",
        AGENT,
        ACCOUNT,
        {"aws:SecureTransport": True, **context},
    )


def test_the_pre_fix_deny_foreign_kms_keys_denies_the_agents_uploads() -> None:
    """Regression (issue 12): StringNotEqualsIfExists in a Deny denies when the header is absent.

    Condition operators, "...IfExists": "If you are using an Effect: Deny element with a
    negated condition operator like StringNotEqualsIfExists, the request is still denied even
    if the tag is missing." Fluent Bit relies on the bucket's default encryption and never
    sends the key header, so every upload is denied.
    """
    # The statement as bucket_policy_document wrote it before the fix (kept as a regression case).
    bucket_policy = doc(
        {
            "Sid": "DenyForeignKmsKeys",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": f"{ARCHIVE}/*",
            "Condition": {"StringNotEqualsIfExists": {KMS_HEADER: OUR_KEY}},
        }
    )
    without_header = evaluate(_agent_put(), [AGENT_POLICY], bucket_policy)
    assert without_header.decision == "explicit-deny"
    assert without_header.statements == ("DenyForeignKmsKeys",)
    with_our_key = evaluate(_agent_put(**{KMS_HEADER: OUR_KEY}), [AGENT_POLICY], bucket_policy)
    assert with_our_key.decision == "allow"


def test_the_bucket_policy_allows_the_agents_uploads_and_denies_a_named_foreign_key() -> None:
    bucket_policy = bucket_policy_document(ARCHIVE, OUR_KEY, BucketSettings())
    foreign = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/theirs"
    assert evaluate(_agent_put(), [AGENT_POLICY], bucket_policy).decision == "allow"
    named = _agent_put(**{KMS_HEADER: foreign, "s3:x-amz-server-side-encryption": "aws:kms"})
    denied = evaluate(named, [AGENT_POLICY], bucket_policy)
    assert denied.decision == "explicit-deny" and denied.statements == ("DenyForeignKmsKeys",)


def test_null_false_with_stringnotequals_denies_only_a_named_foreign_key() -> None:
    """The fix for the regression above: deny only a request that names another key."""
    bucket_policy = doc(
        {
            "Sid": "DenyForeignKmsKeys",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": f"{ARCHIVE}/*",
            "Condition": {
                "Null": {KMS_HEADER: "false"},
                "StringNotEquals": {KMS_HEADER: OUR_KEY},
            },
        }
    )
    foreign = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/theirs"
    assert evaluate(_agent_put(), [AGENT_POLICY], bucket_policy).decision == "allow"
    assert evaluate(
        _agent_put(**{KMS_HEADER: OUR_KEY}), [AGENT_POLICY], bucket_policy
    ).decision == ("allow")
    assert evaluate(
        _agent_put(**{KMS_HEADER: foreign}), [AGENT_POLICY], bucket_policy
    ).decision == ("explicit-deny")


def test_todays_bucket_policy_refuses_plain_http_and_deletion() -> None:
    """The bucket policy's other denies hold for anyone, the agent included."""
    bucket_policy = bucket_policy_document(ARCHIVE, None, BucketSettings())
    plain_http = _agent_put(**{"aws:SecureTransport": False})
    assert evaluate(plain_http, [AGENT_POLICY], bucket_policy).statements == (
        "DenyInsecureTransport",
    )
    delete = Request("s3:DeleteObject", f"{ARCHIVE}/a/x.gz", AGENT, ACCOUNT)
    assert evaluate(delete, [AGENT_POLICY], bucket_policy).decision == "explicit-deny"


# --- wildcard expansion --------------------------------------------------------------------


def test_expand_actions_over_the_catalog() -> None:
    """Service Authorization Reference names: s3:Put* and kms:* expand to what AWS documents."""
    catalog = all_actions()
    puts = expand_actions("s3:Put*", catalog)
    assert {"s3:PutObject", "s3:PutBucketPolicy"} <= puts
    assert "s3:GetObject" not in puts
    assert all(action.startswith("s3:Put") for action in puts)
    assert "kms:ScheduleKeyDeletion" in expand_actions("kms:*", catalog)
    assert expand_actions("KMS:generatedatakey", catalog) == {"kms:GenerateDataKey"}
    assert expand_actions("s3:?utObject", catalog) == {"s3:PutObject"}
    assert {"es:ESHttpPost", "es:ESHttpPut"} <= expand_actions("es:ESHttpP*", catalog)
    assert "logs:PutLogEvents" in expand_actions("logs:Put*", catalog)
    assert set(ACTIONS) == {"s3", "kms", "iam", "sts", "logs", "es", "glue", "athena"}
    assert expand_actions("ec2:*", catalog) == set()
    bare = expand_actions("s3:Put*", ACTIONS["s3"])  # names alone take the pattern's prefix
    assert bare == puts


# --- malformed input is an error, never a decision ------------------------------------------


DROP = object()  # marks an element removed from the base statement


def _cond(operator: str, value: object = "v") -> dict[str, Any]:
    return {"Condition": {operator: {"k": value}}}


@pytest.mark.parametrize(
    ("changes", "resource_based", "message"),
    [
        (_cond("StringEqualz"), False, "unknown condition operator"),
        (_cond("ForAllValues:Null", "true"), False, "Null takes no set operator"),
        (_cond("ForEvery:StringEquals"), False, "unknown condition set operator"),
        (_cond("StringEquals", {"v": 1}), False, "expected a string"),
        ({"Condition": {"StringEquals": {}}}, False, "must map keys to values"),
        ({"NotAction": "s3:Get*"}, False, "both Action and NotAction"),
        ({"Action": DROP}, False, "neither Action nor NotAction"),
        ({"Effect": "allow"}, False, "Effect must be"),
        ({"Resource": DROP}, False, "neither Resource nor NotResource"),
        ({"Principal": "*"}, False, "has no Principal"),
        ({}, True, "neither Principal nor NotPrincipal"),
        ({"Principal": {"Users": "x"}}, True, "unknown Principal type"),
        ({"Principal": "everyone"}, True, "Principal must be"),
    ],
)
def test_malformed_statements_raise(
    changes: dict[str, Any], resource_based: bool, message: str
) -> None:
    statement = {"Effect": "Allow", "Action": "s3:*", "Resource": "*", **changes}
    statement = {key: value for key, value in statement.items() if value is not DROP}
    request = Request("s3:GetObject", "arn:aws:s3:::b/k", context={"k": "v"})
    with pytest.raises(ValueError, match=message):
        statement_applies(statement, request, resource_based=resource_based)


def test_a_policy_without_statements_is_malformed() -> None:
    with pytest.raises(ValueError, match="needs a Statement"):
        evaluate_identity([{"Version": "2012-10-17"}], Request("s3:GetObject", "*"))
