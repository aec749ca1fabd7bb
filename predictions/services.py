"""Training forecast models, issuing forecasts, and running forecast jobs."""

import hashlib
import logging
import pickle
from datetime import datetime

import numpy as np
from django.db import OperationalError, transaction
from django.db.models import Max
from django.utils import timezone

from healthcare.caching import soft_cache
from healthcare.encounters.models import Department
from healthcare.hours import epoch_hour, hour_start
from healthcare.jobs import job_claim, job_enqueue, job_fail, jobs_sweep
from healthcare.signals import send_on_commit
from predictions.ml import (
    MAX_HORIZON,
    TrainedForecaster,
    forecaster_train,
    mean_backtest,
)
from predictions.models import Forecast, ForecastModel, ForecastStatus
from predictions.outlook import (
    ForecastUnavailable,
    ModelOutdated,
    department_calendar,
    forecast_points,
    forecaster_load,
)
from predictions.scores import poisson_deviance
from predictions.selectors import department_history, department_stay_model, latest_forecast_key
from predictions.signals import forecast_ready

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 3


# --- Models ------------------------------------------------------------------------------------


def forecast_model_train(
    *,
    department: Department,
    until: datetime | None = None,
    activate: bool | None = None,
    algorithms: list[str] | None = None,
) -> ForecastModel:
    """Train on the hours before `until` (default: the current hour), store a new version.

    activate: True always, False never, None when it forecasts at least as well as the
    active version where both forecast out of sample (see _comparison), or there is none.
    Raises ForecastUnavailable when the department lacks the history.
    """
    until_hour = epoch_hour(until or timezone.now())
    history = department_history(department, until=hour_start(until_hour))
    if history is None:
        raise ForecastUnavailable(
            f"{department.code} has no workload data before {hour_start(until_hour):%Y-%m-%d %H:00}"
        )
    calendar = department_calendar(department, history.first_hour, until_hour + MAX_HORIZON)
    try:
        trained = forecaster_train(history, calendar, until=until_hour, algorithms=algorithms)
    except ValueError as exc:
        raise ForecastUnavailable(str(exc)) from None
    stays, stay_source = department_stay_model(department, until=hour_start(until_hour))
    artifact = pickle.dumps(trained, protocol=pickle.HIGHEST_PROTOCOL)
    metrics = dict(trained.selection)
    metrics["validation"] = {
        **metrics["validation"],
        "first_hour": hour_start(metrics["validation"]["first_hour"]).isoformat(),
        "end_hour": hour_start(metrics["validation"]["end_hour"]).isoformat(),
    }
    metrics["library_versions"] = trained.library_versions
    # Scored before taking the department's lock: it forecasts 50 weeks of hours.
    metrics["comparison"] = _comparison(department, trained, history, calendar)
    if activate is None:
        activate = metrics["comparison"]["new_is_better"]

    with transaction.atomic():
        Department.objects.select_for_update().filter(id=department.id).first()
        latest = ForecastModel.objects.filter(department=department).aggregate(version=Max("version"))["version"]
        model = ForecastModel.objects.create(
            department=department,
            version=(latest or 0) + 1,
            algorithm=trained.algorithm,
            hyperparameters=trained.mean_model.hyperparameters(),
            features=trained.mean_model.features,
            training_start=hour_start(trained.training_first_hour),
            training_end=hour_start(trained.training_end_hour),
            backtest_metrics=metrics,
            stay_model={"median_hours": stays.median_hours, "sigma": stays.sigma, "source": stay_source},
            artifact=artifact,
            artifact_sha256=hashlib.sha256(artifact).hexdigest(),
        )
        if activate:
            forecast_model_activate(model=model)
    return model


MIN_COMPARISON_ISSUES = 7


def _comparison(department: Department, trained: TrainedForecaster, history, calendar) -> dict:
    """Does the new version forecast at least as well as the active one?

    Both are scored on the new version's validation forecasts issued after the active
    version's training end, where neither saw the hours it forecasts. With fewer than
    MIN_COMPARISON_ISSUES such forecasts no fair comparison exists, and the version
    trained on more recent data is preferred.
    """
    active = ForecastModel.objects.filter(department=department, is_active=True).defer("artifact").first()
    if active is None:
        return {"active_version": None, "new_is_better": True, "reason": "no active version"}
    horizon = trained.selection["validation"]["horizon_hours"]
    active_end = epoch_hour(active.training_end)
    issues = [issue for issue in trained.validation_means if issue >= active_end]
    summary = {"active_version": active.version, "forecasts_compared": len(issues)}
    if len(issues) < MIN_COMPARISON_ISSUES:
        return summary | {"new_is_better": True, "reason": "too few forecasts unseen by both; the newer data wins"}
    try:
        previous = forecaster_load(ForecastModel.objects.get(pk=active.pk))
        _, old_means, actuals = mean_backtest(previous.mean_model, history, calendar, issues, horizon)
    except Exception:  # noqa: BLE001 - an active version that cannot forecast is not better
        logger.warning("active model %s could not be scored; the new version wins", active.pk, exc_info=True)
        return summary | {"new_is_better": True, "reason": "the active version could not be scored"}
    new_means = np.concatenate([trained.validation_means[issue] for issue in issues])
    old_score, new_score = poisson_deviance(actuals, old_means), poisson_deviance(actuals, new_means)
    return summary | {
        "active_poisson_deviance": round(old_score, 5),
        "new_poisson_deviance": round(new_score, 5),
        "new_is_better": new_score <= old_score,
        "reason": "Poisson deviance on forecasts unseen by both",
    }


def forecast_model_activate(*, model: ForecastModel) -> ForecastModel:
    """Make `model` its department's only active version, atomically."""
    with transaction.atomic():
        Department.objects.select_for_update().filter(id=model.department_id).first()
        ForecastModel.objects.filter(department_id=model.department_id, is_active=True).exclude(pk=model.pk).update(
            is_active=False
        )
        ForecastModel.objects.filter(pk=model.pk).update(is_active=True)
        model.is_active = True
        department_id = model.department_id
        transaction.on_commit(lambda: soft_cache.delete(latest_forecast_key(department_id)))
    return model


# --- Forecasts -----------------------------------------------------------------------------------


def forecast_request(
    *,
    department: Department,
    horizon_hours: int,
    confidence_level: float,
    requested_by=None,
    issued_at: datetime | None = None,
) -> Forecast:
    """A queued forecast from the current hour (or issued_at, for replays and demos) on; computed after commit."""
    issued_at = (issued_at or timezone.now()).replace(minute=0, second=0, microsecond=0)
    forecast = Forecast(
        department=department,
        issued_at=issued_at,
        horizon_hours=horizon_hours,
        confidence_level=confidence_level,
        requested_by=requested_by,
    )
    forecast.full_clean()
    forecast.save()
    forecast_id = str(forecast.id)
    transaction.on_commit(lambda: _enqueue(forecast_id))
    return forecast


def _enqueue(forecast_id: str) -> None:
    from predictions.tasks import forecast_run_task

    job_enqueue(forecast_run_task, forecast_id)


def forecast_jobs_sweep(*, now: datetime | None = None) -> int:
    """Queue again the forecast jobs nobody works on (lost message, dead worker). Returns how many."""
    from predictions.tasks import forecast_run_task

    return jobs_sweep(forecast_run_task, Forecast.objects.all(), now=now)


def forecast_run(*, forecast_id, task_id: str | None = None) -> Forecast | None:
    """Compute a queued forecast and give it a final status. Idempotent.

    A finished forecast is returned as it is, and one another message is computing is left to
    it (healthcare.jobs.job_claim). One left running by a worker that died is run again, at
    most MAX_ATTEMPTS times. A department without an active model gets
    one trained first. OperationalError (database unreachable) propagates for the task to
    retry; anything else fails the forecast with the reason.
    """
    with transaction.atomic():
        forecast = Forecast.objects.select_for_update().filter(id=forecast_id).first()
        if forecast is None or forecast.is_finished or not job_claim(forecast, task_id=task_id, now=timezone.now()):
            return forecast
        if forecast.attempts >= MAX_ATTEMPTS:
            return forecast_fail(forecast=forecast, reason=f"gave up after {forecast.attempts} attempts")
        forecast.status = ForecastStatus.RUNNING
        forecast.started_at = timezone.now()
        forecast.attempts += 1
        forecast.save(update_fields=["status", "started_at", "attempts", "task_id"])

    department = forecast.department
    try:
        model = forecast_model_ensure(department, forecast.issued_at)
        try:
            points = _points_for(forecast, model)
        except ModelOutdated:
            logger.warning("%s forecaster v%s is outdated; retraining", department.code, model.version)
            model = _train_until(department, forecast.issued_at)
            points = _points_for(forecast, model)
    except OperationalError:
        raise
    except ForecastUnavailable as exc:
        return forecast_fail(forecast=forecast, reason=str(exc))
    except Exception as exc:  # noqa: BLE001 - a job must end with a status, whatever broke
        logger.exception("forecast %s failed", forecast.id)
        return forecast_fail(forecast=forecast, reason=f"internal error: {type(exc).__name__}")

    with transaction.atomic():
        forecast.model = model
        forecast.points = points
        forecast.status = ForecastStatus.SUCCEEDED
        forecast.finished_at = timezone.now()
        forecast.failure_reason = ""
        forecast.save(update_fields=["model", "points", "status", "finished_at", "failure_reason"])
        transaction.on_commit(lambda: soft_cache.delete(latest_forecast_key(department.id)))
        send_on_commit(
            forecast_ready,
            sender=Forecast,
            department_id=department.id,
            department_code=department.code,
            forecast_id=str(forecast.id),
        )
    return forecast


def forecast_model_ensure(department: Department, issued_at: datetime) -> ForecastModel:
    """The version to forecast from at `issued_at`, trained now when there is none: for jobs only.

    The active version, unless trained on later data; then the newest version trained before
    it, or a new one trained and stored now (a queued job can run after a retraining; it must
    not use data from after its issue hour). Reads use the active model, never this.
    """
    usable = ForecastModel.objects.filter(department=department, training_end__lte=issued_at)
    model = usable.filter(is_active=True).first() or usable.order_by("-version").first()
    return model or _train_until(department, issued_at)


def _train_until(department: Department, issued_at: datetime) -> ForecastModel:
    has_active = ForecastModel.objects.filter(department=department, is_active=True).exists()
    return forecast_model_train(department=department, until=issued_at, activate=not has_active)


def _points_for(forecast: Forecast, model: ForecastModel) -> list[dict]:
    return forecast_points(
        department=forecast.department,
        model=model,
        issue_hour=epoch_hour(forecast.issued_at),
        horizon=forecast.horizon_hours,
        confidence=forecast.confidence_level,
    )


def forecast_fail(*, forecast: Forecast, reason: str) -> Forecast:
    """Give the forecast its final status: failed, with the reason."""
    return job_fail(forecast, job_kind="Forecast", reason=reason, failed_status=ForecastStatus.FAILED)
