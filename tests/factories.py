"""Builders of test objects through the same services the product uses."""

from datetime import UTC, datetime, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from healthcare.encounters.ingest.records import EncounterRecord
from healthcare.encounters.models import Department
from healthcare.encounters.services import department_create

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
