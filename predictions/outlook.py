"""Forecasts computed from a trained model and the stored workload: reads that never write.

The page, websocket and point-of-care paths forecast from here; training and forecast jobs
(predictions.services) build on the same functions. Loaded models and arrival forecasts are
kept per process, keyed by what they were made from, so repeating a read is cheap.
"""

import pickle
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from healthcare.caching import soft_cache
from healthcare.encounters.models import Department
from healthcare.hours import epoch_hour, hour_start, iso_utc
from predictions.census import ANCHOR_LIMITS, CensusForecast, StayModel, census_forecast
from predictions.features import Calendar
from predictions.ml import MAX_HORIZON, ArrivalForecast, TrainedForecaster, library_versions
from predictions.models import ForecastModel
from predictions.selectors import department_history, forecast_latest, workload_version_key

# A forecast bridges at most this long a gap between the latest data and its issue hour.
MAX_STALENESS_HOURS = 7 * 24
# Forecasts read this much history: the recent level (4 weeks) and the patients still present.
FORECAST_HISTORY = timedelta(days=35)


class ForecastUnavailable(Exception):
    """The data cannot support a forecast (too little, too old); the message says why."""


class ModelOutdated(ForecastUnavailable):
    """The model was trained with other library versions than this process runs."""


def department_calendar(department: Department, first_hour: int, end_hour: int) -> Calendar:
    return Calendar.build(
        first_hour, end_hour - first_hour, timezone=department.timezone, holiday_country=department.holiday_country
    )


# Loaded forecasters by artifact checksum: each artifact is unpickled once per process.
_loaded: dict[str, TrainedForecaster] = {}
LOADED_MAX = 32


def forecaster_load(model: ForecastModel) -> TrainedForecaster:
    """The model's trained forecaster, loaded once per process; refuses a corrupted artifact."""
    forecaster = _loaded.get(model.artifact_sha256)
    if forecaster is not None:
        return forecaster
    trained_with = model.backtest_metrics.get("library_versions")
    if trained_with and trained_with != library_versions():
        raise ModelOutdated(f"model v{model.version} was trained with {trained_with}, not {library_versions()}")
    if not model.artifact_intact():
        raise ForecastUnavailable(f"the artifact of model v{model.version} fails its checksum")
    forecaster = pickle.loads(bytes(model.artifact))  # noqa: S301 - our own artifact, checksum verified
    if len(_loaded) >= LOADED_MAX:
        _loaded.pop(next(iter(_loaded)))
    _loaded[model.artifact_sha256] = forecaster
    return forecaster


@dataclass
class Outlook:
    """Arrivals and census of the hours start_hour .. start_hour + horizon - 1, as forecast."""

    start_hour: int
    arrivals: ArrivalForecast
    census: CensusForecast
    dispersion: float
    model: ForecastModel


def workload_outlook(
    *,
    department: Department,
    model: ForecastModel,
    issue_hour: int,
    horizon: int,
    confidence: float,
    census_now: float | None = None,
) -> Outlook:
    """Forecast arrivals and census from issue_hour on, from the data before it only.

    When the latest data ends before the issue hour (up to MAX_STALENESS_HOURS), the
    forecast starts where the data ends and covers the gap too. census_now replaces the
    last observed census as the anchor of the patients already present (it is the latest
    census known, even when the recorded data ends earlier).
    """
    forecaster = forecaster_load(model)
    history, arrivals = _arrival_basis(department, model, forecaster, issue_hour, horizon, confidence)
    start = history.end_hour
    gap = issue_hour - start
    last_census = float(history.census[-1]) if history.census is not None else None
    census = census_forecast(
        issue_hour=start,
        past_arrivals=history.arrivals,
        last_census=census_now if census_now is not None else last_census,
        anchor_limits=(0.0, np.inf) if census_now is not None else ANCHOR_LIMITS,
        arrival_mean=arrivals.mean,
        arrival_dispersion=forecaster.calibration.dispersion,
        stays=StayModel(model.stay_model["median_hours"], model.stay_model["sigma"]),
        confidence=confidence,
    )
    window = slice(gap, gap + horizon)
    return Outlook(
        start_hour=issue_hour,
        arrivals=ArrivalForecast(issue_hour, arrivals.mean[window], arrivals.lower[window], arrivals.upper[window]),
        census=CensusForecast(
            mean=census.mean[window], std=census.std[window], lower=census.lower[window], upper=census.upper[window]
        ),
        dispersion=forecaster.calibration.dispersion,
        model=model,
    )


# Arrival forecasts by (department, model, issue hour, horizon, confidence, data version):
# within an hour every plan and recommendation starts from the same one.
_arrival_bases: dict[tuple, tuple] = {}
ARRIVAL_BASES_MAX = 64


def workload_version(department_id: int) -> int:
    """Bumped whenever the department's workload changes (predictions.receivers)."""
    return soft_cache.get(workload_version_key(department_id), 0)


def _arrival_basis(department, model, forecaster, issue_hour: int, horizon: int, confidence: float):
    """(recent history, arrival forecast from where the data ends) for a forecast issued at issue_hour."""
    key = (department.id, model.pk, issue_hour, horizon, confidence, workload_version(department.id))
    if key in _arrival_bases:
        return _arrival_bases[key]
    history = department_history(
        department, until=hour_start(issue_hour), since=hour_start(issue_hour) - FORECAST_HISTORY
    )
    if history is None:
        raise ForecastUnavailable(f"{department.code} has no workload data in the {FORECAST_HISTORY.days} days before")
    gap = issue_hour - history.end_hour
    # The models forecast at most MAX_HORIZON hours past their data.
    bridgeable = min(MAX_STALENESS_HOURS, MAX_HORIZON - horizon)
    if gap > bridgeable:
        latest = hour_start(history.end_hour - 1)
        raise ForecastUnavailable(
            f"the latest data of {department.code} is from {latest:%Y-%m-%d %H:00} UTC; a {horizon} h forecast can "
            f"bridge at most {bridgeable} h without data"
        )
    calendar = department_calendar(department, history.first_hour, issue_hour + horizon)
    arrivals = forecaster.forecast(history, calendar, history.end_hour, gap + horizon, confidence)
    if len(_arrival_bases) >= ARRIVAL_BASES_MAX:
        _arrival_bases.pop(next(iter(_arrival_bases)))
    _arrival_bases[key] = (history, arrivals)
    return history, arrivals


def forecast_points(
    *, department: Department, model: ForecastModel, issue_hour: int, horizon: int, confidence: float
) -> list[dict]:
    """Hourly arrivals and census, mean and interval, from issue_hour on; data before it only."""
    outlook = workload_outlook(
        department=department, model=model, issue_hour=issue_hour, horizon=horizon, confidence=confidence
    )
    arrivals, census = outlook.arrivals, outlook.census
    return [
        {
            "hour": iso_utc(hour_start(issue_hour + index)),
            "arrivals_mean": round(float(arrivals.mean[index]), 3),
            "arrivals_lower": int(arrivals.lower[index]),
            "arrivals_upper": int(arrivals.upper[index]),
            "census_mean": round(float(census.mean[index]), 2),
            "census_lower": round(float(census.lower[index]), 2),
            "census_upper": round(float(census.upper[index]), 2),
        }
        for index in range(horizon)
    ]


def census_outlook_points(department: Department, *, now: datetime, hours: int) -> tuple[list[dict], dict | None]:
    """The census expected over the hours now .. now + hours - 1, and where it comes from.

    The latest successful forecast job when it covers all those hours; otherwise the active
    model's outlook from this hour (cached per hour and data version); failing both, what a
    forecast job still covers. Never trains a model: this runs on the websocket and page
    path. Returns ([], None) when nothing covers `now`.
    Points: {hour, census_mean, census_lower, census_upper, arrivals_mean}.
    """
    forecast, partial = forecast_latest(department), []
    if forecast is not None:
        partial = [
            {key: point[key] for key in ("hour", "census_mean", "census_lower", "census_upper", "arrivals_mean")}
            for point in forecast.points
            if datetime.fromisoformat(point["hour"]) >= now
        ][:hours]
        if partial and len(partial) == hours and datetime.fromisoformat(partial[0]["hour"]) == now:
            return partial, {"issued_at": iso_utc(forecast.issued_at), "source": "forecast job"}
    partial_source = {"issued_at": iso_utc(forecast.issued_at), "source": "forecast job"} if partial else None

    model = ForecastModel.objects.filter(department=department, is_active=True, training_end__lte=now).first()
    if model is None:
        return partial, partial_source
    try:
        outlook = workload_outlook(
            department=department, model=model, issue_hour=epoch_hour(now), horizon=hours, confidence=0.9
        )
    except ForecastUnavailable:
        return partial, partial_source
    points = [
        {
            "hour": iso_utc(now + timedelta(hours=index)),
            "census_mean": round(float(outlook.census.mean[index]), 2),
            "census_lower": round(float(outlook.census.lower[index]), 2),
            "census_upper": round(float(outlook.census.upper[index]), 2),
            "arrivals_mean": round(float(outlook.arrivals.mean[index]), 3),
        }
        for index in range(hours)
    ]
    return points, {"issued_at": iso_utc(now), "source": f"model v{model.version}"}
