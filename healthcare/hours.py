"""Hours as the product counts them: whole UTC hours, numbered from the epoch, written ISO 8601 with a Z.

Every app counts hours with these helpers, so an hour number means the same hour in the
workload, the forecasts and the staffing plans.
"""

from datetime import UTC, datetime


def epoch_hour(moment: datetime) -> int:
    """The number of the UTC hour that contains the aware datetime `moment`."""
    return int(moment.timestamp() // 3600)


def hour_start(epoch: int) -> datetime:
    """The start (aware, UTC) of the hour numbered `epoch`."""
    return datetime.fromtimestamp(epoch * 3600, tz=UTC)


def iso_utc(moment: datetime) -> str:
    """2026-11-26T08:00:00Z for any aware datetime."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def epoch_hour_iso(epoch: int) -> str:
    """The start of an epoch hour in iso_utc form."""
    return iso_utc(hour_start(epoch))
