"""Builders of the plans and forecasts that alert checks read."""

from datetime import datetime, timedelta

import pytest

from monitoring_app import services
from monitoring_app.models import AlertKind
from predictions.models import Forecast, ForecastStatus
from tests.factories import iso, plan_make  # noqa: F401 - the builders these tests import from here


def forecast_make(department, issued_at: datetime, census_mean: list[float], *, spread=3.0, **point_fields) -> Forecast:
    """A successful forecast from `issued_at` on, with this mean census per hour (the interval +- spread)."""
    points = [
        {
            "hour": iso(issued_at + timedelta(hours=index)),
            "census_mean": mean,
            "census_lower": max(mean - spread, 0.0),
            "census_upper": mean + spread,
            "arrivals_mean": 2.0,
            "arrivals_lower": 0.0,
            "arrivals_upper": 5.0,
        }
        | point_fields
        for index, mean in enumerate(census_mean)
    ]
    return Forecast.objects.create(
        department=department,
        issued_at=issued_at,
        horizon_hours=len(points),
        confidence_level=0.9,
        points=points,
        status=ForecastStatus.SUCCEEDED,
        finished_at=issued_at,
    )


@pytest.fixture
def raise_alert():
    """Raise a job_failed condition for a department (the simplest alert there is)."""

    def make(department, key="job:1", *, title="Forecast failed", detail=None, **fields):
        alert, _ = services.alert_raise(
            department=department,
            kind=fields.pop("kind", AlertKind.JOB_FAILED),
            key=key,
            title=title,
            detail={"reason": "first"} if detail is None else detail,
            **fields,
        )
        return alert

    return make
