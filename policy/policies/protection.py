"""Protection policy: the archive outlives every mistake made on its stack.

A mistaken `pulumi destroy` (or a replacement) of the archive would delete years of audit
records. Its bucket and key must carry `protect`, so the engine refuses to delete them until
someone unprotects them on purpose. (`retainOnDelete` is not visible to analyzers; the
program sets it beside `protect` and the tests prove it.)
"""

from __future__ import annotations

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
)

from .common import describe, plain, resolve_config

# What holds the archive's data: every bucket of the stack, and the keys that encrypt the
# archive (tagged so by the program; other keys, e.g. a cluster's secrets key, may go).
BUCKET_TYPES = frozenset({"aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"})
KEY_TYPE = "aws:kms/key:Key"
ARCHIVE_TAG = ("data", "audit-archive")
_CONFIG = {
    "requireProtection": {
        "type": "boolean",
        "default": False,
        "description": "Refuse an unprotected archive bucket or key (staging and prod).",
    }
}
_WHAT = (
    "The audit archive's buckets and keys must be protected: a destroy or replacement must "
    "not delete them."
)
_FIX = (
    "deploy the archive as an archive stack (stackKind: archive, archive.protect: true), "
    "which sets protect and retainOnDelete on its bucket and key."
)


def _validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    tags = plain(args.props).get("tags") if args.resource_type == KEY_TYPE else None
    archive_key = isinstance(tags, dict) and tags.get(ARCHIVE_TAG[0]) == ARCHIVE_TAG[1]
    if args.resource_type not in BUCKET_TYPES and not archive_key:
        return
    if not resolve_config(_CONFIG, args.get_config())["requireProtection"]:
        return
    if not args.opts.protect:
        report_violation(
            f"{args.resource_type} {args.name} is not protected (protect: false): "
            "`pulumi destroy` would delete it",
            None,
        )


def policies() -> list[Policy]:
    return [
        ResourceValidationPolicy(
            name="archive-protected",
            description=describe(_WHAT, _FIX),
            validate=_validate,
            enforcement_level=EnforcementLevel.MANDATORY,
            config_schema=PolicyConfigSchema(properties=_CONFIG),
            severity=Severity.HIGH,
            remediation_steps=_FIX,
        )
    ]
