"""Reads for forecasting: hourly history, observed stays, latest forecasts, live accuracy."""

from datetime import datetime, timedelta

import numpy as np
from django.conf import settings
from django.utils import timezone

from healthcare.caching import soft_cache
from healthcare.encounters.choices import NOT_PRESENT_STATUSES
from healthcare.encounters.models import Department, Encounter, WorkloadHour
from healthcare.encounters.selectors import workload_last_hour
from healthcare.hours import epoch_hour, iso_utc
from predictions.census import StayModel
from predictions.ml import History
from predictions.models import Forecast, ForecastModel, ForecastStatus
from predictions.scores import block_totals, poisson_absolute_deviation

MIN_OBSERVED_STAYS = 100
HORIZON_BANDS = ((1, 6), (7, 24), (25, 72), (73, 168))


def department_history(department: Department, *, until: datetime, since: datetime | None = None) -> History | None:
    """Hourly arrivals and census of the department before `until` (from `since`), or None without data.

    Hours inside the span without a WorkloadHour row had no patient: they are zeros.
    """
    rows = WorkloadHour.objects.filter(department=department, hour__lt=until)
    if since is not None:
        rows = rows.filter(hour__gte=since)
    values = list(rows.order_by("hour").values_list("hour", "arrivals", "census"))
    if not values:
        return None
    hours = np.fromiter((epoch_hour(row[0]) for row in values), dtype=np.int64, count=len(values))
    first = int(hours[0])
    arrivals = np.zeros(int(hours[-1]) - first + 1)
    census = np.zeros_like(arrivals)
    arrivals[hours - first] = [row[1] for row in values]
    census[hours - first] = [row[2] for row in values]
    return History(first, arrivals, census)


def department_stay_model(department: Department, *, until: datetime) -> tuple[StayModel, str]:
    """Lognormal length of stay fitted to recorded stays, or the department's own model.

    Stays that began in the year before `until`, but not in its last 30 days (most of those
    are still open, and the closed ones are the short ones), and that ended before `until`.
    """
    stays = list(
        Encounter.objects.filter(
            department=department,
            start__gte=until - timedelta(days=365),
            start__lt=until - timedelta(days=30),
            end__isnull=False,
            end__lte=until,
        )
        .exclude(status__in=NOT_PRESENT_STATUSES)
        .values_list("start", "end")
    )
    if len(stays) >= MIN_OBSERVED_STAYS:
        hours = np.array([(end - start).total_seconds() / 3600 for start, end in stays])
        return StayModel.from_stays(hours), f"fitted to {len(stays)} recorded stays"
    return StayModel(department.los_median_hours, department.los_sigma), "the department's length-of-stay model"


def latest_forecast_key(department_id: int) -> str:
    return f"predictions:latest-forecast:{department_id}"


def workload_version_key(department_id: int) -> str:
    """Cache key of a counter bumped whenever the department's workload changes."""
    return f"predictions:workload-version:{department_id}"


def forecast_latest(department: Department) -> Forecast | None:
    """The department's most recently issued successful forecast (cached in Redis when configured)."""
    key = latest_forecast_key(department.id)
    if settings.REDIS_URL:
        forecast_id = soft_cache.get(key)
        if forecast_id:
            forecast = Forecast.objects.filter(id=forecast_id).select_related("model", "department").first()
            if forecast is not None:
                return forecast
    forecast = (
        Forecast.objects.filter(department=department, status=ForecastStatus.SUCCEEDED)
        .select_related("model", "department")
        .order_by("-issued_at", "-finished_at")
        .first()
    )
    if forecast is not None and settings.REDIS_URL:
        soft_cache.set(key, str(forecast.id), timeout=3600)
    return forecast


# Columns of the table of scored forecast hours (_live_table).
HORIZON, ARRIVALS_MEAN, ARRIVALS_LOWER, ARRIVALS_UPPER, ARRIVALS, CENSUS_MEAN, CENSUS, FORECAST = range(8)


def _live_table(department: Department, *, since: datetime, confidence_level: float | None) -> np.ndarray | None:
    """One row per forecast hour that has passed, of the forecasts issued since `since` (see the columns above)."""
    last_observed = workload_last_hour(department)
    forecasts = Forecast.objects.filter(department=department, status=ForecastStatus.SUCCEEDED, issued_at__gte=since)
    if confidence_level is not None:
        forecasts = forecasts.filter(confidence_level=confidence_level)
    forecasts = list(forecasts.order_by("issued_at").values_list("issued_at", "points"))
    if last_observed is None or not forecasts:
        return None
    first = min(issued for issued, _ in forecasts)
    actual = {
        epoch_hour(hour): (arrivals, census)
        for hour, arrivals, census in WorkloadHour.objects.filter(
            department=department, hour__gte=first, hour__lte=last_observed
        ).values_list("hour", "arrivals", "census")
    }
    # The current hour is still filling up: only hours that are over are scored.
    last = min(epoch_hour(last_observed), epoch_hour(timezone.now()) - 1)
    rows = []
    for number, (issued, points) in enumerate(forecasts):
        issued_hour = epoch_hour(issued)
        for point in points:
            hour = epoch_hour(datetime.fromisoformat(point["hour"]))
            if hour > last:
                break
            arrivals, census = actual.get(hour, (0, 0))
            rows.append(
                (
                    hour - issued_hour + 1,
                    point["arrivals_mean"],
                    point["arrivals_lower"],
                    point["arrivals_upper"],
                    arrivals,
                    point["census_mean"],
                    census,
                    number,
                )
            )
    return np.array(rows, dtype=np.float64) if rows else None


def forecast_live_accuracy(
    department: Department, *, since: datetime, confidence_level: float | None = None
) -> list[dict]:
    """Forecasts issued since `since` scored against the actual hours that have come, per horizon band.

    Per band: hours scored, mean absolute error and bias of arrivals and census, the census'
    weighted MAPE (total absolute error over total actual census; None when no patient was in),
    and the share of actual arrivals inside the interval. Hours not yet observed are left out.
    confidence_level: only forecasts issued with that interval (coverage is judged against it).
    """
    table = _live_table(department, since=since, confidence_level=confidence_level)
    if table is None:
        return []
    bands = []
    for low, high in HORIZON_BANDS:
        band = table[(table[:, HORIZON] >= low) & (table[:, HORIZON] <= high)]
        if not len(band):
            continue
        arrivals, census = band[:, ARRIVALS], band[:, CENSUS]
        census_total = float(np.sum(census))
        census_error = float(np.sum(np.abs(census - band[:, CENSUS_MEAN])))
        inside = (arrivals >= band[:, ARRIVALS_LOWER]) & (arrivals <= band[:, ARRIVALS_UPPER])
        bands.append(
            {
                "horizon_band": f"{low}-{high}h",
                "hours_scored": len(band),
                "arrivals_mae": round(float(np.mean(np.abs(arrivals - band[:, ARRIVALS_MEAN]))), 3),
                "arrivals_bias": round(float(np.mean(band[:, ARRIVALS_MEAN] - arrivals)), 3),
                "arrivals_coverage": round(float(np.mean(inside)), 3),
                "census_mae": round(float(np.mean(np.abs(census - band[:, CENSUS_MEAN]))), 3),
                "census_bias": round(float(np.mean(band[:, CENSUS_MEAN] - census)), 3),
                # Weighted, not per hour: an hour with one patient would otherwise weigh like a full ward.
                "census_mape": round(census_error / census_total, 4) if census_total else None,
            }
        )
    return bands


def forecast_live_daily_mape(department: Department, *, since: datetime) -> dict | None:
    """Daily arrivals error of the forecasts issued since `since` whose first 24 hours have passed.

    {forecasts, mape, limit}: mape is weighted (total absolute error of the daily totals over
    total arrivals), so a quiet day does not weigh like a busy one. limit is what a forecast
    that is right about the mean stays under 97.5% of the time when arrivals are Poisson around
    it: the expected error plus two standard errors, from the forecasts' own means. Where a unit
    has a few arrivals a day, chance alone exceeds any fixed goal such as 8%; above `limit`, the
    forecast is off. None before any such forecast, or with no arrival at all.
    """
    table = _live_table(department, since=since, confidence_level=None)
    if table is None:
        return None
    first_day = table[table[:, HORIZON] <= 24]
    numbers, hours = np.unique(first_day[:, FORECAST], return_counts=True)
    day = first_day[np.isin(first_day[:, FORECAST], numbers[hours == 24])]
    actual, forecast = block_totals(day[:, ARRIVALS], 24, 24), block_totals(day[:, ARRIVALS_MEAN], 24, 24)
    if not len(actual) or actual.sum() <= 0:
        return None
    deviation, variance = poisson_absolute_deviation(forecast)
    limit = (deviation.sum() + 2 * np.sqrt(variance.sum())) / forecast.sum()
    return {
        "forecasts": len(actual),
        "mape": round(float(np.abs(actual - forecast).sum() / actual.sum()), 4),
        "limit": round(float(limit), 4),
    }


def department_performance(departments, *, since: datetime) -> list[dict]:
    """Per department: the active model, its validation scores, and live accuracy since `since`."""
    active = {
        model.department_id: model
        for model in ForecastModel.objects.filter(department__in=departments, is_active=True).defer("artifact")
    }
    rows = []
    for department in departments:
        model = active.get(department.id)
        rows.append(
            {
                "department": department.code,
                "active_model_version": model.version if model else None,
                "algorithm": model.algorithm if model else None,
                "backtest": model.backtest_metrics.get("candidates", {}).get(model.algorithm) if model else None,
                "live_since": since,
                "live": forecast_live_accuracy(department, since=since),
            }
        )
    return rows


def forecasts_against_actuals(department: Department, *, first: datetime, last: datetime) -> list[dict]:
    """Each hour first .. last as forecast beforehand and as it came.

    An hour takes the point of the latest successful forecast issued at or before it (the
    forecast someone would have looked at). Hours after the latest data have no actual.
    """
    forecasts = (
        Forecast.objects.filter(
            department=department,
            status=ForecastStatus.SUCCEEDED,
            issued_at__lte=last,
            issued_at__gt=first - timedelta(hours=168),
        )
        .order_by("issued_at", "created_at")
        .values_list("points", flat=True)
    )
    forecast_at: dict[datetime, dict] = {}
    for points in forecasts:  # oldest first: a later forecast replaces an earlier one
        for point in points:
            moment = datetime.fromisoformat(point["hour"])
            if first <= moment <= last:
                forecast_at[moment] = point
    last_observed = workload_last_hour(department)
    actual = {
        hour: (arrivals, census)
        for hour, arrivals, census in WorkloadHour.objects.filter(
            department=department, hour__gte=first, hour__lte=last
        ).values_list("hour", "arrivals", "census")
    }
    rows = []
    hour = first
    while hour <= last:
        observed = last_observed is not None and hour <= last_observed
        arrivals, census = actual.get(hour, (0, 0)) if observed else (None, None)
        point = forecast_at.get(hour)
        rows.append(
            {
                "hour": iso_utc(hour),
                "arrivals": arrivals,
                "census": census,
                "arrivals_mean": point["arrivals_mean"] if point else None,
                "census_mean": point["census_mean"] if point else None,
                "census_lower": point["census_lower"] if point else None,
                "census_upper": point["census_upper"] if point else None,
            }
        )
        hour += timedelta(hours=1)
    return rows
