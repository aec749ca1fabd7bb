"""Synthetic hourly arrivals with a known calendar pattern, Poisson around it."""

from datetime import UTC, datetime

import pytest

from predictions.features import Calendar
from predictions.ml import History
from tests.factories import ZONE, poisson_series


@pytest.fixture(scope="session")
def synthetic():
    """800 days of ED arrivals from 2022-01-03, with their true rates and calendar."""
    first = datetime(2022, 1, 3, 6, tzinfo=UTC)
    hours = 800 * 24
    rates, counts = poisson_series(first, hours)
    first_hour = int(first.timestamp() // 3600)
    calendar = Calendar.build(first_hour, hours + 400, timezone=ZONE, holiday_country="US")
    return History(first_hour, counts), rates, calendar
