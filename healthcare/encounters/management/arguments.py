"""Argument helpers shared by the management commands of every app."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from django.core.management.base import CommandError

from healthcare.encounters.models import Department


def parse_moment(text: str, zone: str, option: str) -> datetime:
    """ISO 8601; without an offset it is local time in the department's zone."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(f"{option}: '{text}' is not an ISO 8601 date-time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(zone))
    return moment.astimezone(UTC)


def department_by_code(code: str) -> Department:
    department = Department.objects.filter(code=code.upper()).first()
    if department is None:
        raise CommandError(f"unknown department '{code}'")
    return department
