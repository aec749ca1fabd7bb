"""Celery entry points of forecasting. Thin: take ids, call one service."""

from celery import shared_task
from django.db import OperationalError

from healthcare.encounters.models import Department
from predictions.models import Forecast
from predictions.services import ForecastUnavailable, forecast_fail, forecast_model_train, forecast_run

MAX_RETRIES = 3


@shared_task(bind=True, max_retries=MAX_RETRIES)
def forecast_run_task(self, forecast_id: str) -> str | None:
    """Compute a forecast job. Idempotent on the row; a database outage is retried with backoff,
    and after the last retry the job is marked failed, so none is left without a final status."""
    try:
        forecast = forecast_run(forecast_id=forecast_id)
    except OperationalError as exc:
        if self.request.retries >= MAX_RETRIES:
            forecast = Forecast.objects.filter(id=forecast_id).first()
            if forecast is not None and not forecast.is_finished:
                forecast_fail(forecast=forecast, reason="the database was unreachable; gave up after retries")
            return None
        raise self.retry(exc=exc, countdown=min(600, 10 * 2**self.request.retries)) from exc
    return forecast.status if forecast is not None else None


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, retry_jitter=True, max_retries=3)
def forecast_models_retrain_task() -> dict:
    """Weekly (Celery beat): a new version per department with data, activated only if it scores better."""
    outcome = {}
    for department in Department.objects.order_by("code"):
        try:
            model = forecast_model_train(department=department)
        except ForecastUnavailable as exc:
            outcome[department.code] = f"skipped: {exc}"
            continue
        outcome[department.code] = f"v{model.version} {'activated' if model.is_active else 'kept inactive'}"
    return outcome
