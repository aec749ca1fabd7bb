"""Celery entry points of forecasting. Thin: take ids, call one service."""

from celery import shared_task
from django.db import OperationalError

from healthcare.encounters.models import Department
from healthcare.jobs import MAX_RETRIES, job_task_limits, job_task_run
from predictions.models import Forecast
from predictions.outlook import ForecastUnavailable
from predictions.services import forecast_fail, forecast_jobs_sweep, forecast_model_train, forecast_run


@shared_task(bind=True, max_retries=MAX_RETRIES, **job_task_limits())
def forecast_run_task(self, forecast_id: str) -> str | None:
    """Compute a forecast job. Idempotent on the row; a database outage is retried with backoff,
    and after the last retry the job is marked failed, so none is left without a final status."""
    return job_task_run(
        self,
        forecast_id,
        run=lambda job_id, task_id: forecast_run(forecast_id=job_id, task_id=task_id),
        load=lambda job_id: Forecast.objects.filter(id=job_id).first(),
        fail=lambda forecast, reason: forecast_fail(forecast=forecast, reason=reason),
    )


@shared_task
def forecast_models_retrain_task() -> int:
    """Weekly (Celery beat): one retraining task per department, so one failure stops no other."""
    department_ids = list(Department.objects.order_by("code").values_list("id", flat=True))
    for department_id in department_ids:
        forecast_model_train_task.delay(department_id)
    return len(department_ids)


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, retry_jitter=True, max_retries=3)
def forecast_model_train_task(department_id: int) -> str | None:
    """A new version for one department, activated only if it forecasts better."""
    department = Department.objects.filter(id=department_id).first()
    if department is None:
        return None
    try:
        model = forecast_model_train(department=department)
    except ForecastUnavailable as exc:
        return f"skipped: {exc}"
    return f"v{model.version} {'activated' if model.is_active else 'kept inactive'}"


@shared_task
def forecast_jobs_sweep_task() -> int:
    """Every few minutes (Celery beat): queue again the forecast jobs nobody is working on."""
    return forecast_jobs_sweep()
