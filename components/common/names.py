"""Names AWS and Kubernetes accept, checked once for every model that holds one."""

from __future__ import annotations

import ipaddress
import re

# The Pulumi project (Pulumi.yaml): the namespace of every stack config key.
PROJECT = "container-audit-log"

# A Kubernetes DNS label (RFC 1123): namespaces, service accounts, most object names.
DNS_LABEL_PATTERN = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"

# S3 general purpose bucket naming rules, as AWS documents them.
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_BUCKET_FORBIDDEN_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_BUCKET_FORBIDDEN_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def check_bucket_name(name: str) -> str:
    if not _BUCKET_NAME.match(name):
        raise ValueError(
            f"bucket name {name!r} is not valid: 3-63 characters, lowercase letters, digits, "
            "'.' and '-', starting and ending with a letter or digit"
        )
    if ".." in name or ".-" in name or "-." in name:
        raise ValueError(f"bucket name {name!r} must not contain '..', '.-' or '-.'")
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        pass
    else:
        raise ValueError(f"bucket name {name!r} must not look like an IP address")
    if name.startswith(_BUCKET_FORBIDDEN_PREFIXES) or name.endswith(_BUCKET_FORBIDDEN_SUFFIXES):
        raise ValueError(f"bucket name {name!r} uses a prefix or suffix that S3 reserves")
    return name
