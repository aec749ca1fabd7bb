"""Plans judged once their hours have passed: cost against the census that came, and the oracle."""

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from django.utils import timezone

from healthcare.encounters.models import WorkloadHour
from healthcare.encounters.selectors import workload_last_hour
from healthcare.hours import epoch_hour, epoch_hour_iso, hour_start
from optimization.models import OptimizationRun, RunStatus
from optimization.plan_result import Plan
from optimization.roster import PlanInfeasible, hindsight_plan
from optimization.services.plans import plan_shifts

logger = logging.getLogger(__name__)


def optimization_run_review(*, run: OptimizationRun, now: datetime | None = None) -> dict | None:
    """Once every planned hour has passed: what the plan cost against the census that came, and the oracle.

    plan: the roster as planned (no hourly changes), paid in full, plus the penalty of the
    patient-hours it left beyond the ratio. oracle: the hindsight plan (roster, call-ins and
    releases chosen with the census known), a bound no real plan can beat. Stored in
    result["review"]; returns None while some planned hour is still to come.
    """
    if run.status != RunStatus.SUCCEEDED or not run.result.get("hours"):
        return None
    plan = Plan.from_json(run.result)
    now = now or timezone.now()
    department = run.department
    first, horizon = epoch_hour(run.planned_from), len(plan.hours)
    # Every planned hour must be over (the current one is still filling up) and recorded.
    last_observed = workload_last_hour(department)
    last_planned = first + horizon - 1
    if last_observed is None or epoch_hour(last_observed) < last_planned or last_planned >= epoch_hour(now):
        return None
    observed = dict(
        WorkloadHour.objects.filter(
            department=department, hour__gte=hour_start(first), hour__lte=hour_start(first + horizon - 1)
        ).values_list("hour", "census")
    )
    census = np.array([observed.get(hour_start(first + index), 0) for index in range(horizon)], dtype=np.float64)
    rules = plan.rules
    planned = np.array([hour.planned_nurses for hour in plan.hours])
    uncovered = rules.uncovered(census, planned)
    penalty = float(uncovered.sum()) * rules.understaffed_penalty * rules.nurse_hour_cost
    roster_cost = plan.expected["roster_cost"]

    # The oracle starts where the plan did: the same nurses on duty, unpaid on both sides.
    instances, fixed = plan_shifts(department, rules, first, horizon, run.params.get("current_staff"))
    zone = ZoneInfo(department.timezone)
    day_of_hour = np.array([hour_start(first + index).astimezone(zone).toordinal() for index in range(horizon)])
    try:
        oracle = hindsight_plan(rules, census, instances, day_of_hour, already_on_duty=fixed)
    except PlanInfeasible as exc:
        logger.warning("review of plan %s: %s", run.id, exc)
        run.result = {**run.result, "review": {"skipped": str(exc)}}
        run.save(update_fields=["result"])
        return None
    review = {
        "census_observed_until": epoch_hour_iso(epoch_hour(last_observed)),
        "patient_hours": float(census.sum()),
        "uncovered_patient_hours": round(float(uncovered.sum()), 2),
        "compliance": round(1 - float(uncovered.sum()) / census.sum(), 4) if census.sum() else None,
        "plan": {"roster_cost": roster_cost, "penalty": round(penalty, 2), "cost": round(roster_cost + penalty, 2)},
        "oracle": {
            "cost": round(oracle.cost, 2),
            "lower_bound": round(oracle.lower_bound, 2),
            "uncovered_patient_hours": round(float(oracle.uncovered.sum()), 2),
        },
    }
    review["plan_over_oracle"] = round(review["plan"]["cost"] / review["oracle"]["cost"], 3) if oracle.cost else None
    run.result = {**run.result, "review": review}
    run.save(update_fields=["result"])
    return review


# A plan whose hours are not all recorded this long after it began is not waited for any more.
REVIEW_WAIT = timedelta(days=14)


def optimization_runs_review(*, now: datetime | None = None) -> int:
    """Review the successful plans of the last two weeks that have no review yet. Returns how many were.

    One plan that cannot be reviewed (its oracle unsolvable, its result from an older
    version) is marked skipped with the reason and does not stop the others.
    """
    now = now or timezone.now()
    candidates = OptimizationRun.objects.filter(
        status=RunStatus.SUCCEEDED, planned_from__gte=now - REVIEW_WAIT, planned_from__lt=now - timedelta(hours=1)
    ).exclude(result__has_key="review")
    reviewed = 0
    for run in candidates.select_related("department").iterator(chunk_size=50):
        try:
            if optimization_run_review(run=run, now=now) is not None:
                reviewed += 1
        except Exception as exc:  # noqa: BLE001 - one plan must not stop the others' reviews
            logger.exception("review of plan %s failed", run.id)
            run.result = {**run.result, "review": {"skipped": f"{type(exc).__name__}: {exc}"}}
            run.save(update_fields=["result"])
    return reviewed
