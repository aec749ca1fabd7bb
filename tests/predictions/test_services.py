"""Forecast models and jobs against the database: versions, activation, job statuses, caching."""

from datetime import timedelta
from unittest import mock

import pytest
from celery.exceptions import Retry
from django.core.cache import cache
from django.db import OperationalError
from django.utils import timezone

from healthcare.encounters import services as encounter_services
from healthcare.encounters.models import WorkloadHour
from healthcare.hours import epoch_hour
from predictions import outlook, services
from predictions.models import Forecast, ForecastModel, ForecastStatus
from predictions.selectors import forecast_latest, forecast_live_accuracy, forecast_live_daily_mape, latest_forecast_key
from predictions.tasks import (
    MAX_RETRIES,
    forecast_model_train_task,
    forecast_models_retrain_task,
    forecast_run_task,
)
from tests.factories import current_hour, encounter_record, records_until


@pytest.fixture
def request_forecast(django_capture_on_commit_callbacks):
    """Request a forecast as the API does; its job runs when the transaction commits (eagerly here)."""

    def request(department, horizon=24, confidence=0.9) -> Forecast:
        with django_capture_on_commit_callbacks(execute=True):
            forecast = services.forecast_request(
                department=department, horizon_hours=horizon, confidence_level=confidence
            )
        forecast.refresh_from_db()
        return forecast

    return request


def test_training_stores_an_active_version_with_its_validation(ed_history):
    model = services.forecast_model_train(department=ed_history)
    assert (model.version, model.is_active) == (1, True)
    assert model.artifact_intact()
    # 100 days are too few for trees: they are skipped, and the report says why.
    assert set(model.backtest_metrics["candidates"]) == {"seasonal_naive", "poisson_glm"}
    assert "180 days" in model.backtest_metrics["skipped"]["poisson_gbm"]
    assert model.algorithm == model.backtest_metrics["chosen"]
    assert model.stay_model["source"] == "the department's length-of-stay model"


def test_a_worse_version_is_stored_but_not_activated_unless_asked(ed_history):
    first = services.forecast_model_train(department=ed_history, until=current_hour() - timedelta(days=30))
    naive = services.forecast_model_train(department=ed_history, algorithms=["seasonal_naive"])
    comparison = naive.backtest_metrics["comparison"]
    # Compared only where neither version had seen the data: after v1's training end.
    assert comparison["forecasts_compared"] >= 7
    assert comparison["new_poisson_deviance"] > comparison["active_poisson_deviance"]
    assert naive.version == 2 and not naive.is_active
    forced = services.forecast_model_train(department=ed_history, algorithms=["seasonal_naive"], activate=True)
    assert forced.is_active
    assert list(ForecastModel.objects.filter(is_active=True)) == [forced]
    first.refresh_from_db()
    assert not first.is_active


def test_without_unseen_data_to_compare_on_the_newer_version_wins(ed_history):
    services.forecast_model_train(department=ed_history)
    newer = services.forecast_model_train(department=ed_history, algorithms=["seasonal_naive"])
    assert newer.is_active and newer.backtest_metrics["comparison"]["forecasts_compared"] == 0


def test_a_forecast_job_trains_a_model_if_needed_and_stores_hourly_points(ed_history, request_forecast):
    forecast = request_forecast(ed_history, horizon=36)
    assert forecast.status == ForecastStatus.SUCCEEDED, forecast.failure_reason
    assert forecast.model.is_active and forecast.attempts == 1
    assert len(forecast.points) == 36
    assert forecast.points[0]["hour"].startswith(current_hour().strftime("%Y-%m-%dT%H"))
    for point in forecast.points:
        assert point["arrivals_lower"] <= point["arrivals_mean"] <= point["arrivals_upper"]
        assert 0 <= point["census_lower"] <= point["census_mean"] <= point["census_upper"]
        assert point["census_mean"] > 0


def test_a_finished_job_is_left_alone_when_run_again(ed_history, request_forecast):
    forecast = request_forecast(ed_history)
    again = services.forecast_run(forecast_id=forecast.id)
    assert (again.status, again.attempts, again.points) == (forecast.status, forecast.attempts, forecast.points)


def test_stale_data_fails_the_job_with_the_reason(ed, request_forecast):
    ten_days_ago = current_hour() - timedelta(days=10)
    encounter_services.arrivals_ingest(department=ed, records=records_until(ten_days_ago, days=100), source="s")
    forecast = request_forecast(ed)
    assert forecast.status == ForecastStatus.FAILED
    assert "latest data" in forecast.failure_reason and "bridge at most 144 h" in forecast.failure_reason


def test_a_short_gap_in_the_data_is_bridged(ed, request_forecast):
    two_days_ago = current_hour() - timedelta(days=2)
    encounter_services.arrivals_ingest(department=ed, records=records_until(two_days_ago, days=130), source="s")
    forecast = request_forecast(ed, horizon=24)
    assert forecast.status == ForecastStatus.SUCCEEDED, forecast.failure_reason
    # The points still start at the issue hour, not where the data ended.
    assert forecast.points[0]["hour"].startswith(current_hour().strftime("%Y-%m-%dT%H"))
    assert len(forecast.points) == 24


def test_no_data_fails_the_job(ed, request_forecast):
    forecast = request_forecast(ed)
    assert forecast.status == ForecastStatus.FAILED and "no workload data" in forecast.failure_reason


def test_a_corrupted_artifact_fails_the_job(ed_history, request_forecast):
    model = services.forecast_model_train(department=ed_history)
    ForecastModel.objects.filter(id=model.id).update(artifact=b"tampered")
    outlook._loaded.clear()  # a process that already verified this artifact keeps its copy
    forecast = request_forecast(ed_history)
    assert forecast.status == ForecastStatus.FAILED and "checksum" in forecast.failure_reason


def test_an_unexpected_error_fails_the_job_without_details(ed_history, request_forecast):
    with mock.patch.object(services, "forecast_points", autospec=True, side_effect=RuntimeError("secret detail")):
        forecast = request_forecast(ed_history)
    assert forecast.status == ForecastStatus.FAILED
    assert forecast.failure_reason == "internal error: RuntimeError"


def test_a_job_left_running_too_often_is_given_up(ed_history):
    forecast = Forecast.objects.create(
        department=ed_history,
        issued_at=current_hour(),
        horizon_hours=12,
        confidence_level=0.9,
        status=ForecastStatus.RUNNING,
        attempts=services.MAX_ATTEMPTS,
    )
    assert services.forecast_run(forecast_id=forecast.id).status == ForecastStatus.FAILED


def test_the_task_retries_a_database_outage_then_fails_the_job(ed_history):
    forecast = Forecast.objects.create(
        department=ed_history, issued_at=current_hour(), horizon_hours=12, confidence_level=0.9
    )
    outage = mock.patch("predictions.tasks.forecast_run", autospec=True, side_effect=OperationalError("down"))
    with outage, pytest.raises(Retry):
        forecast_run_task.apply(args=[str(forecast.id)], throw=True)
    forecast.refresh_from_db()
    assert forecast.status == ForecastStatus.QUEUED  # still to be retried
    with outage:
        forecast_run_task.apply(args=[str(forecast.id)], retries=MAX_RETRIES, throw=True)
    forecast.refresh_from_db()
    assert forecast.status == ForecastStatus.FAILED and "unreachable" in forecast.failure_reason


def test_a_forecast_task_has_the_job_time_limits(settings):
    assert forecast_run_task.time_limit == settings.CELERY_JOB_TIME_LIMIT <= settings.CELERY_TASK_TIME_LIMIT
    assert forecast_run_task.soft_time_limit == settings.CELERY_JOB_TIME_LIMIT - 30


def test_new_data_forgets_the_cached_latest_forecast(
    ed_history, settings, request_forecast, django_capture_on_commit_callbacks
):
    settings.REDIS_URL = "redis://cache-in-this-test"  # forecast_latest caches only with Redis configured
    forecast = request_forecast(ed_history)
    assert forecast_latest(ed_history) == forecast
    assert cache.get(latest_forecast_key(ed_history.id)) == str(forecast.id)
    records = records_until(current_hour() + timedelta(hours=1), days=1, seed=9)
    # (The staffing recheck that new census also schedules would read, and cache, the latest forecast again.)
    with (
        mock.patch("monitoring_app.receivers.job_enqueue", autospec=True) as recheck,
        django_capture_on_commit_callbacks(execute=True),  # exits first: the callbacks run patched
    ):
        encounter_services.arrivals_ingest(department=ed_history, records=records, source="late")
    assert recheck.called
    assert cache.get(latest_forecast_key(ed_history.id)) is None


def test_live_accuracy_scores_forecast_hours_that_have_happened(ed_history):
    issue = current_hour() - timedelta(days=3)
    model = services.forecast_model_train(department=ed_history, until=issue)  # trained before the issue hour
    points = outlook.forecast_points(
        department=ed_history, model=model, issue_hour=epoch_hour(issue), horizon=48, confidence=0.9
    )
    Forecast.objects.create(
        department=ed_history,
        model=model,
        issued_at=issue,
        horizon_hours=48,
        confidence_level=0.9,
        points=points,
        status=ForecastStatus.SUCCEEDED,
    )
    bands = forecast_live_accuracy(ed_history, since=issue - timedelta(hours=1))
    assert [band["horizon_band"] for band in bands] == ["1-6h", "7-24h", "25-72h"]
    assert sum(band["hours_scored"] for band in bands) == 48
    assert all(0 <= band["arrivals_coverage"] <= 1 and band["arrivals_mae"] < 5 for band in bands)


def test_weekly_retraining_adds_a_version_where_there_is_data(ed_history, icu):
    assert forecast_models_retrain_task.apply().get() == 2  # one task per department
    assert forecast_model_train_task.apply(args=[ed_history.id]).get() == "v2 activated"
    assert forecast_model_train_task.apply(args=[icu.id]).get().startswith("skipped: ICU has no workload data")


def test_a_job_uses_no_version_trained_after_its_issue_hour(ed_history, request_forecast):
    early = services.forecast_model_train(department=ed_history, until=current_hour() - timedelta(days=10))
    forecast = request_forecast(ed_history)
    later = services.forecast_model_train(department=ed_history, activate=True)
    stale_job = Forecast.objects.create(
        department=ed_history,
        issued_at=current_hour() - timedelta(days=5),
        horizon_hours=12,
        confidence_level=0.9,
    )
    assert services.forecast_run(forecast_id=stale_job.id).model == early
    assert forecast.model == early and later.is_active


def test_a_model_trained_with_other_library_versions_is_replaced(ed_history, request_forecast):
    old = services.forecast_model_train(department=ed_history)
    old.backtest_metrics["library_versions"] = {"scikit-learn": "0.1"}
    old.save(update_fields=["backtest_metrics"])
    outlook._loaded.clear()
    forecast = request_forecast(ed_history)
    assert forecast.status == ForecastStatus.SUCCEEDED and forecast.model.version == 2


def test_a_job_left_running_by_a_dead_worker_runs_again(ed_history):
    forecast = Forecast.objects.create(
        department=ed_history,
        issued_at=current_hour(),
        horizon_hours=12,
        confidence_level=0.9,
        status=ForecastStatus.RUNNING,
        attempts=1,
    )
    done = services.forecast_run(forecast_id=forecast.id)
    assert (done.status, done.attempts) == (ForecastStatus.SUCCEEDED, 2)


def test_the_sweep_queues_again_jobs_nobody_works_on(ed_history):
    lost = Forecast.objects.create(
        department=ed_history, issued_at=current_hour(), horizon_hours=12, confidence_level=0.9
    )
    Forecast.objects.filter(id=lost.id).update(created_at=timezone.now() - timedelta(minutes=10))
    fresh = Forecast.objects.create(
        department=ed_history, issued_at=current_hour(), horizon_hours=12, confidence_level=0.9
    )
    assert services.forecast_jobs_sweep() == 1  # eager here: the lost job runs at once
    lost.refresh_from_db()
    fresh.refresh_from_db()
    assert lost.status == ForecastStatus.SUCCEEDED and fresh.status == ForecastStatus.QUEUED


def test_a_broker_outage_at_request_time_leaves_the_job_queued(ed_history, request_forecast):
    down = mock.patch.object(forecast_run_task, "apply_async", autospec=True, side_effect=ConnectionError("down"))
    with down:
        forecast = request_forecast(ed_history)
    assert forecast.status == ForecastStatus.QUEUED


def test_recorded_stays_give_the_census_its_length_of_stay(ed):
    start = current_hour() - timedelta(days=200)
    records = [
        encounter_record(f"s{i}", start=start + timedelta(hours=i), hours=2.0 + (i % 5), department="ED")
        for i in range(24 * 120)
    ]
    encounter_services.encounters_ingest(records=records, source="test")
    model = services.forecast_model_train(department=ed, until=current_hour() - timedelta(days=80))
    assert model.stay_model["source"].startswith("fitted to")
    assert 3.0 < model.stay_model["median_hours"] < 5.0


def _forecast_against(department, census_actual: list[int], census_forecast: list[float]) -> list[dict]:
    """Hours that have passed with the given census, a forecast of them issued the hour before the
    first, and its live accuracy."""
    first = current_hour() - timedelta(hours=len(census_actual) + 1)
    hours = [first + timedelta(hours=offset) for offset in range(len(census_actual))]
    for hour, census in zip(hours, census_actual, strict=True):
        WorkloadHour.objects.create(department=department, hour=hour, arrivals=1, discharges=1, census=census)
    points = [
        {
            "hour": hour.isoformat(),
            "arrivals_mean": 1.0,
            "arrivals_lower": 0.0,
            "arrivals_upper": 2.0,
            "census_mean": mean,
        }
        for hour, mean in zip(hours, census_forecast, strict=True)
    ]
    Forecast.objects.create(
        department=department,
        issued_at=first - timedelta(hours=1),
        horizon_hours=len(points),
        confidence_level=0.9,
        points=points,
        status=ForecastStatus.SUCCEEDED,
    )
    return forecast_live_accuracy(department, since=first - timedelta(hours=2))


def test_census_mape_is_total_error_over_total_census(ed):
    [band] = _forecast_against(ed, census_actual=[10, 10, 20, 0], census_forecast=[11.0, 9.0, 20.0, 2.0])
    assert band["horizon_band"] == "1-6h" and band["hours_scored"] == 4
    assert band["census_mape"] == pytest.approx(4 / 40)  # |1| + |-1| + 0 + |2| over 10 + 10 + 20 + 0


def test_census_mape_is_none_when_no_patient_was_in(ed):
    [band] = _forecast_against(ed, census_actual=[0, 0], census_forecast=[1.0, 0.0])
    assert band["census_mape"] is None and band["census_mae"] == 0.5


def _day_forecast(department, *, first, arrivals: list[int] | int, mean_per_hour: float) -> None:
    """24 hours that have passed (arrivals per hour, or the same in each) and a forecast of them issued at `first`."""
    hours = [first + timedelta(hours=offset) for offset in range(24)]
    per_hour = arrivals if isinstance(arrivals, list) else [arrivals] * 24
    for hour, count in zip(hours, per_hour, strict=True):
        WorkloadHour.objects.create(department=department, hour=hour, arrivals=count, discharges=0, census=0)
    Forecast.objects.create(
        department=department,
        issued_at=first,
        horizon_hours=24,
        confidence_level=0.9,
        points=[
            {
                "hour": hour.isoformat(),
                "arrivals_mean": mean_per_hour,
                "arrivals_lower": 0.0,
                "arrivals_upper": 9.0,
                "census_mean": 0.0,
            }
            for hour in hours
        ],
        status=ForecastStatus.SUCCEEDED,
    )


def test_daily_mape_weighs_days_by_their_arrivals_and_leaves_out_days_not_over(ed):
    start = current_hour() - timedelta(hours=60)
    _day_forecast(ed, first=start, arrivals=5, mean_per_hour=5.5)  # 132 for 120
    _day_forecast(ed, first=start + timedelta(hours=24), arrivals=1, mean_per_hour=0.5)  # 12 for 24
    _day_forecast(ed, first=current_hour() - timedelta(hours=6), arrivals=1, mean_per_hour=1)  # not over
    daily = forecast_live_daily_mape(ed, since=start - timedelta(hours=1))
    assert daily["forecasts"] == 2
    assert daily["mape"] == pytest.approx((12 + 12) / (120 + 24), abs=1e-4)


def test_a_quiet_unit_forecast_right_about_the_mean_stays_under_its_limit_though_over_8_percent(ed, icu):
    """Five arrivals a day: chance alone is tens of percent off, so 8% cannot be the alarm there."""
    start = current_hour() - timedelta(hours=24 * 8)
    for day, arrivals in enumerate([3, 7, 5, 4, 6, 5, 2]):  # Poisson-like days around 5
        first = start + timedelta(hours=24 * day)
        _day_forecast(icu, first=first, arrivals=[1] * arrivals + [0] * (24 - arrivals), mean_per_hour=5 / 24)
    daily = forecast_live_daily_mape(icu, since=start - timedelta(hours=1))
    assert daily["forecasts"] == 7 and daily["mape"] > 0.08
    assert daily["mape"] < daily["limit"] < 1
    # The same forecast for the ED, where each day brings 120: the limit is tight.
    _day_forecast(ed, first=start, arrivals=5, mean_per_hour=5)
    assert forecast_live_daily_mape(ed, since=start - timedelta(hours=1))["limit"] < 0.25
