"""Reads across plans and duty records: who is on duty each hour, how well that covered the patients, and
whether a department is safe now and in the coming hours (staffing_state)."""

import logging
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from django.db.models import Sum
from django.utils import timezone
from scipy import stats

from healthcare.encounters.models import Department, WorkloadHour
from healthcare.encounters.services.workload import workload_hour_now
from healthcare.hours import epoch_hour
from optimization.baselines import ReactiveRule
from optimization.models import DutyChange, DutyChangeKind, StaffingPolicy
from optimization.policies import (
    DEFAULT_POLICY,
    PolicyUnavailable,
    active_policy,
    risk_threshold_for,
    staffing_rules_for,
)
from optimization.projection import Projection
from optimization.roster_in_force import nurses_on_duty
from optimization.rules import LOOKBACK_HOURS, shift_instances_around
from optimization.simulate import LOOKAHEAD, Observation
from optimization.staffing import SAFE, HourAhead, StaffingState, decide, hours_ahead, watch_reason
from predictions.models import ForecastModel
from predictions.outlook import ForecastUnavailable, census_outlook_points, workload_outlook

logger = logging.getLogger(__name__)


def oncall_used(department: Department, *, day_of: datetime) -> int:
    """On-call nurses called in for blocks that start on the department's local day of `day_of`
    (what the daily cap counts against, as in the simulator and the hindsight plans)."""
    zone = ZoneInfo(department.timezone)
    local = day_of.astimezone(zone)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    start, end = midnight.astimezone(UTC), (midnight + timedelta(days=1)).astimezone(UTC)
    used = DutyChange.objects.filter(
        department=department,
        kind=DutyChangeKind.CALL_IN,
        cancelled_at__isnull=True,
        starts_at__gte=start,
        starts_at__lt=end,
    ).aggregate(total=Sum("nurses"))["total"]
    return used or 0


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
    """Past hours first .. last that the roster in force staffed, with the census recorded for them.

    planned: nurses_on_duty() over a span that includes first .. last, when the caller already
    has it. An hour with a plan but no workload row had no patient (the hourly picture is sparse).
    """
    if planned is None:
        planned = nurses_on_duty(department, first=first, last=last)
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
    """compliance_24h and compliance_7d up to the hour `now`, from nurses_on_duty() over at least the week."""
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


# --- Staffing state -------------------------------------------------------------------------------

# The coming hours a staffing state judges: the dashboard's 72-hour chart.
STATE_HOURS = 72
# Intervals of the census outlook points are 90 %: mean + this many sd is their upper bound.
OUTLOOK_Z = float(stats.norm.ppf(0.95))


def staffing_state(
    department: Department,
    *,
    now: datetime | None = None,
    hours: int = STATE_HOURS,
    census_now: int | None = None,
    on_duty: int | None = None,
    oncall_left: int | None = None,
    releasable: int | None = None,
    release_hours: int | None = None,
) -> StaffingState:
    """Is the department safe at the hour `now`, what should be done, and how likely is each of the
    next `hours` - 1 hours to be short? The one reading of "are we safe" every page, alert, API
    answer and metric uses.

    census_now and on_duty replace what is recorded (the census of this hour, derived from the
    patients still here before its row is written: workload_hour_now; the roster in force
    with the duty changes) for this answer only; oncall_left, releasable and release_hours replace
    what the rules and records give. The coming hours need the active forecaster: without one the
    decision covers the current hour only. Never trains or writes anything.
    """
    now = (now or timezone.now()).replace(minute=0, second=0, microsecond=0)
    rules = staffing_rules_for(department)
    version, policy = policy_in_use(department)
    last = now + timedelta(hours=hours - 1)
    on_duty_hours = nurses_on_duty(department, first=now, last=last)
    if census_now is None:
        current = workload_hour_now(department, now=now)
        census = None if current is None else current[1]
    else:
        census = census_now
    staff = on_duty_hours.get(now) if on_duty is None else on_duty
    # A call made now counts against the day its block starts, as in the simulator.
    called_today = oncall_used(department, day_of=now + timedelta(hours=rules.oncall_lead_hours))
    left = max(rules.oncall_cap_per_day - called_today, 0)
    left = left if oncall_left is None else min(oncall_left, rules.oncall_cap_per_day)
    threshold = risk_threshold_for(department)
    if census is None or staff is None:
        return StaffingState(now, census, staff, None, (), left, threshold)

    outlook = _census_outlook(department, now, hours, census)
    hour = epoch_hour(now)
    instances, calendar = shift_instances_around(
        rules, start_hour=hour, horizon=LOOKAHEAD, timezone=department.timezone
    )
    planned = np.array(
        [staff] + [on_duty_hours.get(now + timedelta(hours=index), staff) for index in range(1, hours)], dtype=np.int64
    )
    observation = None
    if outlook is not None:
        spare = max(staff - rules.floor, 0)
        running_end = max((instance.end for instance in instances if instance.start < 0), default=1)
        observation = Observation(
            hour=0,
            local_hour=int(calendar.hour_of_day[LOOKBACK_HOURS]),
            projection=Projection(outlook[0][:LOOKAHEAD], outlook[1][:LOOKAHEAD]),
            planned=planned[:LOOKAHEAD],
            census_now=census,
            oncall_left=left,
            releasable=spare if releasable is None else min(releasable, spare),
            release_hours=running_end if release_hours is None else release_hours,
            rules=rules,
        )
    decision = decide(
        rules=rules, census_now=census, on_duty=staff, oncall_left=left, observation=observation, policy=policy
    )
    ahead: tuple[HourAhead, ...] = ()
    if outlook is not None:
        z_recourse = (version.parameters if version else DEFAULT_POLICY)["z_call"]
        zone = ZoneInfo(department.timezone)
        local_day = np.array(
            [(now + timedelta(hours=index)).astimezone(zone).toordinal() for index in range(len(outlook[0]))]
        )
        judged = hours_ahead(
            rules=rules,
            mean=outlook[0],
            std=outlook[1],
            planned=planned[: len(outlook[0])],
            call_in=decision.call_in,
            oncall_left=left,
            z_recourse=z_recourse,
            max_call=ReactiveRule.max_call,
            day=local_day,
        )
        ahead = tuple(judged[1:])
    # Hours no roster in force covers are not flagged: nobody has said who works them yet.
    unplanned = frozenset(hour.offset for hour in ahead if now + timedelta(hours=hour.offset) not in on_duty_hours)
    state = StaffingState(now, census, staff, decision, ahead, left, threshold, unplanned)
    soon = state.hours_to_act_on
    if soon and decision.status == SAFE and not (decision.call_in or decision.short_after_call_in):
        decision = replace(decision, reason=watch_reason(rules, decision, census, soon[0]))
        state = replace(state, decision=decision)
    return state


def policy_in_use(department: Department):
    """(active version or None, its policy); a learned policy whose network cannot be loaded gives way
    to its own tuned rule, so that "are we safe" is always answered (and the failure logged)."""
    try:
        version, policy, _ = active_policy(department)
    except PolicyUnavailable:
        logger.exception("the active policy of %s cannot be loaded; its tuned rule decides", department.code)
        version = StaffingPolicy.objects.filter(department=department, is_active=True).first()
        parameters = version.parameters if version else DEFAULT_POLICY
        policy = ReactiveRule(parameters["z_call"], parameters["z_release"])
    return version, policy


def _census_outlook(
    department: Department, now: datetime, hours: int, census: int
) -> tuple[np.ndarray, np.ndarray] | None:
    """(mean, sd) of the census for the hours now .. now + hours - 1, or None without a forecast.

    The active model's outlook from this hour, anchored to the patients there now (recorded or
    given): a surge in progress carries into the coming hours. Without an active model, what a
    forecast job still covers (not anchored).
    """
    model = ForecastModel.objects.filter(department=department, is_active=True, training_end__lte=now).first()
    if model is not None:
        try:
            outlook = workload_outlook(
                department=department,
                model=model,
                issue_hour=epoch_hour(now),
                horizon=hours,
                confidence=0.9,
                census_now=census,
            )
        except ForecastUnavailable:
            outlook = None
        if outlook is not None:
            return np.asarray(outlook.census.mean, dtype=np.float64), np.asarray(outlook.census.std, dtype=np.float64)
    points, _ = census_outlook_points(department, now=now, hours=hours)
    if not points:
        return None
    mean = np.array([point["census_mean"] for point in points], dtype=np.float64)
    upper = np.array([point["census_upper"] for point in points], dtype=np.float64)
    return mean, np.maximum(upper - mean, 0.0) / OUTLOOK_Z
