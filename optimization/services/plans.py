"""A staffing plan computed from the forecast: the roster, its expected service, and the hours."""

import numpy as np
from scipy import stats

from healthcare.encounters.models import Department
from healthcare.hours import hour_start
from optimization.plan_result import Plan, PlannedHour, RosteredShift
from optimization.roster import PlanInfeasible, roster_plan
from optimization.rules import StaffingRules, shift_instances_around
from predictions.outlook import ForecastUnavailable, workload_outlook
from predictions.services import forecast_model_ensure

RISK_LEVELS = {"low": 2.0, "medium": 1.0, "high": 0.0}  # roster quantile z by the risk the planner accepts


class PlanUnavailable(Exception):
    """The plan cannot be made (no data, no forecast, infeasible rules); the message says why."""


def _expected_service(rules: StaffingRules, staff: np.ndarray, mean: np.ndarray, std: np.ndarray) -> dict:
    """Expected patients beyond the ratio and under-staffed hours, census ~ normal(mean, std) per hour."""
    capacity = rules.patients_per_nurse * staff
    spread = np.maximum(std, 1e-6)
    excess = (mean - capacity) / spread
    uncovered = (mean - capacity) * stats.norm.cdf(excess) + spread * stats.norm.pdf(excess)
    uncovered = np.maximum(uncovered, 0.0)
    # An hour is under-staffed as soon as the census exceeds what the staff may care for.
    understaffed = stats.norm.sf((capacity - mean) / spread)
    return {
        "uncovered_patient_hours": float(uncovered.sum()),
        "compliance": float(1 - uncovered.sum() / max(mean.sum(), 1e-9)),
        "understaffed_hours": float(understaffed.sum()),
    }


def _roster_figures(rules: StaffingRules, roster, horizon: int, mean: np.ndarray, std: np.ndarray, fixed) -> dict:
    staff = roster.staff(horizon) + fixed
    service = _expected_service(rules, staff, mean, std)
    penalty = service["uncovered_patient_hours"] * rules.understaffed_penalty * rules.nurse_hour_cost
    roster_cost = roster.cost(rules)
    return {"roster_cost": roster_cost, "expected_penalty": penalty, "expected_cost": roster_cost + penalty} | service


def plan_compute(
    *,
    department: Department,
    start_hour: int,
    horizon: int,
    rules: StaffingRules,
    z_roster: float,
    current_patients: int | None = None,
    current_staff: int | None = None,
) -> Plan:
    """The roster for the hours start_hour .. + horizon - 1 and what it is expected to give.

    The census projection comes from the active forecaster (data before start_hour only),
    anchored to current_patients when given. Nurses on duty now (current_staff) stay until
    their shift ends; without it the running shift is planned too. Raises PlanUnavailable.
    """
    model, outlook = _census_outlook(department, start_hour, horizon, current_patients)
    mean, std = outlook.census.mean, outlook.census.std
    instances, fixed = plan_shifts(department, rules, start_hour, horizon, current_staff)
    required = rules.required(np.maximum(mean + z_roster * std, 0.0))
    try:
        roster = roster_plan(rules, required, instances, already_on_duty=fixed)
        static = roster_plan(rules, rules.required(mean), instances, already_on_duty=fixed)
    except PlanInfeasible as exc:
        raise PlanUnavailable(str(exc)) from None
    staff = roster.staff(horizon) + fixed
    plan = _roster_figures(rules, roster, horizon, mean, std, fixed)
    return Plan(
        horizon_hours=horizon,
        roster=tuple(
            RosteredShift(
                start=hour_start(start_hour + instance.start),
                end=hour_start(start_hour + instance.end),
                nurses=int(count),
            )
            for instance, count in zip(roster.instances, roster.nurses.tolist(), strict=True)
            if count
        ),
        hours=tuple(
            PlannedHour(
                hour=hour_start(start_hour + index),
                census_mean=round(float(mean[index]), 2),
                census_std=round(float(std[index]), 2),
                required_nurses_at_mean=int(rules.required(mean[index : index + 1])[0]),
                planned_nurses=int(staff[index]),
            )
            for index in range(horizon)
        ),
        expected=_rounded(plan),
        baselines={
            "static_roster": _rounded(_roster_figures(rules, static, horizon, mean, std, fixed))
            | {"description": "roster covering the point forecast (mean census)"},
            "quantile_roster": _rounded(plan)
            | {"description": f"roster covering mean + {z_roster:g} sd of census: this plan before hourly changes"},
        },
        roster_quantile_z=z_roster,
        forecast_model={"version": model.version, "algorithm": model.algorithm},
        rules=rules,
    )


def _census_outlook(department: Department, start_hour: int, horizon: int, current_patients: int | None):
    """(model, outlook) of the census from start_hour, from a forecaster trained before it.

    Raises PlanUnavailable (without a model or the data for one).
    """
    try:
        model = forecast_model_ensure(department, hour_start(start_hour))
        outlook = workload_outlook(
            department=department,
            model=model,
            issue_hour=start_hour,
            horizon=horizon,
            confidence=0.9,
            census_now=current_patients,
        )
    except ForecastUnavailable as exc:
        raise PlanUnavailable(str(exc)) from None
    return model, outlook


def plan_shifts(
    department: Department, rules: StaffingRules, start_hour: int, horizon: int, current_staff: int | None
) -> tuple[list, np.ndarray]:
    """The shift instances a plan from start_hour may staff, and the nurses already on duty per hour.

    Without current_staff the shift running at start_hour is planned too; with it, those
    nurses stay until their shift ends and only later shifts are planned.
    """
    instances, _ = shift_instances_around(rules, start_hour=start_hour, horizon=horizon, timezone=department.timezone)
    fixed = np.zeros(horizon, dtype=np.int64)
    if current_staff is not None:
        running = [instance for instance in instances if instance.start < 0]
        until = max((instance.end for instance in running), default=0)
        fixed[: min(until, horizon)] = current_staff
        instances = [instance for instance in instances if instance.start >= 0]
    return instances, fixed


def _rounded(values: dict) -> dict:
    return {key: round(value, 3) if isinstance(value, float) else value for key, value in values.items()}
