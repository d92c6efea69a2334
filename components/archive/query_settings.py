"""Stack config section `container-audit-log:query`: the table, workgroup and auditor role.

Pure: no Pulumi imports. Names are derived from the environment unless set, so the query
tool finds the database, table and workgroup from the stack file alone.
"""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from components.common.model import CamelModel

# Athena's minimum per-query cutoff is 10 MB (AWS API: BytesScannedCutoffPerQuery >= 10^7;
# the AWS provider documents 10485760, the stricter of the two).
MIN_BYTES_SCANNED_CUTOFF = 10_485_760
_PRINCIPAL = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:(root|role/[\w+=,.@/-]+|user/[\w+=,.@/-]+)$")


class QuerySettings(CamelModel):
    """Querying the archive: a Glue table, an Athena workgroup, named queries, an auditor."""

    enabled: bool = Field(
        default=True, description="Create the Glue table, Athena workgroup and named queries."
    )
    database: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9_]{1,255}$",
        description="Glue database; unset: container_audit_<environment>.",
    )
    table: str = Field(default="audit_events", pattern=r"^[a-z_][a-z0-9_]{0,254}$")
    workgroup: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9._-]{1,128}$",
        description="Athena workgroup; unset: container-audit-<environment>.",
    )
    bytes_scanned_cutoff_per_query: int = Field(
        default=10_000_000_000,
        ge=MIN_BYTES_SCANNED_CUTOFF,
        description="Cost guard: Athena cancels a query past this many bytes scanned.",
    )
    auditor_principals: list[str] = Field(
        default_factory=list,
        description="IAM ARNs (account root, role or user) that may assume the auditor role; "
        "empty: no auditor role.",
    )

    @field_validator("auditor_principals")
    @classmethod
    def _principals(cls, values: list[str]) -> list[str]:
        for value in values:
            if not _PRINCIPAL.match(value):
                raise ValueError(
                    f"auditorPrincipals entry {value!r} is not an IAM principal ARN "
                    "(arn:aws:iam::<12 digits>:root, :role/<name> or :user/<name>)"
                )
        return values

    def database_name(self, environment: str) -> str:
        return self.database or f"container_audit_{environment}"

    def workgroup_name(self, environment: str) -> str:
        return self.workgroup or f"container-audit-{environment}"

    def for_cluster(self, cluster_stack: str, environment: str) -> QuerySettings:
        """An archive stack's query layer for one registered cluster: names of its own."""
        suffix = re.sub(r"[^a-z0-9_]", "_", cluster_stack.lower())
        return self.model_copy(
            update={
                "database": f"{self.database_name(environment)}_{suffix}"[:255],
                "workgroup": f"{self.workgroup_name(environment)}-{cluster_stack}"[:128],
            }
        )
