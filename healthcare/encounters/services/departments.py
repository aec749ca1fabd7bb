"""Departments and their rules."""

import logging

from django.db import transaction

from healthcare.encounters.choices import UNIT_DEFAULTS
from healthcare.encounters.models import Department
from healthcare.encounters.services.workload import department_workload_rebuild

logger = logging.getLogger(__name__)

# What may change after creation (the code is every integration's key to the department).
EDITABLE_FIELDS = frozenset(
    {
        "name",
        "unit_type",
        "patients_per_nurse",
        "min_nurses",
        "los_median_hours",
        "los_sigma",
        "timezone",
        "holiday_country",
    }
)
# Fields the derived census depends on: changing one rebuilds the department's workload.
WORKLOAD_FIELDS = ("los_median_hours", "los_sigma")


def department_create(
    *,
    code: str,
    name: str,
    unit_type: str,
    patients_per_nurse: int | None = None,
    min_nurses: int | None = None,
    los_median_hours: float | None = None,
    los_sigma: float | None = None,
    timezone: str | None = None,
    holiday_country: str | None = None,
) -> Department:
    """A new department; rules not given take the defaults of its unit type.

    Raises django.core.exceptions.ValidationError naming each bad field.
    """
    defaults = UNIT_DEFAULTS.get(unit_type)
    given = {
        "patients_per_nurse": patients_per_nurse,
        "min_nurses": min_nurses,
        "los_median_hours": los_median_hours,
        "los_sigma": los_sigma,
        "timezone": timezone,
        "holiday_country": holiday_country,
    }
    values = {name: value for name, value in given.items() if value is not None}
    if defaults:
        values = {**vars(defaults), **values}
    department = Department(code=code.strip().upper(), name=name, unit_type=unit_type, **values)
    department.full_clean()
    department.save()
    return department


def department_update(*, department: Department, **changes) -> Department:
    """Change some of EDITABLE_FIELDS; a new length-of-stay model rebuilds the workload.

    Raises TypeError for a field that cannot change, ValidationError for a bad value.
    """
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise TypeError(f"department fields that cannot change here: {', '.join(sorted(unknown))}")
    before = tuple(getattr(department, name) for name in WORKLOAD_FIELDS)
    with transaction.atomic():
        for name, value in changes.items():
            setattr(department, name, value)
        department.full_clean()
        department.save()
        if tuple(getattr(department, name) for name in WORKLOAD_FIELDS) != before:
            transaction.on_commit(lambda: department_rebuild_queue(department.id))
    return department


def department_rebuild_queue(department_id: int) -> None:
    """Rebuild a department's whole workload on a worker, or here if no worker can be reached.

    The rules are already saved: a broker outage must not leave the census stale, and a
    rebuild takes seconds, so doing it in this process is the safe fallback.
    """
    from healthcare.encounters.tasks import workload_rebuild_task

    try:
        workload_rebuild_task.delay(department_id)
    except Exception:  # noqa: BLE001 - kombu/redis raise many kinds of connection errors
        logger.warning("could not queue the workload rebuild of department %s; rebuilding here", department_id)
        department_workload_rebuild(department_id=department_id)


def user_departments_set(*, user, codes) -> None:
    """Make `user` a member of exactly the departments with these codes (single sign-on says which).

    Codes no department has are logged and skipped: the identity provider may know units this
    product does not plan for.
    """
    departments = list(Department.objects.filter(code__in=codes))
    unknown = set(codes) - {department.code for department in departments}
    if unknown:
        logger.warning("sign-in of user %s names departments that do not exist: %s", user.pk, sorted(unknown))
    user.departments.set(departments)
