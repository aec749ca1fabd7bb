"""Staffing rules, policies, plans and duty changes (staffing), and named staff under contracts (staff)."""

from optimization.models.staff import Contract, Leave, Nurse, ShiftRequest, Skill, SkillCover
from optimization.models.staffing import (
    DutyChange,
    DutyChangeKind,
    OptimizationRun,
    PolicyAlgorithm,
    RunStatus,
    StaffingPolicy,
    StaffingRuleSet,
    default_shifts,
)

__all__ = [
    "Contract",
    "DutyChange",
    "DutyChangeKind",
    "Leave",
    "Nurse",
    "OptimizationRun",
    "PolicyAlgorithm",
    "RunStatus",
    "ShiftRequest",
    "Skill",
    "SkillCover",
    "StaffingPolicy",
    "StaffingRuleSet",
    "default_shifts",
]
