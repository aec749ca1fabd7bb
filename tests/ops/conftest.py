"""Fixtures of the operations proofs: real web and worker processes on the test database.

Tests here use transactional_db (django_db(transaction=True)) so the processes they start see the rows
they write, and mark themselves `postgres` and `redis`. Every process a test starts is stopped by its
process group when the test ends, pass or fail (the `services` fixture).
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from rest_framework_simplejwt.tokens import RefreshToken

from tests.factories import current_hour, records_until
from tests.factories import database_url as url_of_database
from tests.ops.processes import Services


@pytest.fixture
def services(tmp_path):
    """Starts processes (daphne, workers, redis-server, commands); stops all of them at the end."""
    started = Services(directory=tmp_path)
    try:
        yield started
    finally:
        started.close()


@pytest.fixture(scope="session")
def database_url(django_db_setup, django_db_blocker) -> str:
    """DATABASE_URL of the test database pytest-django created, for the processes the tests start."""
    with django_db_blocker.unblock():
        if connection.vendor != "postgresql":
            pytest.skip("needs PostgreSQL: set DATABASE_URL (CI always does)")
        return url_of_database(connection.settings_dict)


@pytest.fixture
def ed_planning(ed):
    """The ED with 130 days of arrivals up to the current hour and an active forecaster: plans can be made."""
    from healthcare.encounters import services as encounter_services
    from predictions.services import forecast_model_train

    encounter_services.arrivals_ingest(
        department=ed, records=records_until(current_hour() + timedelta(hours=1), days=130), source="synthetic"
    )
    forecast_model_train(department=ed, activate=True, algorithms=["poisson_glm"])
    return ed


def token_for(user) -> str:
    """An access token, as POST /api/v1/auth/token/ would give (without spending the sign-in rate limit)."""
    return str(RefreshToken.for_user(user).access_token)


def session_for(user) -> str:
    """A signed-in session id (stored in the database), as the dashboard's browser holds."""
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value
