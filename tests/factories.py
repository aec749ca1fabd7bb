"""Builders of test objects through the same services the product uses."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from healthcare.encounters.ingest.records import EncounterRecord
from healthcare.encounters.models import Department
from healthcare.encounters.services import department_create
from healthcare.encounters.synthetic import DEMO_PROFILES, arrival_rates
from healthcare.hours import iso_utc as iso  # noqa: F401 - hours as the services write them
from optimization.models import OptimizationRun, RunStatus
from optimization.plan_result import Plan, PlannedHour
from optimization.policies import staffing_rules_for

PASSWORD = "a-long-test-password-1"


def department_make(*, code: str = "ED", unit_type: str = "ed", **fields) -> Department:
    return department_create(code=code, name=fields.pop("name", f"{code} unit"), unit_type=unit_type, **fields)


def user_make(username: str, *, role: str, departments=()):
    user = get_user_model().objects.create_user(username=username, password=PASSWORD)
    user.groups.add(Group.objects.get(name=role))
    for department in departments:
        department.members.add(user)
    return user


def hour(day: int, hour_of_day: int, minute: int = 0) -> datetime:
    """A UTC moment in January 2024 (day 1-31), handy for readable expectations."""
    return datetime(2024, 1, day, hour_of_day, minute, tzinfo=UTC)


def encounter_record(
    source_id: str,
    *,
    start: datetime,
    end: datetime | None = None,
    hours: float | None = None,
    department: str = "ED",
    status: str | None = None,
    patient: str = "patient-1",
    encounter_class: str = "EMER",
) -> EncounterRecord:
    if hours is not None:
        end = start + timedelta(hours=hours)
    return EncounterRecord(
        source_id=source_id,
        patient_id=patient,
        department_code=department,
        encounter_class=encounter_class,
        status=status or ("finished" if end else "in-progress"),
        start=start,
        end=end,
        location=f"test record {source_id}",
    )


ED_PROFILE = DEMO_PROFILES[0]
ZONE = "America/Chicago"


def poisson_series(first: datetime, hours: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """(true rates, Poisson counts) of the demo ED profile for `hours` hours from `first`."""
    rates = arrival_rates(ED_PROFILE, first_hour=first, hours=hours, tz=ZoneInfo(ZONE), country="US")
    return rates, np.random.default_rng(seed).poisson(rates).astype(np.float64)


def records_until(end: datetime, days: int, seed: int = 2):
    """ArrivalRecords of `days` synthetic days ending just before `end` (on the hour)."""
    from healthcare.encounters.ingest.records import ArrivalRecord

    first = end - timedelta(hours=days * 24)
    _, counts = poisson_series(first, days * 24, seed)
    return [ArrivalRecord(first + timedelta(hours=i), int(count), f"hour {i}") for i, count in enumerate(counts)]


def current_hour() -> datetime:
    from django.utils import timezone

    return timezone.now().replace(minute=0, second=0, microsecond=0)


def plan_make(department, first, nurses=(), *, status=RunStatus.SUCCEEDED, finished_at=None, in_force=True, **result):
    """A staffing plan written by hand from `first` on, with these nurses per hour (and any other result keys).

    Only a succeeded plan has a result; a queued or running one is not finished. A succeeded
    plan is put in force from its first hour when it finished, unless in_force is False.
    """
    plan = Plan(
        horizon_hours=len(nurses),
        roster=(),
        hours=tuple(
            PlannedHour(
                hour=first + timedelta(hours=index),
                census_mean=0.0,
                census_std=0.0,
                required_nurses_at_mean=0,
                planned_nurses=count,
            )
            for index, count in enumerate(nurses)
        ),
        expected={"roster_cost": 0.0},
        baselines={"static_roster": {"roster_cost": 0.0}},
        roster_quantile_z=0.0,
        forecast_model={"version": None, "algorithm": "written by hand"},
        rules=staffing_rules_for(department),
    )
    finished = status in (RunStatus.SUCCEEDED, RunStatus.FAILED)
    put_in_force = in_force and status == RunStatus.SUCCEEDED
    return OptimizationRun.objects.create(
        department=department,
        planned_from=first,
        status=status,
        finished_at=(finished_at or first) if finished else None,
        result=plan.as_json() | result if status == RunStatus.SUCCEEDED else {},
        in_force_from=first if put_in_force else None,
        put_in_force_at=(finished_at or first) if put_in_force else None,
    )


def database_url(settings_dict: dict) -> str:
    """A PostgreSQL connection's settings as DATABASE_URL, for processes a test starts on the test database."""
    from urllib.parse import quote

    password = f":{quote(settings_dict['PASSWORD'])}" if settings_dict["PASSWORD"] else ""
    host = f"{settings_dict['HOST']}:{settings_dict['PORT'] or 5432}"
    return f"postgres://{settings_dict['USER']}{password}@{host}/{settings_dict['NAME']}"
