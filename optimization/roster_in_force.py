"""What the roster in force says for each hour, and who is on duty: reads, never writes.

Two kinds of roster can be put in force: a headcount plan (OptimizationRun: how many nurses each
hour) and a roster of named nurses (NamedRoster: who works which shift). Each hour takes the one
put in force last that covers it: a plan from its in_force_from hour to its last hour, a named
roster from its in_force_from hour to the end of its last day's shifts. Rosters never put in
force are proposals and count nowhere.

On top of the roster come the duty changes recorded (call-ins, releases, absences). In an hour of
a named roster they are applied to the names: a nurse absent or sent home leaves the set, a nurse
called in joins it, and a change that names nobody counts as before. A nurse on leave (a sick call
recorded after the roster was made) is not on duty for the shifts of her days away.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from healthcare.encounters.models import Department
from optimization.models import DutyChange, DutyChangeKind, Leave, NamedRoster, Nurse, OptimizationRun, RosterShift

HOUR = timedelta(hours=1)
# A plan covers at most 168 hours, so older ones cannot reach the hours asked about.
PLAN_REACH = timedelta(hours=168)

# An hour of the roster in force: how many nurses (a plan), or which (a named roster's nurse ids).
RosteredHour = int | frozenset[int]


def _hours(first: datetime, last: datetime):
    moment = first
    while moment <= last:
        yield moment
        moment += HOUR


def _plans_in_force(department: Department, first: datetime, last: datetime) -> list[tuple]:
    rows = OptimizationRun.objects.filter(
        department=department,
        in_force_from__isnull=False,
        in_force_from__lte=last,
        planned_from__gt=first - PLAN_REACH,
    ).values_list("put_in_force_at", "id", "in_force_from", "result__hours")  # not the whole result
    return [(put_at, 0, str(run_id), in_force_from, hours) for put_at, run_id, in_force_from, hours in rows]


def _named_in_force(department: Department, first: datetime, last: datetime) -> list[tuple]:
    rows = NamedRoster.objects.filter(
        department=department, in_force_from__isnull=False, in_force_from__lte=last, covers_until__gt=first
    ).values_list("put_in_force_at", "id", "in_force_from", "covers_until")
    return [(put_at, 1, str(roster_id), in_force_from, until) for put_at, roster_id, in_force_from, until in rows]


def _named_shifts(roster_ids: list[str], first: datetime, last: datetime) -> dict[str, list[tuple]]:
    """Per roster: (nurse id, starts_at, ends_at) of its shifts that touch first .. last, leave taken out."""
    shifts = list(
        RosterShift.objects.filter(roster_id__in=roster_ids, starts_at__lte=last, ends_at__gt=first).values_list(
            "roster_id", "nurse_id", "day", "starts_at", "ends_at"
        )
    )
    if not shifts:
        return {}
    days = [day for _, _, day, _, _ in shifts]
    away: dict[int, list[tuple]] = defaultdict(list)
    for nurse_id, first_day, last_day in Leave.objects.filter(
        nurse_id__in={nurse_id for _, nurse_id, _, _, _ in shifts}, first_day__lte=max(days), last_day__gte=min(days)
    ).values_list("nurse_id", "first_day", "last_day"):
        away[nurse_id].append((first_day, last_day))
    by_roster: dict[str, list[tuple]] = defaultdict(list)
    for roster_id, nurse_id, day, starts_at, ends_at in shifts:
        if any(first_day <= day <= last_day for first_day, last_day in away[nurse_id]):
            continue
        by_roster[str(roster_id)].append((nurse_id, starts_at, ends_at))
    return by_roster


def roster_in_force(department: Department, *, first: datetime, last: datetime) -> dict[datetime, RosteredHour]:
    """The roster in force for each hour first .. last (UTC, on the hour) that one covers.

    An hour of a plan gives its number of nurses, an hour of a named roster the ids of the nurses
    whose shifts span it (an empty set when nobody is rostered). Hours nothing in force covers are
    absent.
    """
    sources = sorted(
        _plans_in_force(department, first, last) + _named_in_force(department, first, last),
        key=lambda source: (source[0], source[1], source[2]),
    )
    named = _named_shifts([source[2] for source in sources if source[1] == 1], first, last)
    rostered: dict[datetime, RosteredHour] = {}
    for _, kind, source_id, in_force_from, extent in sources:  # earliest first: later ones overwrite
        if kind == 0:
            for hour in extent or []:
                moment = datetime.fromisoformat(hour["hour"])
                if first <= moment <= last and moment >= in_force_from:
                    rostered[moment] = hour["planned_nurses"]
            continue
        shifts = named.get(source_id, [])
        for moment in _hours(max(first, in_force_from), min(last, extent - HOUR)):
            rostered[moment] = frozenset(
                nurse_id for nurse_id, starts_at, ends_at in shifts if starts_at <= moment < ends_at
            )
    return rostered


def rostered_nurses(department: Department, *, first: datetime, last: datetime) -> dict[datetime, int]:
    """Nurses the roster in force puts on duty each hour first .. last it covers (before duty changes)."""
    return {
        hour: len(value) if isinstance(value, frozenset) else value
        for hour, value in roster_in_force(department, first=first, last=last).items()
    }


@dataclass(frozen=True)
class _HourChanges:
    unnamed: int  # nurses added (negative: taken off) by changes that name nobody
    named_on: frozenset[int]  # named nurses called in
    named_off: frozenset[int]  # named nurses sent home or absent

    @property
    def signed(self) -> int:
        return self.unnamed + len(self.named_on) - len(self.named_off)


def _changes_by_hour(department: Department, first: datetime, last: datetime) -> dict[datetime, _HourChanges]:
    changes = DutyChange.objects.filter(
        department=department, cancelled_at__isnull=True, starts_at__lte=last, ends_at__gt=first
    ).values_list("kind", "nurses", "nurse_id", "starts_at", "ends_at")
    unnamed: dict[datetime, int] = defaultdict(int)
    named_on: dict[datetime, set[int]] = defaultdict(set)
    named_off: dict[datetime, set[int]] = defaultdict(set)
    for kind, nurses, nurse_id, starts_at, ends_at in changes:
        for moment in _hours(max(starts_at, first), min(ends_at - HOUR, last)):
            if nurse_id is None:
                unnamed[moment] += nurses if kind == DutyChangeKind.CALL_IN else -nurses
            elif kind == DutyChangeKind.CALL_IN:
                named_on[moment].add(nurse_id)
            else:
                named_off[moment].add(nurse_id)
    return {
        moment: _HourChanges(unnamed[moment], frozenset(named_on[moment]), frozenset(named_off[moment]))
        for moment in set(unnamed) | set(named_on) | set(named_off)
    }


def duty_changes_by_hour(department: Department, *, first: datetime, last: datetime) -> dict[datetime, int]:
    """The nurses recorded call-ins add and releases and absences take off, per hour first .. last
    (hours with no change are absent). Cancelled changes count nowhere."""
    return {hour: change.signed for hour, change in _changes_by_hour(department, first, last).items()}


def _on_duty(rostered: RosteredHour, change: _HourChanges | None) -> tuple[int, frozenset[int]]:
    """(nurses on duty, the named ones among them) in an hour of the roster in force."""
    if change is None:
        change = _HourChanges(0, frozenset(), frozenset())
    if isinstance(rostered, int):
        return max(rostered + change.signed, 0), change.named_on - change.named_off
    names = (rostered - change.named_off) | change.named_on
    return max(len(names) + change.unnamed, 0), names


def nurses_on_duty(department: Department, *, first: datetime, last: datetime) -> dict[datetime, int]:
    """Nurses on duty each hour first .. last that the roster in force covers: the roster plus the
    call-ins confirmed, less the releases and absences recorded (never below zero)."""
    rostered = roster_in_force(department, first=first, last=last)
    if not rostered:
        return {}
    changes = _changes_by_hour(department, first, last)
    return {hour: _on_duty(value, changes.get(hour))[0] for hour, value in rostered.items()}


@dataclass(frozen=True)
class OnDutyNow:
    """Who is on duty in an hour: the named nurses (rostered or called in), and those counted without a name."""

    nurses: tuple[Nurse, ...]
    called_in: frozenset[int]
    unnamed: int

    @property
    def total(self) -> int:
        return len(self.nurses) + self.unnamed


def on_duty_at(department: Department, *, hour: datetime) -> OnDutyNow | None:
    """Who is on duty in the hour `hour` (None when no roster in force covers it)."""
    rostered = roster_in_force(department, first=hour, last=hour).get(hour)
    if rostered is None:
        return None
    change = _changes_by_hour(department, hour, hour).get(hour)
    total, names = _on_duty(rostered, change)
    nurses = tuple(Nurse.objects.filter(id__in=names).order_by("display_name"))
    called_in = frozenset(change.named_on) if change else frozenset()
    return OnDutyNow(nurses=nurses, called_in=called_in & names, unnamed=max(total - len(nurses), 0))
