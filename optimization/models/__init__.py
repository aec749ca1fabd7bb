"""Staffing rules, policies, plans and duty changes (staffing), named staff under contracts (staff), and
rosters of named nurses with the call-ins offered to them (rosters)."""

from optimization.models.rosters import (
    ROSTER_DAYS,
    CallInOffer,
    NamedRoster,
    OfferStatus,
    ReleaseVolunteer,
    RosterShift,
)
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
    "ROSTER_DAYS",
    "CallInOffer",
    "Contract",
    "DutyChange",
    "DutyChangeKind",
    "Leave",
    "NamedRoster",
    "Nurse",
    "OfferStatus",
    "OptimizationRun",
    "PolicyAlgorithm",
    "ReleaseVolunteer",
    "RosterShift",
    "RunStatus",
    "ShiftRequest",
    "Skill",
    "SkillCover",
    "StaffingPolicy",
    "StaffingRuleSet",
    "default_shifts",
]
