"""Partitions: which regions belong where, endpoints and ARNs per partition, and the
isolated partitions refused in one line."""

from __future__ import annotations

import pytest

from components.common.partition import partition_named, partition_of


@pytest.mark.parametrize(
    ("region", "name", "s3_endpoint"),
    [
        ("eu-west-1", "aws", "s3.eu-west-1.amazonaws.com"),
        ("us-east-1", "aws", "s3.us-east-1.amazonaws.com"),
        ("ap-southeast-5", "aws", "s3.ap-southeast-5.amazonaws.com"),
        ("cn-north-1", "aws-cn", "s3.cn-north-1.amazonaws.com.cn"),
        ("cn-northwest-1", "aws-cn", "s3.cn-northwest-1.amazonaws.com.cn"),
        ("us-gov-west-1", "aws-us-gov", "s3.us-gov-west-1.amazonaws.com"),
    ],
)
def test_region_belongs_to_its_partition(region: str, name: str, s3_endpoint: str) -> None:
    partition = partition_of(region)
    assert partition.name == name
    assert partition.service_endpoint("s3", region) == s3_endpoint
    assert partition.arn("logs", region, "123456789012", "log-group:g").startswith(
        f"arn:{name}:logs:{region}:123456789012:"
    )


def test_service_principals_per_partition() -> None:
    assert partition_of("cn-north-1").service_principal("ec2") == "ec2.amazonaws.com.cn"
    assert partition_of("eu-west-1").service_principal("ec2") == "ec2.amazonaws.com"
    assert partition_of("cn-north-1").service_principal("logging.s3") == "logging.s3.amazonaws.com"


@pytest.mark.parametrize(
    ("region", "fragment"),
    [
        ("us-iso-east-1", "isolated AWS partition"),
        ("us-isob-east-1", "isolated AWS partition"),
        ("europe", "not an AWS region"),
        ("eu-west", "not an AWS region"),
    ],
)
def test_unsupported_regions_are_refused_in_one_line(region: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment) as caught:
        partition_of(region)
    message = str(caught.value)
    assert len(message.splitlines()) == 1
    assert repr(region) in message and "aws, aws-cn, aws-us-gov" in message


def test_partitions_are_found_by_name_or_refused() -> None:
    assert partition_named("aws-cn").dns_suffix == "amazonaws.com.cn"
    with pytest.raises(ValueError, match="'aws-iso' is not supported"):
        partition_named("aws-iso")
