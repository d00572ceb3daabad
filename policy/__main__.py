"""CrossGuard policy pack: `pulumi preview --policy-pack policy --policy-pack-config policy/config.<stack>.json`."""

from pulumi_policy import EnforcementLevel, PolicyPack

from rules import policies

PolicyPack(name="mesh-guardrails", enforcement_level=EnforcementLevel.MANDATORY, policies=policies())
