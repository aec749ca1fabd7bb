"""Real-time policy versions: stored, and trained (the tuned rule against PPO)."""

import hashlib
from datetime import datetime

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from healthcare.encounters.models import Department
from healthcare.hours import epoch_hour, hour_start
from optimization.models import StaffingPolicy
from optimization.policies import staffing_rules_for
from optimization.services.plans import PlanUnavailable
from predictions.features import Calendar
from predictions.outlook import ForecastUnavailable
from predictions.services import forecast_model_ensure


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
