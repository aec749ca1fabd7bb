"""Reads across plans: who was (or will be) on duty each hour, and how well that covered the patients."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from healthcare.encounters.models import Department, WorkloadHour
from optimization.models import OptimizationRun, RunStatus


def planned_nurses(department: Department, *, first: datetime, last: datetime) -> dict[datetime, int]:
    """Nurses planned for each hour first .. last (UTC, on the hour) that some plan covers.

    Each hour takes the newest plan (latest planned_from) that covers it: a newer plan
    replaces an older one for the hours it covers; after a short newer plan ends, the
    older plan's later hours still stand. Hours no plan covers are absent.
    """
    runs = (
        OptimizationRun.objects.filter(
            department=department,
            status=RunStatus.SUCCEEDED,
            planned_from__lte=last,
            # A plan covers at most 168 hours, so older ones cannot reach `first`.
            planned_from__gt=first - timedelta(hours=168),
        )
        .order_by("planned_from", "finished_at")
        .values_list("result__hours", flat=True)  # not the whole result: rosters, baselines, reviews
    )
    planned: dict[datetime, int] = {}
    for hours in runs:  # oldest first: later plans overwrite the hours they cover
        for hour in hours or []:
            moment = datetime.fromisoformat(hour["hour"])
            if first <= moment <= last:
                planned[moment] = hour["planned_nurses"]
    return planned


@dataclass(frozen=True)
class StaffedHour:
    """One past hour that a plan staffed: its census, the nurses and the patients they covered at the ratio."""

    hour: datetime
    census: int
    nurses: int
    covered: float

    @property
    def uncovered(self) -> float:
        return self.census - self.covered


def staffed_hours(
    department: Department, *, first: datetime, last: datetime, planned: dict[datetime, int] | None = None
) -> list[StaffedHour]:
    """Past hours first .. last that a plan staffed, with the census recorded for them.

    planned: planned_nurses() over a span that includes first .. last, when the caller already
    has it. An hour with a plan but no workload row had no patient (the hourly picture is sparse).
    """
    if planned is None:
        planned = planned_nurses(department, first=first, last=last)
    planned = {hour: nurses for hour, nurses in planned.items() if first <= hour <= last}
    if not planned:
        return []
    census = dict(
        WorkloadHour.objects.filter(department=department, hour__gte=first, hour__lte=last).values_list(
            "hour", "census"
        )
    )
    ratio = department.patients_per_nurse
    return [
        StaffedHour(
            hour=hour, census=census.get(hour, 0), nurses=nurses, covered=min(census.get(hour, 0), ratio * nurses)
        )
        for hour, nurses in sorted(planned.items())
    ]


def compliance_share(hours: list[StaffedHour]) -> float | None:
    """Share of patient-hours covered at the ratio (None when no patient was there)."""
    total = sum(hour.census for hour in hours)
    if not total:
        return None
    return round(sum(hour.covered for hour in hours) / total, 4)


def compliance_recent(department: Department, *, now: datetime, planned: dict[datetime, int]) -> dict:
    """compliance_24h and compliance_7d up to the hour `now`, from planned_nurses() over at least the week."""
    return {
        "compliance_24h": compliance_share(
            staffed_hours(department, first=now - timedelta(hours=23), last=now, planned=planned)
        ),
        "compliance_7d": compliance_share(
            staffed_hours(department, first=now - timedelta(days=7), last=now, planned=planned)
        ),
    }


def compliance_by_hour_of_day(hours: list[StaffedHour], timezone_name: str) -> list[dict]:
    """Per local hour of day 0-23: patient-hours, share covered, and hours with someone uncovered."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(timezone_name)
    buckets: list[list[StaffedHour]] = [[] for _ in range(24)]
    for hour in hours:
        buckets[hour.hour.astimezone(zone).hour].append(hour)
    return [
        {
            "hour_of_day": hour_of_day,
            "patient_hours": sum(hour.census for hour in bucket),
            "compliance": compliance_share(bucket),
            "hours_short": sum(1 for hour in bucket if hour.uncovered > 0),
        }
        for hour_of_day, bucket in enumerate(buckets)
    ]


def worst_periods(hours: list[StaffedHour], *, limit: int = 10) -> list[dict]:
    """Runs of consecutive hours with patients beyond the ratio, the most uncovered patient-hours first."""
    periods, current = [], []
    for hour in hours:
        contiguous = current and hour.hour - current[-1].hour == timedelta(hours=1)
        if hour.uncovered > 0 and (not current or contiguous):
            current.append(hour)
            continue
        if current:
            periods.append(current)
        current = [hour] if hour.uncovered > 0 else []
    if current:
        periods.append(current)
    periods.sort(key=lambda period: -sum(hour.uncovered for hour in period))
    return [
        {
            "start": period[0].hour.astimezone(UTC),
            "end": period[-1].hour.astimezone(UTC) + timedelta(hours=1),
            "hours": len(period),
            "uncovered_patient_hours": round(sum(hour.uncovered for hour in period), 1),
            "peak_census": max(hour.census for hour in period),
            "nurses_at_peak": max(period, key=lambda hour: hour.census).nurses,
        }
        for period in periods[:limit]
    ]


def hours_beyond_ratio(
    points: list[dict], planned: dict[datetime, int], patients_per_nurse: int, *, bound: str = "census_upper"
) -> list[tuple[dict, int]]:
    """(point, planned nurses) of the forecast hours whose census `bound` exceeds what the planned
    nurses may care for at the ratio.

    points are census outlook points ({hour, census_mean, census_upper, ...}); bound is
    census_upper (at risk: the top of the interval) or census_mean (expected). Hours without
    a plan are not judged.
    """
    beyond = []
    for point in points:
        nurses = planned.get(datetime.fromisoformat(point["hour"]))
        if nurses is not None and point[bound] > patients_per_nurse * nurses:
            beyond.append((point, nurses))
    return beyond
