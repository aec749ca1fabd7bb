"""Shared fixtures. Under CI=true the suite refuses to run without PostgreSQL and Redis."""

import contextlib
import os
from datetime import timedelta
from pathlib import Path
from unittest import mock

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from tests.factories import current_hour, department_make, records_until, user_make
from tests.servers import daphne_serving

# The real data sets live beside the repository (never copied into it).
SHARED_DATA_CANDIDATES = [
    Path(os.environ.get("SHARED_DATA_DIR", "")),
    Path(__file__).resolve().parents[2] / "shared" / "data",
    Path("/work/shared/data"),
]


def pytest_configure(config):
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        database = settings.DATABASES["default"]["ENGINE"]
        problems = []
        if "postgresql" not in database:
            problems.append(f"DATABASE_URL must point at PostgreSQL (engine is {database})")
        if not settings.REDIS_URL:
            problems.append("REDIS_URL must be set")
        if problems:
            raise pytest.UsageError("CI=true but " + "; ".join(problems))


def pytest_collection_modifyitems(config, items):
    """Without CI, tests that need a service that is not configured are skipped, and say why."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        return
    skip_redis = pytest.mark.skip(reason="needs Redis: set REDIS_URL (CI always does)")
    skip_postgres = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL (CI always does)")
    on_postgres = "postgresql" in settings.DATABASES["default"]["ENGINE"]
    for item in items:
        if "redis" in item.keywords and not settings.REDIS_URL:
            item.add_marker(skip_redis)
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(skip_postgres)


@pytest.fixture(autouse=True)
def celery_eager(request):
    """Tasks run in the test's process (STYLE: tests call services or run tasks eagerly).

    Tests marked `redis` keep the configured broker: they prove a real worker consumes it.
    """
    if "redis" in request.keywords:
        yield
        return
    from healthcare.celery import app

    saved = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = saved


@pytest.fixture(autouse=True)
def fresh_caches():
    """Each test starts with empty caches: rolled-back databases reuse ids that caches key on."""
    from django.core.cache import cache

    from optimization import policies as optimization_policies
    from predictions import outlook as prediction_outlook

    for store in (
        prediction_outlook._loaded,
        prediction_outlook._arrival_bases,
        optimization_policies._loaded_policies,
    ):
        store.clear()
    cache.clear()
    yield


@pytest.fixture
def pushed(django_capture_on_commit_callbacks):
    """A context manager: the mock of what the dashboards are sent by the work done inside it, once
    that work commits (other apps announce it with signals; dashboard.receivers pushes)."""

    @contextlib.contextmanager
    def capture():
        with (
            mock.patch("dashboard.receivers.broadcast_department_event", autospec=True) as broadcast,
            django_capture_on_commit_callbacks(execute=True),
        ):
            yield broadcast

    return capture


@pytest.fixture(scope="session")
def shared_data() -> Path:
    for candidate in SHARED_DATA_CANDIDATES:
        if str(candidate) != "." and (candidate / "uihc_ed_hourly_train.csv").is_file():
            return candidate
    pytest.fail("the shared data folder is missing: set SHARED_DATA_DIR (tried ../shared/data)")


@pytest.fixture
def ed(db):
    return department_make(code="ED", unit_type="ed")


@pytest.fixture
def icu(db):
    return department_make(code="ICU", unit_type="icu")


@pytest.fixture
def ed_staff(ed):
    return user_make("ed_staff", role="staff", departments=[ed])


@pytest.fixture
def icu_staff(icu):
    return user_make("icu_staff", role="staff", departments=[icu])


@pytest.fixture
def integrator(ed):
    return user_make("integrator", role="integrator", departments=[ed])


@pytest.fixture
def hospital_admin(db):
    return user_make("admin", role="admin", departments=[])


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def ed_history(ed):
    """130 days of synthetic ED arrivals up to the current hour."""
    from healthcare.encounters import services

    services.arrivals_ingest(department=ed, records=records_until(current_hour(), days=130), source="synthetic")
    return ed


@pytest.fixture
def ed_forecaster(ed_history):
    """ed_history with an active forecaster trained on all of it (what the look-ahead reads)."""
    from predictions.services import forecast_model_train

    return forecast_model_train(department=ed_history, until=current_hour(), activate=True)


@pytest.fixture(scope="session")
def asgi_server(django_db_setup, django_db_blocker):
    """Base URL of the session's daphne server (daphne_serving); tests that use it need
    transactional_db, so it sees their rows."""
    with daphne_serving(django_db_blocker) as base:
        yield base


@pytest.fixture
def ed_named_ward(ed):
    """(roster, nurses): four ED nurses on a roster of named nurses in force for a week around today;
    the first two work every day shift, the last two are off all week."""
    from django.utils import timezone

    from tests.factories import contract_make, named_roster_make, nurses_make

    nurses = nurses_make(ed, 4, contract=contract_make("Week", period_days=7, min_minutes=0, max_minutes=6 * 480))
    roster = named_roster_make(
        ed,
        first_day=timezone.now().date() - timedelta(days=3),
        days=7,
        shifts={nurses[0]: ["D"] * 7, nurses[1]: ["D"] * 7, nurses[2]: [None] * 7, nurses[3]: [None] * 7},
    )
    return roster, nurses


@pytest.fixture
def ed_nurse_user(ed_named_ward):
    """The account of the ward's fourth nurse (role nurse, no department)."""
    user = user_make("ed_nurse", role="nurse")
    nurse = ed_named_ward[1][3]
    nurse.user = user
    nurse.save(update_fields=["user"])
    return user
