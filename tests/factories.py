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


def contract_make(name: str = "Full time", **rules):
    """A contract over 28 days: 10-20 eight-hour shifts, at most 5 in a row, 11 h of rest (overridable)."""
    from optimization.models import Contract

    fields = {
        "period_days": 28,
        "min_minutes": 10 * 480,
        "max_minutes": 20 * 480,
        "max_shifts": {"D": 20, "E": 20, "N": 10},
        "max_consecutive": 5,
        "min_consecutive": 1,
        "min_days_off": 1,
        "max_weekends": None,
        "min_rest_hours": 11,
    } | rules
    return Contract.objects.get_or_create(name=name, defaults=fields)[0]


def nurses_make(department, count: int, *, contract=None, skills=("rn",), start: int = 1, **fields) -> list:
    """`count` active nurses of the department named 'Nurse <code><n>' (employee numbers <code><n:03d>)."""
    from optimization.models import Nurse, Skill

    contract = contract or contract_make()
    skill_rows = [Skill.objects.get_or_create(code=code, defaults={"name": code})[0] for code in skills]
    nurses = []
    for number in range(start, start + count):
        nurse = Nurse.objects.create(
            employee_number=f"{department.code}{number:03d}",
            display_name=f"Nurse {department.code}{number}",
            home_department=department,
            contract=contract,
            **fields,
        )
        nurse.skills.set(skill_rows)
        nurses.append(nurse)
    return nurses


def named_roster_make(department, *, first_day, days: int, shifts: dict, in_force: bool = True, put_at=None):
    """A succeeded roster of named nurses written by hand: shifts maps a nurse to her shift code per day
    (None: off). Put in force from its first shift (at put_at, default that hour) unless in_force is False."""
    from optimization.models import NamedRoster, RosterShift, RunStatus
    from optimization.ward_shifts import period_span, shift_codes, shift_span

    rules = staffing_rules_for(department)
    zone = ZoneInfo(department.timezone)
    covers_from, covers_until = period_span(rules.shifts, first_day, days, zone)
    codes = shift_codes(rules.shifts)
    roster = NamedRoster.objects.create(
        department=department,
        first_day=first_day,
        days=days,
        status=RunStatus.SUCCEEDED,
        covers_from=covers_from,
        covers_until=covers_until,
        cover={f"{day}:{code}": 1 for day in range(days) for code in codes},
        cover_source="written by hand",
        solver_status="feasible",
        objective=0,
        bound=0,
        penalty=0,
        finished_at=covers_from,
    )
    rows = []
    for nurse, worked in shifts.items():
        for offset, code in enumerate(worked):
            if code is None:
                continue
            day = first_day + timedelta(days=offset)
            starts_at, ends_at = shift_span(codes[code], day, zone)
            rows.append(
                RosterShift(roster=roster, nurse=nurse, day=day, shift=code, starts_at=starts_at, ends_at=ends_at)
            )
    RosterShift.objects.bulk_create(rows)
    if in_force:
        roster.in_force_from = covers_from
        roster.put_in_force_at = put_at or covers_from
        roster.save(update_fields=["in_force_from", "put_in_force_at"])
    return roster
