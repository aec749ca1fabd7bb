"""Reads for the named real-time decision: the facts about each nurse that the call-in and release
rankings (optimization.call_ins) judge, gathered from the rosters in force, leave, duty changes and
contracts. Never writes.
"""

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Count, Q

from healthcare.encounters.models import Department
from optimization.call_ins import (
    CallInCosts,
    CandidateFacts,
    RankedCandidate,
    ReleaseFacts,
    agency_cost,
    call_in_ranking,
    release_ranking,
)
from optimization.models import (
    ROSTER_DAYS,
    DutyChange,
    DutyChangeKind,
    Leave,
    NamedRoster,
    Nurse,
    ReleaseVolunteer,
    RosterShift,
    SkillCover,
    StaffingRuleSet,
)
from optimization.policies import staffing_rules_for
from optimization.roster_in_force import OnDutyNow, on_duty_at

# Fairness counts call-ins and releases over these recent weeks.
FAIRNESS_DAYS = 28
# Shifts this far either side of a call-in's hours can break rest or consecutive-day rules.
NEARBY = timedelta(days=8)
# A roster period (for the minutes worked in it) starts at most this long before the call-in.
PERIOD_REACH = timedelta(days=ROSTER_DAYS[1])


def call_in_costs(department: Department) -> CallInCosts:
    rules = staffing_rules_for(department)
    ruleset = StaffingRuleSet.objects.filter(department=department).first()
    return CallInCosts(
        hour_cost=rules.nurse_hour_cost,
        oncall_premium=rules.oncall_premium,
        overtime_premium=ruleset.overtime_premium if ruleset else 1.5,
        agency_premium=ruleset.agency_premium if ruleset else 2.5,
    )


def shifts_in_force(nurse_ids, *, first: datetime, last: datetime) -> dict[int, list[RosterShift]]:
    """Each nurse's shifts first .. last of the named rosters in force (in any department): a shift
    counts when its roster is the last put in force whose hours include its start."""
    shifts = (
        RosterShift.objects.filter(
            nurse_id__in=nurse_ids, starts_at__gte=first, starts_at__lte=last, roster__in_force_from__isnull=False
        )
        .select_related("roster__department")
        .order_by("starts_at")
    )
    shifts = list(shifts)
    departments = {shift.roster.department_id for shift in shifts}
    in_force = list(
        NamedRoster.objects.filter(
            department_id__in=departments,
            in_force_from__isnull=False,
            in_force_from__lte=last,
            covers_until__gt=first,
        ).order_by("-put_in_force_at")
    )
    by_nurse: dict[int, list[RosterShift]] = defaultdict(list)
    for shift in shifts:
        owner = next(
            (
                roster
                for roster in in_force
                if roster.department_id == shift.roster.department_id
                and roster.in_force_from <= shift.starts_at < roster.covers_until
            ),
            None,
        )
        if owner is not None and owner.id == shift.roster_id:
            by_nurse[shift.nurse_id].append(shift)
    return by_nurse


def _recent_counts(nurse_ids, *, kind: str, now: datetime) -> dict[int, int]:
    """Per nurse, her call-ins (or releases) not cancelled over the last FAIRNESS_DAYS."""
    return dict(
        DutyChange.objects.filter(
            nurse_id__in=nurse_ids,
            kind=kind,
            cancelled_at__isnull=True,
            starts_at__gte=now - timedelta(days=FAIRNESS_DAYS),
        )
        .values("nurse_id")
        .annotate(n=Count("id"))
        .values_list("nurse_id", "n")
    )


def _away(nurse: Nurse, day: date, leave: dict[int, list[tuple[date, date, str]]]) -> str:
    for first_day, last_day, reason in leave.get(nurse.id, []):
        if first_day <= day <= last_day:
            return f"on leave ({reason})" if reason else "on leave"
    if day.weekday() in nurse.fixed_days_off:
        return "a fixed day off"
    return ""


def _period_minutes(nurse: Nurse, shifts: list[RosterShift], calls: list[tuple], day: date) -> tuple[int, int | None]:
    """Minutes worked in the roster period holding `day` (shifts in force and call-ins), and the contract's most."""
    period = next((shift.roster for shift in shifts if shift.roster.first_day <= day < _period_end(shift.roster)), None)
    if period is None:
        return 0, None
    start, end = period.first_day, _period_end(period)
    minutes = sum(
        (shift.ends_at - shift.starts_at).total_seconds() // 60
        for shift in shifts
        if shift.roster_id == period.id and start <= shift.day < end
    )
    zone = ZoneInfo(period.department.timezone)
    minutes += sum(
        (ends_at - starts_at).total_seconds() // 60
        for starts_at, ends_at in calls
        if start <= starts_at.astimezone(zone).date() < end
    )
    most = math.ceil(nurse.contract.max_minutes * period.days / nurse.contract.period_days)
    return int(minutes), most


def _period_end(roster: NamedRoster) -> date:
    return roster.first_day + timedelta(days=roster.days)


def _short_skill(department: Department, hour: datetime) -> str | None:
    """A skill of the department's mix that the nurses on duty at `hour` lack, if any."""
    mix = list(SkillCover.objects.filter(department=department).select_related("skill"))
    if not mix:
        return None
    on_duty = on_duty_at(department, hour=hour)
    ids = [nurse.id for nurse in on_duty.nurses] if on_duty else []
    counts = dict(
        Nurse.objects.filter(id__in=ids).values("skills__code").annotate(n=Count("id")).values_list("skills__code", "n")
    )
    for cover in mix:
        if counts.get(cover.skill.code, 0) < cover.nurses:
            return cover.skill.code
    return None


@dataclass(frozen=True)
class CallInChoice:
    """The ranked nurses for a call-in, the skill the hours are short of, and the agency fallback's cost."""

    starts_at: datetime
    ends_at: datetime
    ranked: list[RankedCandidate]
    need_skill: str | None
    agency_cost: float

    @property
    def legal(self) -> list[RankedCandidate]:
        return [candidate for candidate in self.ranked if candidate.legal]


def call_in_candidates(
    department: Department, *, starts_at: datetime, ends_at: datetime, now: datetime
) -> CallInChoice:
    """Every active nurse of the department (and those who may float to it), ranked for a call-in
    of the hours starts_at .. ends_at."""
    zone = ZoneInfo(department.timezone)
    day = starts_at.astimezone(zone).date()
    nurses = list(
        Nurse.objects.filter(Q(home_department=department) | Q(float_departments=department), is_active=True)
        .distinct()
        .select_related("contract", "home_department")
        .prefetch_related("skills")
    )
    ids = [nurse.id for nurse in nurses]
    shifts = shifts_in_force(ids, first=starts_at - NEARBY - PERIOD_REACH, last=ends_at + NEARBY)
    calls: dict[int, list[tuple]] = defaultdict(list)
    for nurse_id, call_start, call_end in DutyChange.objects.filter(
        nurse_id__in=ids,
        kind=DutyChangeKind.CALL_IN,
        cancelled_at__isnull=True,
        starts_at__lte=ends_at + NEARBY + PERIOD_REACH,
        ends_at__gte=starts_at - NEARBY - PERIOD_REACH,
    ).values_list("nurse_id", "starts_at", "ends_at"):
        calls[nurse_id].append((call_start, call_end))
    leave: dict[int, list[tuple]] = defaultdict(list)
    for nurse_id, first_day, last_day, reason in Leave.objects.filter(
        nurse_id__in=ids, first_day__lte=day, last_day__gte=day
    ).values_list("nurse_id", "first_day", "last_day", "reason"):
        leave[nurse_id].append((first_day, last_day, reason))
    recent = _recent_counts(ids, kind=DutyChangeKind.CALL_IN, now=now)
    facts = []
    for nurse in nurses:
        own = shifts.get(nurse.id, [])
        near = [
            (shift.starts_at, shift.ends_at)
            for shift in own
            if shift.ends_at > starts_at - NEARBY and shift.starts_at < ends_at + NEARBY
        ]
        near += [
            (start, end) for start, end in calls[nurse.id] if end > starts_at - NEARBY and start < ends_at + NEARBY
        ]
        worked_days = {shift.day for shift in own} | {start.astimezone(zone).date() for start, _ in calls[nurse.id]}
        minutes, most = _period_minutes(nurse, own, calls[nurse.id], day)
        facts.append(
            CandidateFacts(
                nurse_id=nurse.id,
                name=nurse.display_name,
                skills=frozenset(skill.code for skill in nurse.skills.all()),
                takes_oncall=nurse.takes_oncall,
                takes_overtime=nurse.takes_overtime,
                worked=tuple(sorted(near)),
                worked_days=frozenset(worked_days),
                minutes_in_period=minutes,
                max_minutes=most,
                max_consecutive=nurse.contract.max_consecutive,
                min_rest_hours=nurse.contract.min_rest_hours,
                recent_call_ins=recent.get(nurse.id, 0),
                floats_from="" if nurse.home_department_id == department.id else nurse.home_department.code,
                away=_away(nurse, day, leave),
            )
        )
    need_skill = _short_skill(department, starts_at)
    costs = call_in_costs(department)
    ranked = call_in_ranking(facts, starts_at=starts_at, ends_at=ends_at, day=day, costs=costs, need_skill=need_skill)
    return CallInChoice(
        starts_at=starts_at,
        ends_at=ends_at,
        ranked=ranked,
        need_skill=need_skill,
        agency_cost=agency_cost(starts_at=starts_at, ends_at=ends_at, costs=costs),
    )


def release_candidates(
    department: Department, *, hour: datetime, now: datetime, on_duty: OnDutyNow | None = None
) -> list[tuple[Nurse, ReleaseFacts]]:
    """The named nurses on duty at `hour`, in the order to send home (volunteers first, fairly).

    on_duty: on_duty_at(department, hour=hour), when the caller already has it.
    """
    on_duty = on_duty or on_duty_at(department, hour=hour)
    if on_duty is None or not on_duty.nurses:
        return []
    zone = ZoneInfo(department.timezone)
    ids = [nurse.id for nurse in on_duty.nurses]
    days = {hour.astimezone(zone).date(), (hour - timedelta(hours=12)).astimezone(zone).date()}
    volunteered = dict(
        ReleaseVolunteer.objects.filter(nurse_id__in=ids, day__in=days).values_list("nurse_id", "created_at")
    )
    recent = _recent_counts(ids, kind=DutyChangeKind.RELEASE, now=now)
    by_id = {nurse.id: nurse for nurse in on_duty.nurses}
    facts = [
        ReleaseFacts(
            nurse_id=nurse.id,
            name=nurse.display_name,
            volunteered_at=volunteered.get(nurse.id),
            called_in=nurse.id in on_duty.called_in,
            recent_releases=recent.get(nurse.id, 0),
        )
        for nurse in on_duty.nurses
    ]
    return [(by_id[fact.nurse_id], fact) for fact in release_ranking(facts)]
