"""A department's roster problem read from the database: nurses, contracts, leave, requests and cover.

Days count from `first_day` (day 0). A contract's minutes, shifts and weekends are per period of
its own length; for a roster of another length they are scaled, the least rounded down and the
most rounded up, so that scaling never makes a contract stricter than it is. A day of leave counts
towards the fewest minutes as a day's share of them: leave is paid time.
"""

import math
from datetime import date, timedelta

from healthcare.encounters.models import Department
from optimization.contracts import Contract, CoverNeed, Nurse, RosterProblem, ShiftRequest
from optimization.models import Contract as ContractRow
from optimization.models import Leave, SkillCover
from optimization.models import Nurse as NurseRow
from optimization.models import ShiftRequest as ShiftRequestRow
from optimization.policies import staffing_rules_for
from optimization.ward_shifts import rest_successions, shift_types

# Penalty per nurse short of the headcount on a shift, and per nurse over it.
UNDER_WEIGHT = 100
OVER_WEIGHT = 10


def contract_for_days(
    row: ContractRow, days: int, successions: dict[str, frozenset[str]], *, leave_days: int = 0
) -> Contract:
    """The contract over `days` days; each day of leave counts towards the fewest minutes as a day's share of them."""
    share = days / row.period_days
    return Contract(
        max_shifts={code: math.ceil(limit * share) for code, limit in row.max_shifts.items()},
        min_minutes=math.floor(row.min_minutes * max(days - leave_days, 0) / row.period_days),
        max_minutes=math.ceil(row.max_minutes * share),
        max_consecutive=row.max_consecutive,
        min_consecutive=row.min_consecutive,
        min_days_off=row.min_days_off,
        max_weekends=None if row.max_weekends is None else math.ceil(row.max_weekends * share),
        not_followed_by=successions,
    )


def cover_headcounts(cover: dict[str, int]) -> dict[tuple[int, str], int]:
    """A roster's stored cover ("day:code" -> nurses) as the engine's headcounts ((day, code) -> nurses)."""
    headcounts = {}
    for key, nurses in cover.items():
        day, code = key.split(":", 1)
        headcounts[(int(day), code)] = int(nurses)
    return headcounts


def roster_problem_for(
    department: Department, *, first_day: date, days: int, headcounts: dict[tuple[int, str], int]
) -> RosterProblem:
    """The roster problem of the department's active nurses for `days` days from `first_day`.

    headcounts: nurses wanted per (day, shift code), from the headcount plan; a shift left out
    gets the department's minimum. The skill mix (SkillCover) asks for its nurses on every shift.
    """
    rules = staffing_rules_for(department)
    types = shift_types(rules.shifts)
    last_day = first_day + timedelta(days=days - 1)
    rows = list(
        NurseRow.objects.filter(home_department=department, is_active=True)
        .select_related("contract")
        .prefetch_related("skills")
        .order_by("employee_number")
    )
    away: dict[int, set[int]] = {}
    for leave in Leave.objects.filter(nurse__in=rows, first_day__lte=last_day, last_day__gte=first_day):
        first = max(leave.first_day, first_day)
        for offset in range((min(leave.last_day, last_day) - first).days + 1):
            away.setdefault(leave.nurse_id, set()).add((first - first_day).days + offset)
    nurses = []
    for row in rows:
        successions = rest_successions(rules.shifts, row.contract.min_rest_hours)
        weekly = {day for day in range(days) if (first_day + timedelta(days=day)).weekday() in row.fixed_days_off}
        nurses.append(
            Nurse(
                id=row.employee_number,
                contract=contract_for_days(
                    row.contract, days, successions, leave_days=len(away.get(row.id, set()) - weekly)
                ),
                days_off=frozenset(weekly | away.get(row.id, set())),
                skills=frozenset(skill.code for skill in row.skills.all()),
            )
        )
    codes = {shift.code for shift in types}
    requests = tuple(
        ShiftRequest(
            request.nurse.employee_number, (request.day - first_day).days, request.shift, request.weight, request.wanted
        )
        for request in ShiftRequestRow.objects.filter(nurse__in=rows, day__range=(first_day, last_day)).select_related(
            "nurse"
        )
        if request.shift in codes
    )
    cover = [
        CoverNeed(day, shift.code, headcounts.get((day, shift.code), rules.min_nurses), UNDER_WEIGHT, OVER_WEIGHT)
        for day in range(days)
        for shift in types
    ]
    for mix in SkillCover.objects.filter(department=department).select_related("skill"):
        cover.extend(
            CoverNeed(day, shift.code, mix.nurses, mix.weight, skill=mix.skill.code)
            for day in range(days)
            for shift in types
        )
    return RosterProblem(
        days=days,
        shift_types=types,
        nurses=tuple(nurses),
        cover=tuple(cover),
        requests=requests,
        first_weekday=first_day.weekday(),
    )
