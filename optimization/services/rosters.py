"""Rosters of named nurses: requested, solved as a job with progress, repaired after a sick call,
and put in force.

The cover (nurses wanted per day and shift) comes from the headcount plan (HiGHS) over the week
ahead, repeated by weekday beyond it; the skill mix is added by roster_problem_for. A solve is
deterministic for its seed. A solve that finds no roster, or a problem no roster can satisfy,
fails with the reason and changes nothing in force.
"""

import logging
import threading
import time
from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import OperationalError, transaction
from django.utils import timezone

from healthcare.encounters.models import Department
from healthcare.hours import epoch_hour
from healthcare.jobs import job_claim, job_enqueue, job_fail, jobs_sweep
from healthcare.signals import send_on_commit
from optimization.models import ROSTER_DAYS, Leave, NamedRoster, Nurse, RosterShift, RunStatus
from optimization.named_roster import RosterInfeasible, SolveSettings, roster_repair, roster_solve
from optimization.on_duty import next_shift_start
from optimization.policies import PolicyUnavailable, active_policy, staffing_rules_for
from optimization.roster_in_force import roster_in_force
from optimization.roster_inputs import cover_headcounts, roster_problem_for
from optimization.services.plans import PlanUnavailable, plan_compute
from optimization.signals import roster_put_in_force, roster_ready, staffing_changed
from optimization.ward_shifts import period_span, shift_codes, shift_span

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
# The week ahead the headcount plan covers; later days repeat its weekdays.
COVER_PLAN_HOURS = 168
# A repair after a sick call must come back in seconds.
REPAIR_SECONDS = 5
# Progress is written at most this often (seconds).
PROGRESS_EVERY = 1.0


# Days a roster or a sick call may name: wide enough for any real roster, narrow enough for date arithmetic.
FIRST_YEAR, LAST_YEAR = 2000, 2100


def day_in_reach(day: date, field: str) -> None:
    """Raise ValidationError naming `field` unless `day` falls in FIRST_YEAR .. LAST_YEAR."""
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise ValidationError({field: f"a day from {FIRST_YEAR} to {LAST_YEAR}"})


def _problem_text(conflict, names: dict[str, str]) -> str:
    return f"{names.get(conflict.nurse, conflict.nurse)}: no roster satisfies {', '.join(conflict.rules)} together"


def named_roster_request(
    *,
    department: Department,
    first_day: date,
    days: int = 28,
    seconds: int = 30,
    seed: int = 0,
    requested_by=None,
    repair_of: NamedRoster | None = None,
    repair_from_day: date | None = None,
    note: str = "",
    cover: dict[str, int] | None = None,
    cover_source: str = "",
) -> NamedRoster:
    """A queued roster for `days` days from `first_day`, solved after commit.

    cover and cover_source, when given, replace what the job would read from the headcount plan
    (a repair keeps the cover of the roster it repairs). Raises ValidationError naming the field.
    """
    if not ROSTER_DAYS[0] <= days <= ROSTER_DAYS[1]:
        raise ValidationError({"days": f"between {ROSTER_DAYS[0]} and {ROSTER_DAYS[1]}"})
    day_in_reach(first_day, "first_day")
    rules = staffing_rules_for(department)
    covers_from, covers_until = period_span(rules.shifts, first_day, days, ZoneInfo(department.timezone))
    roster = NamedRoster(
        department=department,
        first_day=first_day,
        days=days,
        seconds=seconds,
        seed=seed,
        requested_by=requested_by,
        repair_of=repair_of,
        repair_from_day=repair_from_day,
        note=note,
        covers_from=covers_from,
        covers_until=covers_until,
        cover=dict(repair_of.cover) if repair_of else (cover or {}),
        cover_source=repair_of.cover_source if repair_of else cover_source,
    )
    roster.full_clean()
    roster.save()
    roster_id = str(roster.id)
    transaction.on_commit(lambda: _enqueue(roster_id))
    return roster


def _enqueue(roster_id: str) -> None:
    from optimization.tasks import named_roster_run_task

    job_enqueue(named_roster_run_task, roster_id)


def roster_cover(department: Department, *, first_day: date, days: int, now: datetime) -> tuple[dict[str, int], str]:
    """Nurses wanted per "day:code" for the roster's days, and where the figures come from.

    The headcount plan (HiGHS, the active policy's quantile of the census forecast) for the week
    from `now` gives the nurses starting each shift; days beyond it take the same weekday's figure.
    Without a forecast every shift gets the department's minimum.
    """
    rules = staffing_rules_for(department)
    zone = ZoneInfo(department.timezone)
    codes = shift_codes(rules.shifts)
    code_at = {shift.start_hour: code for code, shift in codes.items()}
    start = now.replace(minute=0, second=0, microsecond=0)
    try:
        _, _, z_roster = active_policy(department)
        plan = plan_compute(
            department=department,
            start_hour=epoch_hour(start),
            horizon=COVER_PLAN_HOURS,
            rules=rules,
            z_roster=z_roster,
        )
    except (PlanUnavailable, PolicyUnavailable) as exc:
        return (
            {f"{day}:{code}": rules.min_nurses for day in range(days) for code in codes},
            f"the department's minimum on every shift (no headcount plan: {exc})",
        )
    by_date: dict[tuple[date, str], int] = {}
    by_weekday: dict[tuple[int, str], int] = {}
    for shift in plan.roster:
        local = shift.start.astimezone(zone)
        code = code_at.get(local.hour)
        if code is not None:
            by_date[(local.date(), code)] = by_date.get((local.date(), code), 0) + shift.nurses
    for (day, code), nurses in sorted(by_date.items()):
        by_weekday[(day.weekday(), code)] = nurses
    cover = {}
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        for code in codes:
            nurses = by_date.get((day, code), by_weekday.get((day.weekday(), code), rules.min_nurses))
            cover[f"{offset}:{code}"] = max(nurses, rules.min_nurses)
    return (
        cover,
        f"headcount plan (HiGHS) of the week from {start.astimezone(zone):%Y-%m-%d %H:00}, by weekday after it",
    )


def named_roster_assignment(roster: NamedRoster) -> dict[tuple[str, int], str]:
    """The roster's shifts as the engine reads them: (employee number, day index) -> shift code."""
    return {
        (number, (day - roster.first_day).days): code
        for number, day, code in roster.shifts.values_list("nurse__employee_number", "day", "shift")
    }


def named_roster_run(*, roster_id, task_id: str | None = None) -> NamedRoster | None:
    """Solve a queued roster and give it a final status. Idempotent; a roster another message is
    solving is left to it. OperationalError propagates for the task to retry."""
    with transaction.atomic():
        roster = NamedRoster.objects.select_for_update().filter(id=roster_id).first()
        if roster is None or roster.is_finished or not job_claim(roster, task_id=task_id, now=timezone.now()):
            return roster
        if roster.attempts >= MAX_ATTEMPTS:
            return named_roster_fail(roster=roster, reason=f"gave up after {roster.attempts} attempts")
        roster.status, roster.started_at, roster.progress = RunStatus.RUNNING, timezone.now(), 0.0
        roster.attempts += 1
        roster.save(update_fields=["status", "started_at", "progress", "attempts", "task_id"])
    try:
        return _solve_and_store(roster)
    except OperationalError:
        raise
    except Exception as exc:  # noqa: BLE001 - a roster job must end with a status, whatever broke
        logger.exception("named roster %s failed", roster.id)
        return named_roster_fail(roster=roster, reason=f"internal error: {type(exc).__name__}")


def _progress_writer(roster: NamedRoster):
    """The engine's progress callback: the share of the budget used, written at most every PROGRESS_EVERY s.

    CP-SAT calls back from its own worker threads too; only calls on the job's thread write (a worker
    thread would open a database connection of its own), the next one of which comes within a
    neighbourhood's solve.
    """
    last = [0.0]
    owner = threading.get_ident()

    def write(seconds: float, share: float, objective: int | None, bound: float) -> None:
        if threading.get_ident() != owner or time.monotonic() - last[0] < PROGRESS_EVERY:
            return
        last[0] = time.monotonic()
        NamedRoster.objects.filter(id=roster.id).update(progress=round(share, 3))

    return write


def _solve_and_store(roster: NamedRoster) -> NamedRoster:
    department = roster.department
    if not Nurse.objects.filter(home_department=department, is_active=True).exists():
        return named_roster_fail(roster=roster, reason=f"{department.code} has no active nurse to roster")
    if not roster.cover:
        roster.cover, roster.cover_source = roster_cover(
            department, first_day=roster.first_day, days=roster.days, now=timezone.now()
        )
        roster.save(update_fields=["cover", "cover_source"])
    problem = roster_problem_for(
        department, first_day=roster.first_day, days=roster.days, headcounts=cover_headcounts(roster.cover)
    )
    people = Nurse.objects.filter(home_department=department).values_list("employee_number", "id", "display_name")
    names = {number: f"{name} ({number})" for number, _, name in people}
    nurse_ids = {number: nurse_id for number, nurse_id, _ in people}
    settings = SolveSettings(seconds=roster.seconds, seed=roster.seed, deterministic=True)
    progress = _progress_writer(roster)
    try:
        if roster.repair_of_id:
            in_force = named_roster_assignment(roster.repair_of)
            from_day = max((roster.repair_from_day - roster.first_day).days, 0) if roster.repair_from_day else 0
            problem = _sick_nurses_relaxed(problem, roster, from_day)
            solution = roster_repair(problem, in_force, from_day=from_day, settings=settings, progress=progress)
        else:
            solution = roster_solve(problem, settings, progress=progress)
    except RosterInfeasible as exc:
        reasons = [_problem_text(conflict, names) for conflict in exc.conflicts] or [str(exc)]
        return named_roster_fail(roster=roster, reason="no roster satisfies the contracts: " + "; ".join(reasons))
    if not solution.feasible:
        return named_roster_fail(
            roster=roster,
            reason=f"no roster found within the time limit of {roster.seconds} s; the roster in force is kept",
        )
    rules = staffing_rules_for(department)
    zone = ZoneInfo(department.timezone)
    patterns = shift_codes(rules.shifts)
    shifts = []
    for (number, day_index), code in sorted(solution.assignment.items()):
        day = roster.first_day + timedelta(days=day_index)
        starts_at, ends_at = shift_span(patterns[code], day, zone)
        shifts.append(
            RosterShift(
                roster=roster, nurse_id=nurse_ids[number], day=day, shift=code, starts_at=starts_at, ends_at=ends_at
            )
        )
    with transaction.atomic():
        RosterShift.objects.filter(roster=roster).delete()  # a retried job starts clean
        RosterShift.objects.bulk_create(shifts)
        roster.status = RunStatus.SUCCEEDED
        roster.solver_status = solution.status
        roster.objective, roster.bound = float(solution.objective), float(solution.bound)
        roster.penalty, roster.changes = solution.penalty, solution.changes if roster.repair_of_id else None
        roster.progress, roster.finished_at, roster.failure_reason = 1.0, timezone.now(), ""
        roster.save(
            update_fields=[
                "status",
                "solver_status",
                "objective",
                "bound",
                "penalty",
                "changes",
                "progress",
                "finished_at",
                "failure_reason",
            ]
        )
        send_on_commit(roster_ready, sender=NamedRoster, department_id=department.id, roster_id=str(roster.id))
    return roster


def _sick_nurses_relaxed(problem, roster: NamedRoster, from_day: int):
    """The repair's problem with the lower limits waived for nurses away from `from_day` on
    (their run before the sick call may end short, and their minutes fall short)."""
    last_day = roster.first_day + timedelta(days=roster.days - 1)
    start = roster.first_day + timedelta(days=from_day)
    sick = set(
        Leave.objects.filter(
            nurse__home_department=roster.department, first_day__lte=last_day, last_day__gte=start
        ).values_list("nurse__employee_number", flat=True)
    )
    nurses = tuple(
        replace(nurse, contract=replace(nurse.contract, min_consecutive=1, min_days_off=1, min_minutes=0))
        if nurse.id in sick
        else nurse
        for nurse in problem.nurses
    )
    return replace(problem, nurses=nurses)


def named_roster_fail(*, roster: NamedRoster, reason: str) -> NamedRoster:
    """Give the roster its final status, failed with the reason (nothing in force changes)."""
    return job_fail(roster, job_kind="Named roster", reason=reason, failed_status=RunStatus.FAILED)


def named_rosters_sweep(*, now: datetime | None = None) -> int:
    """Queue again the rosters nobody is solving (lost message, dead worker). Returns how many."""
    from optimization.tasks import named_roster_run_task

    return jobs_sweep(named_roster_run_task, NamedRoster.objects.all(), now=now)


def sick_call_record(
    *, nurse: Nurse, first_day: date, last_day: date, by, seconds: int = REPAIR_SECONDS, now: datetime | None = None
) -> NamedRoster:
    """A nurse calls in sick for first_day .. last_day: her leave is recorded and a repair of her
    department's roster in force is queued (days before first_day kept, as few changes as pay).

    Raises ValidationError when no named roster is in force for those days.
    """
    now = now or timezone.now()
    day_in_reach(first_day, "first_day")
    day_in_reach(last_day, "last_day")
    if last_day < first_day:
        raise ValidationError({"last_day": "on or after first_day"})
    department = nurse.home_department
    in_force = named_roster_in_force(department, on=first_day)
    if in_force is None:
        raise ValidationError({"first_day": f"no roster of named nurses is in force in {department.code} then"})
    leave = Leave(nurse=nurse, first_day=first_day, last_day=last_day, reason="sick call")
    leave.full_clean()
    with transaction.atomic():
        leave.save()
        repair = named_roster_request(
            department=department,
            first_day=in_force.first_day,
            days=in_force.days,
            seconds=seconds,
            seed=in_force.seed,
            requested_by=by,
            repair_of=in_force,
            repair_from_day=first_day,
            note=f"{nurse.display_name} sick {first_day:%a %d %b} - {last_day:%a %d %b}",
        )
        send_on_commit(staffing_changed, sender=Department, department_id=department.id)
    return repair


def named_roster_in_force(department: Department, *, on: date) -> NamedRoster | None:
    """The named roster put in force last whose days include `on`."""
    candidates = NamedRoster.objects.filter(
        department=department,
        in_force_from__isnull=False,
        first_day__lte=on,
        first_day__gt=on - timedelta(days=ROSTER_DAYS[1]),
    ).order_by("-put_in_force_at")
    return next((roster for roster in candidates if on < roster.first_day + timedelta(days=roster.days)), None)


def named_roster_put_in_force(*, roster: NamedRoster, by, now: datetime | None = None) -> NamedRoster:
    """Make a succeeded roster the one in force: from the next shift start when a roster is in force
    now (the shift on duty keeps its nurses), from the current hour otherwise, and never before its
    first shift. Audited (roster_put_in_force). Raises ValidationError naming the field."""
    now = now or timezone.now()
    hour = now.replace(minute=0, second=0, microsecond=0)
    with transaction.atomic():
        roster = NamedRoster.objects.select_for_update().select_related("department").get(pk=roster.pk)
        if roster.status != RunStatus.SUCCEEDED:
            raise ValidationError({"status": "only a roster that was solved can be put in force"})
        if roster.in_force_from is not None:
            raise ValidationError({"in_force_from": "this roster is in force already"})
        department = roster.department
        covered_now = hour in roster_in_force(department, first=hour, last=hour)
        start = next_shift_start(department, now=now) if covered_now else hour
        start = max(start, roster.covers_from)
        if start >= roster.covers_until:
            raise ValidationError({"in_force_from": "the roster's days are over"})
        roster.in_force_from, roster.put_in_force_at, roster.put_in_force_by = start, now, by
        roster.save(update_fields=["in_force_from", "put_in_force_at", "put_in_force_by"])
        send_on_commit(staffing_changed, sender=Department, department_id=department.id)
        send_on_commit(
            roster_put_in_force,
            sender=NamedRoster,
            department_id=department.id,
            roster_id=str(roster.id),
            user_id=by.pk if by is not None else None,
        )
    return roster
