"""ServiceAccountRole: an IAM role that exactly one Kubernetes service account can assume."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.identity.iam import irsa_trust_policy


@dataclass(frozen=True)
class ServiceAccountRoleArgs:
    namespace: str
    service_account: str
    oidc_provider_arn: pulumi.Input[str]
    # The issuer URL (https://oidc.eks.<region>.amazonaws.com/id/<id>) or its host part.
    oidc_provider_url: pulumi.Input[str]
    # The inline permission, as an IAM policy document (data, not text).
    policy: pulumi.Input[Mapping[str, Any]]
    # A fixed name (one an archive stack granted before the role existed); None: auto-named.
    role_name: pulumi.Input[str] | None = None
    tags: Mapping[str, str] = field(default_factory=dict)


class ServiceAccountRole(pulumi.ComponentResource):
    role: aws.iam.Role
    role_policy: aws.iam.RolePolicy
    role_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: ServiceAccountRoleArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("container-audit-log:iam:ServiceAccountRole", name, None, opts)
        trust = pulumi.Output.all(args.oidc_provider_arn, args.oidc_provider_url).apply(
            lambda values: json.dumps(
                irsa_trust_policy(
                    values[0],
                    values[1].removeprefix("https://"),
                    args.namespace,
                    args.service_account,
                ),
                sort_keys=True,
            )
        )
        self.role = aws.iam.Role(
            f"{name}-role",
            name=args.role_name,
            description=(f"Assumed through IRSA by {args.namespace}/{args.service_account} only"),
            assume_role_policy=trust,
            max_session_duration=3600,
            tags={**args.tags, "purpose": "container-audit-log"},
            # A fixed name cannot exist twice: a replacement must delete the old role first.
            opts=pulumi.ResourceOptions(
                parent=self, delete_before_replace=args.role_name is not None
            ),
        )
        self.role_policy = aws.iam.RolePolicy(
            f"{name}-policy",
            role=self.role.id,
            policy=pulumi.Output.from_input(args.policy).apply(
                lambda document: json.dumps(document, sort_keys=True)
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.role_arn = self.role.arn
        self.register_outputs({"roleArn": self.role_arn})
