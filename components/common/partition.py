"""AWS partitions this project supports, and what differs between them.

ARNs carry the partition (`arn:aws-cn:...`), and service endpoints end in the partition's
DNS suffix: `kms:ViaService` for S3 in cn-north-1 is `s3.cn-north-1.amazonaws.com.cn`, not
`...amazonaws.com`. The isolated partitions (us-iso*, eu-isoe) have their own suffixes and
services this project has not been checked against, so they are refused rather than guessed.

Pure: no Pulumi imports.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Partition:
    name: str
    dns_suffix: str
    region_pattern: str

    def service_endpoint(self, service: str, region: str) -> str:
        """The regional endpoint host of a service, as `kms:ViaService` names it."""
        return f"{service}.{region}.{self.dns_suffix}"

    def arn(self, service: str, region: str, account: str, resource: str) -> str:
        return f"arn:{self.name}:{service}:{region}:{account}:{resource}"

    def service_principal(self, service: str) -> str:
        """A service principal for trust and bucket policies.

        Most services use `<service>.amazonaws.com` in every partition (IAM answers
        "Invalid principal" to `monitoring.rds.amazonaws.com.cn`); EC2 in China is the
        known exception that keeps the partition's suffix (`ec2.amazonaws.com.cn`).
        """
        if service in _PARTITIONAL_PRINCIPALS:
            return f"{service}.{self.dns_suffix}"
        return f"{service}.amazonaws.com"


_PARTITIONAL_PRINCIPALS = frozenset({"ec2"})


# Region patterns as the partitions define them (botocore's endpoints.json `regionRegex`).
PARTITIONS = (
    Partition("aws", "amazonaws.com", r"^(us|eu|ap|sa|ca|me|af|il|mx)-\w+-\d+$"),
    Partition("aws-cn", "amazonaws.com.cn", r"^cn-\w+-\d+$"),
    Partition("aws-us-gov", "amazonaws.com", r"^us-gov-\w+-\d+$"),
)
SUPPORTED = ", ".join(p.name for p in PARTITIONS)


def partition_of(region: str) -> Partition:
    """The partition of `region`; ValueError (one line) for a region outside them."""
    for partition in PARTITIONS:
        if re.fullmatch(partition.region_pattern, region):
            return partition
    if re.fullmatch(r"[a-z]{2}-iso[a-z]?-\w+-\d+", region):
        raise ValueError(
            f"region {region!r} is in an isolated AWS partition, which this project does not "
            f"support (supported partitions: {SUPPORTED})"
        )
    raise ValueError(
        f"region {region!r} is not an AWS region such as 'eu-west-1', 'cn-north-1' or "
        f"'us-gov-west-1' (supported partitions: {SUPPORTED})"
    )


def partition_named(name: str) -> Partition:
    for partition in PARTITIONS:
        if partition.name == name:
            return partition
    raise ValueError(f"partition {name!r} is not supported (supported partitions: {SUPPORTED})")
