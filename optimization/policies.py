"""A department's staffing rules and its active real-time policy: reads, with a cache of loaded networks."""

import dataclasses

from healthcare.encounters.models import Department
from optimization.baselines import ReactiveRule
from optimization.models import StaffingPolicy, StaffingRuleSet
from optimization.rules import DEFAULT_RISK_THRESHOLD, StaffingRules

# Without a trained policy: the rule and roster quantile tuned on the UIHC ED (see README).
DEFAULT_POLICY = {"z_roster": 1.0, "z_call": 1.0, "z_release": 2.0}


class PolicyUnavailable(Exception):
    """The active policy cannot be loaded (its artifact fails its checksum); the message says why."""


def staffing_rules_for(department: Department, overrides: dict | None = None) -> StaffingRules:
    """The department's rules (defaults when none were set), with per-run overrides applied.

    Raises ValueError naming the field when the result is not valid.
    """
    ruleset = StaffingRuleSet.objects.filter(department=department).first()
    rules = (
        ruleset.to_rules(department)
        if ruleset
        else StaffingRules(patients_per_nurse=department.patients_per_nurse, min_nurses=department.min_nurses)
    )
    return dataclasses.replace(rules, **overrides) if overrides else rules


def active_policy(department: Department):
    """(StaffingPolicy or None, a policy with decide(), roster quantile z) for the department."""
    from optimization.rl import LearnedPolicy, Shield, model_from_bytes

    version = StaffingPolicy.objects.filter(department=department, is_active=True).first()
    parameters = version.parameters if version else DEFAULT_POLICY
    rule = ReactiveRule(parameters["z_call"], parameters["z_release"])
    if version is None or version.algorithm != "ppo":
        return version, rule, parameters["z_roster"]
    cached = _loaded_policies.get(version.artifact_sha256)
    if cached is None:
        if not version.artifact_intact():
            raise PolicyUnavailable(f"the artifact of policy v{version.version} fails its checksum")
        cached = LearnedPolicy(model_from_bytes(bytes(version.artifact)), rule, Shield(parameters["shield_z"]))
        if len(_loaded_policies) >= LOADED_POLICIES_MAX:
            _loaded_policies.pop(next(iter(_loaded_policies)))
        _loaded_policies[version.artifact_sha256] = cached
    return version, cached, parameters["z_roster"]


_loaded_policies: dict = {}  # LearnedPolicy by artifact checksum
LOADED_POLICIES_MAX = 16


def risk_threshold_for(department: Department) -> float:
    """The probability of being short above which a coming hour of the department is at risk."""
    ruleset = StaffingRuleSet.objects.filter(department=department).only("risk_threshold").first()
    return ruleset.risk_threshold if ruleset else DEFAULT_RISK_THRESHOLD
