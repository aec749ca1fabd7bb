"""Writes of staffing: rules, plans and their runs and reviews, the real-time decision, policy training."""

from optimization.services.plans import RISK_LEVELS, PlanUnavailable, plan_compute
from optimization.services.recommendation import recommendation
from optimization.services.reviews import optimization_run_review, optimization_runs_review
from optimization.services.rules import staffing_rules_save
from optimization.services.runs import (
    optimization_fail,
    optimization_request,
    optimization_run,
    optimization_runs_sweep,
)
from optimization.services.training import staffing_policy_store, staffing_policy_train

__all__ = [
    "RISK_LEVELS",
    "PlanUnavailable",
    "optimization_fail",
    "optimization_request",
    "optimization_run",
    "optimization_run_review",
    "optimization_runs_review",
    "optimization_runs_sweep",
    "plan_compute",
    "recommendation",
    "staffing_policy_store",
    "staffing_policy_train",
    "staffing_rules_save",
]
