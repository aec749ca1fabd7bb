"""Reads that depend on who is asking."""

from datetime import datetime
from typing import NamedTuple

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import F, Max, OuterRef, QuerySet, Subquery

from healthcare.caching import Generation
from healthcare.encounters.models import Department, WorkloadHour

# Replaced by every write of encounters (services.ingest, the demo's reset) and every change of
# department memberships: keys cached reads (the encounter list's large counts).
encounters_generation = Generation("encounters:generation")


class DepartmentScope(NamedTuple):
    """The departments a user may see, and a key naming that set without reading it: "all", "none",
    or "members:<user pk>" (a change of memberships replaces encounters_generation)."""

    key: str
    departments: QuerySet


def department_scope(user: AbstractBaseUser | AnonymousUser) -> DepartmentScope:
    """Departments the user may see: all with encounters.view_all_departments, else their own.

    Membership alone is not enough: the user's role must grant encounters.view_department.
    """
    if not user.is_authenticated or not user.is_active:
        return DepartmentScope("none", Department.objects.none())
    if user.has_perm("encounters.view_all_departments"):
        return DepartmentScope("all", Department.objects.all())
    if not user.has_perm("encounters.view_department"):
        return DepartmentScope("none", Department.objects.none())
    return DepartmentScope(f"members:{user.pk}", Department.objects.filter(members=user))


def departments_visible_to(user: AbstractBaseUser | AnonymousUser) -> QuerySet:
    """department_scope(user).departments."""
    return department_scope(user).departments


def with_department_code(rows: QuerySet) -> QuerySet:
    """Rows (encounters, workload hours) with their department's code as department_code.

    The API's lists name departments by code: one joined column instead of a Department
    instance per row, which cost a fifth of reading a page of 50.
    """
    return rows.annotate(department_code=F("department__code"))


def departments_with_latest_workload(user: AbstractBaseUser | AnonymousUser):
    """Visible departments annotated with their latest hour: latest_hour, latest_census, latest_arrivals."""
    latest = WorkloadHour.objects.filter(department=OuterRef("pk")).order_by("-hour")
    return departments_visible_to(user).annotate(
        latest_hour=Subquery(latest.values("hour")[:1]),
        latest_census=Subquery(latest.values("census")[:1]),
        latest_arrivals=Subquery(latest.values("arrivals")[:1]),
    )


def workload_last_hour(department: Department, *, until: datetime | None = None) -> datetime | None:
    """The department's latest recorded hour (at or before `until`), or None without data.

    Hours after it are unknown, not empty: the feed may have stopped.
    """
    rows = WorkloadHour.objects.filter(department=department)
    if until is not None:
        rows = rows.filter(hour__lte=until)
    return rows.aggregate(last=Max("hour"))["last"]
