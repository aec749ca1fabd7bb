"""Staffing plans (runs), real-time recommendations, and training the real-time policy."""

import dataclasses
import hashlib
import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from django.db import OperationalError, transaction
from django.db.models import Max
from django.utils import timezone
from scipy import stats

from healthcare.encounters.models import Department, WorkloadHour
from healthcare.encounters.selectors import workload_last_hour
from healthcare.encounters.services.departments import department_update
from healthcare.hours import epoch_hour, hour_start, iso_utc
from healthcare.jobs import job_claim, job_enqueue, job_fail, jobs_sweep
from healthcare.signals import send_on_commit
from optimization.models import OptimizationRun, RunStatus, StaffingPolicy, StaffingRuleSet
from optimization.on_duty import on_duty_at_start
from optimization.policies import DEFAULT_POLICY, PolicyUnavailable, active_policy, staffing_rules_for
from optimization.roster import PlanInfeasible, hindsight_plan, roster_plan
from optimization.rules import Shift, StaffingRules, shift_instances_around
from optimization.selectors import policy_in_use, staffing_state
from optimization.signals import plan_ready
from optimization.simulate import LOOKAHEAD
from predictions.features import Calendar
from predictions.outlook import ForecastUnavailable, workload_outlook
from predictions.services import forecast_model_ensure

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
RISK_LEVELS = {"low": 2.0, "medium": 1.0, "high": 0.0}  # roster quantile z by the risk the planner accepts


class PlanUnavailable(Exception):
    """The plan cannot be made (no data, no forecast, infeasible rules); the message says why."""


# --- Rules ------------------------------------------------------------------------------------


def staffing_rules_save(
    *, department: Department, patients_per_nurse: int, min_nurses: int, **rule_fields
) -> StaffingRuleSet:
    """Change a department's ratio, minimum and staffing rules together, or none of them.

    Raises ValidationError naming the field. Plans made from now on use the new rules.
    """
    with transaction.atomic():
        # Two admins saving at once: the second waits, then writes over the first as a whole.
        department = Department.objects.select_for_update().get(pk=department.pk)
        department_update(department=department, patients_per_nurse=patients_per_nurse, min_nurses=min_nurses)
        ruleset = StaffingRuleSet.objects.filter(department=department).first() or StaffingRuleSet(
            department=department
        )
        for name, value in rule_fields.items():
            setattr(ruleset, name, value)
        ruleset.full_clean()
        ruleset.save()
    return ruleset


# --- Plans ----------------------------------------------------------------------------------


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
) -> dict:
    """The roster for the hours start_hour .. + horizon - 1 and what it is expected to give.

    The census projection comes from the active forecaster (data before start_hour only),
    anchored to current_patients when given. Nurses on duty now (current_staff) stay until
    their shift ends; without it the running shift is planned too. Raises PlanUnavailable.
    """
    model, outlook = _census_outlook(department, start_hour, horizon, current_patients)
    mean, std = outlook.census.mean, outlook.census.std
    instances, fixed = _plan_shifts(department, rules, start_hour, horizon, current_staff)
    required = rules.required(np.maximum(mean + z_roster * std, 0.0))
    try:
        roster = roster_plan(rules, required, instances, already_on_duty=fixed)
        static = roster_plan(rules, rules.required(mean), instances, already_on_duty=fixed)
    except PlanInfeasible as exc:
        raise PlanUnavailable(str(exc)) from None
    staff = roster.staff(horizon) + fixed
    plan = _roster_figures(rules, roster, horizon, mean, std, fixed)
    return {
        "horizon_hours": horizon,
        "roster": [
            {
                "shift_start": _iso(start_hour + instance.start),
                "shift_end": _iso(start_hour + instance.end),
                "nurses": int(count),
            }
            for instance, count in zip(roster.instances, roster.nurses.tolist(), strict=True)
            if count
        ],
        "hours": [
            {
                "hour": _iso(start_hour + index),
                "census_mean": round(float(mean[index]), 2),
                "census_std": round(float(std[index]), 2),
                "required_nurses_at_mean": int(rules.required(mean[index : index + 1])[0]),
                "planned_nurses": int(staff[index]),
            }
            for index in range(horizon)
        ],
        "expected": _rounded(plan),
        "baselines": {
            "static_roster": _rounded(_roster_figures(rules, static, horizon, mean, std, fixed))
            | {"description": "roster covering the point forecast (mean census)"},
            "quantile_roster": _rounded(plan)
            | {"description": f"roster covering mean + {z_roster:g} sd of census: this plan before hourly changes"},
        },
        "roster_quantile_z": z_roster,
        "forecast_model": {"version": model.version, "algorithm": model.algorithm},
        "rules": dataclasses.asdict(rules),
    }


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


def _plan_shifts(
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


def _iso(epoch: int) -> str:
    return iso_utc(hour_start(epoch))


def _rounded(values: dict) -> dict:
    return {key: round(value, 3) if isinstance(value, float) else value for key, value in values.items()}


# --- Runs -------------------------------------------------------------------------------------


def optimization_request(
    *, department: Department, params: dict, requested_by=None, planned_from: datetime | None = None
) -> OptimizationRun:
    """A queued plan from the current hour (or planned_from, for replays and demos); computed after commit."""
    run = OptimizationRun.objects.create(
        department=department,
        params=params,
        requested_by=requested_by,
        planned_from=(planned_from or timezone.now()).replace(minute=0, second=0, microsecond=0),
    )
    run_id = str(run.id)
    transaction.on_commit(lambda: _enqueue(run_id))
    return run


def _enqueue(run_id: str) -> None:
    from optimization.tasks import optimization_run_task

    job_enqueue(optimization_run_task, run_id)


def optimization_run(*, run_id, task_id: str | None = None) -> OptimizationRun | None:
    """Compute a queued plan and give it a final status. Idempotent, like forecast jobs; a run
    another message is computing is left to it (healthcare.jobs.job_claim).

    OperationalError propagates for the task to retry; anything else fails the run with the reason.
    """
    with transaction.atomic():
        run = OptimizationRun.objects.select_for_update().filter(id=run_id).first()
        if run is None or run.is_finished or not job_claim(run, task_id=task_id, now=timezone.now()):
            return run
        if run.attempts >= MAX_ATTEMPTS:
            return optimization_fail(run=run, reason=f"gave up after {run.attempts} attempts")
        run.status = RunStatus.RUNNING
        run.started_at = timezone.now()
        run.attempts += 1
        run.save(update_fields=["status", "started_at", "attempts", "task_id"])

    department, params = run.department, run.params
    try:
        rules = staffing_rules_for(department, params.get("rule_overrides"))
        version, _, z_default = active_policy(department)
        z_roster = _roster_z(params, z_default)
        # The shift on duty is a recorded fact: the plan keeps it unless the request overrides it.
        current_staff = params.get("current_staff")
        if current_staff is None:
            current_staff = on_duty_at_start(department, first=run.planned_from)
        computing = timezone.now()
        result = plan_compute(
            department=department,
            start_hour=epoch_hour(run.planned_from),
            horizon=params.get("horizon_hours", 72),
            rules=rules,
            z_roster=z_roster,
            current_patients=params.get("current_patients"),
            current_staff=current_staff,
        )
        result["on_duty_at_start"] = current_staff
        result["policy"] = {
            "version": version.version if version else None,
            "algorithm": version.algorithm if version else "rule",
            "parameters": version.parameters if version else DEFAULT_POLICY,
        }
    except OperationalError:
        raise
    except (PlanUnavailable, PolicyUnavailable, ValueError) as exc:
        return optimization_fail(run=run, reason=str(exc))
    except Exception as exc:  # noqa: BLE001 - a run must end with a status, whatever broke
        logger.exception("optimization run %s failed", run.id)
        return optimization_fail(run=run, reason=f"internal error: {type(exc).__name__}")

    finished = timezone.now()
    with transaction.atomic():
        run.result = result
        run.status = RunStatus.SUCCEEDED
        run.finished_at = finished
        run.failure_reason = ""
        run.timings = {
            "queued_ms": round((run.started_at - run.created_at).total_seconds() * 1000, 1),
            "compute_ms": round((finished - computing).total_seconds() * 1000, 1),
            "total_ms": round((finished - run.created_at).total_seconds() * 1000, 1),
        }
        run.save(update_fields=["result", "status", "finished_at", "failure_reason", "timings"])
        send_on_commit(
            plan_ready,
            sender=OptimizationRun,
            department_id=department.id,
            department_code=department.code,
            optimization_id=str(run.id),
        )
    return run


def _roster_z(params: dict, default: float) -> float:
    if params.get("quantile") is not None:
        return float(stats.norm.ppf(params["quantile"]))
    if params.get("risk_level"):
        return RISK_LEVELS[params["risk_level"]]
    return default


def optimization_fail(*, run: OptimizationRun, reason: str) -> OptimizationRun:
    """Give the run its final status: failed, with the reason."""
    return job_fail(run, job_kind="Staffing plan", reason=reason, failed_status=RunStatus.FAILED)


def optimization_runs_sweep(*, now: datetime | None = None) -> int:
    """Queue again the runs nobody is working on (lost message, dead worker). Returns how many."""
    from optimization.tasks import optimization_run_task

    return jobs_sweep(optimization_run_task, OptimizationRun.objects.all(), now=now)


def optimization_run_review(*, run: OptimizationRun, now: datetime | None = None) -> dict | None:
    """Once every planned hour has passed: what the plan cost against the census that came, and the oracle.

    plan: the roster as planned (no hourly changes), paid in full, plus the penalty of the
    patient-hours it left beyond the ratio. oracle: the hindsight plan (roster, call-ins and
    releases chosen with the census known), a bound no real plan can beat. Stored in
    result["review"]; returns None while some planned hour is still to come.
    """
    hours = run.result.get("hours") if run.status == RunStatus.SUCCEEDED else None
    if not hours:
        return None
    now = now or timezone.now()
    department = run.department
    first, horizon = epoch_hour(run.planned_from), len(hours)
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
    stored = dict(run.result["rules"])
    rules = StaffingRules(**{**stored, "shifts": tuple(Shift(**shift) for shift in stored["shifts"])})
    planned = np.array([hour["planned_nurses"] for hour in hours])
    uncovered = rules.uncovered(census, planned)
    penalty = float(uncovered.sum()) * rules.understaffed_penalty * rules.nurse_hour_cost
    roster_cost = run.result["expected"]["roster_cost"]

    # The oracle starts where the plan did: the same nurses on duty, unpaid on both sides.
    instances, fixed = _plan_shifts(department, rules, first, horizon, run.params.get("current_staff"))
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
        "census_observed_until": _iso(epoch_hour(last_observed)),
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


# --- Real-time recommendation --------------------------------------------------------------------


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
                "hour": _iso(hour + ahead.offset),
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


# --- Policy versions -------------------------------------------------------------------------------


def staffing_policy_store(
    *,
    department: Department,
    algorithm: str,
    parameters: dict,
    hyperparameters: dict,
    training_start: datetime,
    training_end: datetime,
    metrics: dict,
    artifact: bytes = b"",
    activate: bool = True,
) -> StaffingPolicy:
    """A new policy version; activated (atomically, the only active one) unless told otherwise."""
    with transaction.atomic():
        Department.objects.select_for_update().filter(id=department.id).first()
        latest = StaffingPolicy.objects.filter(department=department).aggregate(version=Max("version"))["version"]
        if activate:
            StaffingPolicy.objects.filter(department=department, is_active=True).update(is_active=False)
        return StaffingPolicy.objects.create(
            department=department,
            version=(latest or 0) + 1,
            algorithm=algorithm,
            parameters=parameters,
            hyperparameters=hyperparameters,
            training_start=training_start,
            training_end=training_end,
            metrics=metrics,
            artifact=artifact,
            artifact_sha256=hashlib.sha256(artifact).hexdigest() if artifact else "",
            is_active=activate,
        )


def staffing_policy_train(
    *,
    department: Department,
    until: datetime | None = None,
    timesteps: int = 200_000,
    target_compliance: float = 0.999,
    progress=None,
) -> StaffingPolicy:
    """Tune the rule and train PPO on the department's weeks before `until`; store the better one, active.

    The weeks are split in time order: PPO trains on the oldest, the rule is tuned on the
    next (up to 26), and the last (up to 8), forecast by a model that has not seen them,
    judge PPO against the tuned rule. PPO is kept only if it costs no more there at the
    target compliance. Raises PlanUnavailable when there is too little history.
    """
    from optimization import rl
    from optimization.evaluation import (
        DepartmentData,
        run_policy,
        split_weeks_three,
        tune_and_train,
        week_cases,
        week_starts,
    )
    from predictions.census import StayModel
    from predictions.ml import forecaster_train
    from predictions.outlook import forecaster_load
    from predictions.selectors import department_history

    until_hour = epoch_hour(until or timezone.now())
    history = department_history(department, until=hour_start(until_hour))
    if history is None:
        raise PlanUnavailable(f"{department.code} has no workload data")
    calendar = Calendar.build(
        history.first_hour,
        until_hour + 400 - history.first_hour,
        timezone=department.timezone,
        holiday_country=department.holiday_country,
    )
    weeks = week_starts(calendar, history.first_hour + 35 * 24, until_hour, department.timezone)
    if len(weeks) < 12:
        raise PlanUnavailable(f"{department.code} needs at least 12 whole weeks of data to train a policy")
    training_weeks, tuning_weeks, held_out_weeks = split_weeks_three(weeks)
    try:
        forecast_model = forecast_model_ensure(department, hour_start(until_hour))
        fallback = forecaster_load(forecast_model)
    except ForecastUnavailable as exc:
        raise PlanUnavailable(str(exc)) from None
    stays = StayModel(forecast_model.stay_model["median_hours"], forecast_model.stay_model["sigma"])
    unit = DepartmentData(staffing_rules_for(department), history, calendar, stays, department.timezone)
    trained = tune_and_train(
        unit,
        training_weeks=training_weeks,
        tuning_weeks=tuning_weeks,
        timesteps=timesteps,
        target_compliance=target_compliance,
        fallback_forecaster=fallback,
        progress=progress,
    )
    tuned = trained.tuned
    try:
        held_forecaster = forecaster_train(history, calendar, until=held_out_weeks[0])
    except ValueError:
        held_forecaster = fallback  # too little history: the held-out weeks are forecast in sample
    held_out = week_cases(unit.replays(held_forecaster, 300, 1), held_out_weeks)
    rule_totals = run_policy(held_out, tuned.rule_z, tuned.rule)
    ppo_totals = run_policy(held_out, tuned.rule_z, trained.learned)
    ppo_wins = sum(ppo_totals.costs) <= sum(rule_totals.costs) and ppo_totals.compliance >= min(
        target_compliance, rule_totals.compliance
    )
    report = trained.report
    metrics = {
        "tuning_forecasts": trained.tuning_forecasts,
        "tuning": tuned.table,
        "held_out": {
            "weeks": len(held_out_weeks),
            "rule": {"cost": round(sum(rule_totals.costs), 1), "compliance": round(rule_totals.compliance, 5)},
            "ppo": {"cost": round(sum(ppo_totals.costs), 1), "compliance": round(ppo_totals.compliance, 5)},
        },
        "ppo_training": {
            "timesteps": report.timesteps,
            "seconds": round(report.seconds, 1),
            "imitation_accuracy": round(report.imitation_accuracy, 4),
            "lagrange_final": round(report.lagrange_final, 2),
        },
        "chosen": "ppo" if ppo_wins else "rule",
    }
    if progress:
        progress(f"held-out weeks: rule {metrics['held_out']['rule']}, PPO {metrics['held_out']['ppo']}")
    return staffing_policy_store(
        department=department,
        algorithm="ppo" if ppo_wins else "rule",
        parameters={
            "z_roster": tuned.rule_z,
            "z_call": tuned.rule.z_call,
            "z_release": tuned.rule.z_release,
            "shield_z": rl.default_shield(tuned.rule).z_release,
        },
        hyperparameters={"timesteps": timesteps, "target_compliance": target_compliance},
        training_start=hour_start(history.first_hour),
        training_end=hour_start(until_hour),
        metrics=metrics,
        artifact=rl.model_to_bytes(trained.network) if ppo_wins else b"",
    )
