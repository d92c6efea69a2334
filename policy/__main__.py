"""Entry point Pulumi runs: builds the pack, which serves the analyzer until it is stopped.

Nothing else belongs here: constructing PolicyPack blocks forever, so the policies live in
the importable `policies` package (this directory is on sys.path when Pulumi runs it).
"""

from policies import PACK_NAME, all_policies  # type: ignore[import-not-found]
from pulumi_policy import EnforcementLevel, PolicyPack

PolicyPack(
    name=PACK_NAME,
    policies=all_policies(),
    enforcement_level=EnforcementLevel.ADVISORY,
    description="Security and completeness rules of the container audit-log pipeline.",
)
