"""The real-time decision for the current hour: the shortfall now, then the policy's look-ahead."""

import dataclasses
from datetime import datetime

from healthcare.encounters.models import Department
from healthcare.hours import epoch_hour, epoch_hour_iso
from optimization.policies import staffing_rules_for
from optimization.selectors import policy_in_use, staffing_state
from optimization.services.plans import PlanUnavailable
from optimization.simulate import LOOKAHEAD


def recommendation(
    *,
    department: Department,
    current_patients: int | None = None,
    current_staff: int | None = None,
    oncall_left: int | None = None,
    releasable: int | None = None,
    release_hours: int | None = None,
    now: datetime | None = None,
) -> dict:
    """The decision for the current hour: cover the shortfall now, then the policy's look-ahead.

    current_patients and current_staff replace the census recorded this hour and the nurses
    recorded on duty, for this answer only. Without a forecast the current hour is still
    decided (lookahead False). Synchronous and fast; never trains or writes anything.
    Raises PlanUnavailable when the census or the nurses on duty are neither given nor recorded.
    """
    state = staffing_state(
        department,
        now=now,
        hours=LOOKAHEAD + 1,
        census_now=current_patients,
        on_duty=current_staff,
        oncall_left=oncall_left,
        releasable=releasable,
        release_hours=release_hours,
    )
    if state.decision is None:
        missing = (
            "current_patients (no census is recorded this hour)"
            if state.census_now is None
            else ("current_staff (no roster is in force this hour)")
        )
        raise PlanUnavailable(f"give {missing}")
    version, _ = policy_in_use(department)
    decision = state.decision
    hour = epoch_hour(state.hour)
    rules = staffing_rules_for(department)
    return {
        **dataclasses.asdict(decision),
        "status": decision.status,
        "oncall_left": state.oncall_left,
        "policy": {
            "version": version.version if version else None,
            "algorithm": version.algorithm if version else "rule",
        },
        "projection": [
            {
                "hour": epoch_hour_iso(hour + ahead.offset),
                "census_mean": round(ahead.census_mean, 2),
                "census_std": round(ahead.census_std, 2),
                "required_nurses_at_mean": ahead.required,
                "p_short": round(ahead.p_short, 3),
            }
            for ahead in state.ahead
        ],
        "rules": {
            "patients_per_nurse": rules.patients_per_nurse,
            "min_nurses": rules.min_nurses,
            "oncall_lead_hours": rules.oncall_lead_hours,
            "oncall_block_hours": rules.oncall_block_hours,
            "oncall_cap_per_day": rules.oncall_cap_per_day,
        },
    }
