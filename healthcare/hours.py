"""How hours are written in API answers, events and stored results: UTC, ISO 8601, with a Z."""

from datetime import UTC, datetime


def iso_utc(moment: datetime) -> str:
    """2026-11-26T08:00:00Z for any aware datetime."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
