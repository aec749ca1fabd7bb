"""Synthetic hourly arrivals with a known calendar pattern, Poisson around it."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from healthcare.encounters.synthetic import DEMO_PROFILES, arrival_rates
from predictions.features import Calendar
from predictions.ml import History

ED_PROFILE = DEMO_PROFILES[0]
ZONE = "America/Chicago"


def poisson_series(first: datetime, hours: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """(true rates, Poisson counts) of the demo ED profile for `hours` hours from `first`."""
    rates = arrival_rates(ED_PROFILE, first_hour=first, hours=hours, tz=ZoneInfo(ZONE), country="US")
    return rates, np.random.default_rng(seed).poisson(rates).astype(np.float64)


@pytest.fixture(scope="session")
def synthetic():
    """800 days of ED arrivals from 2022-01-03, with their true rates and calendar."""
    first = datetime(2022, 1, 3, 6, tzinfo=UTC)
    hours = 800 * 24
    rates, counts = poisson_series(first, hours)
    first_hour = int(first.timestamp() // 3600)
    calendar = Calendar.build(first_hour, hours + 400, timezone=ZONE, holiday_country="US")
    return History(first_hour, counts), rates, calendar


def records_until(end: datetime, days: int, seed: int = 2):
    """ArrivalRecords of `days` synthetic days ending just before `end` (on the hour)."""
    from healthcare.encounters.ingest.records import ArrivalRecord

    first = end - timedelta(hours=days * 24)
    _, counts = poisson_series(first, days * 24, seed)
    return [ArrivalRecord(first + timedelta(hours=i), int(count), f"hour {i}") for i, count in enumerate(counts)]


def current_hour() -> datetime:
    from django.utils import timezone

    return timezone.now().replace(minute=0, second=0, microsecond=0)


@pytest.fixture
def ed_history(ed):
    """130 days of synthetic ED arrivals up to the current hour."""
    from healthcare.encounters import services

    services.arrivals_ingest(department=ed, records=records_until(current_hour(), days=130), source="synthetic")
    return ed
