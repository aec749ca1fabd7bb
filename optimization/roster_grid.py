"""A named roster as people read it: nurses by days, each cell's shift and requests, each nurse's rules
checked, and each day's cover against what was wanted. A read: never writes.

The rules are checked with roster_check against the nurses, leave and requests as they are now,
so a sick call recorded after the roster was made shows where it breaks the roster.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from optimization.contracts import RULES, roster_check
from optimization.models import NamedRoster, Nurse
from optimization.roster_inputs import cover_headcounts, roster_problem_for


@dataclass
class GridCell:
    shift: str | None = None
    wanted: list[str] = field(default_factory=list)  # shifts she asked for that day
    not_wanted: list[str] = field(default_factory=list)  # shifts she asked not to work that day
    met: int = 0
    refused: int = 0
    away: bool = False  # a fixed day off or leave

    @property
    def title(self) -> str:
        parts = [f"works {self.shift}" if self.shift else "off"]
        parts += [f"asked for {code}" for code in self.wanted]
        parts += [f"asked not to work {code}" for code in self.not_wanted]
        if self.refused:
            parts.append(f"{self.refused} request(s) refused")
        if self.away:
            parts.append("day off or leave")
        return "; ".join(parts)


@dataclass
class GridRow:
    employee_number: str
    name: str
    skills: list[str]
    contract: str
    cells: list[GridCell]
    minutes: int
    broken: list[str]  # "rule: detail", empty when every rule holds
    active: bool = True


@dataclass
class CoverCell:
    required: int
    counted: int
    skill: str | None

    @property
    def short(self) -> int:
        return max(self.required - self.counted, 0)


@dataclass
class RosterGrid:
    days: list[date]
    codes: list[str]
    rows: list[GridRow]
    cover: dict[str, list[CoverCell]]  # "D", "E", ... and "D charge": one cell per day
    requests_met: int
    requests_refused: int
    shifts_short: int
    penalty: int
    rules: tuple[str, ...] = RULES

    @property
    def feasible(self) -> bool:
        return all(not row.broken for row in self.rows)


def roster_grid(roster: NamedRoster) -> RosterGrid:
    """The roster's grid, judged against today's nurses, leave and requests and the roster's own cover."""
    problem = roster_problem_for(
        roster.department, first_day=roster.first_day, days=roster.days, headcounts=cover_headcounts(roster.cover)
    )
    assignment = {
        (number, (day - roster.first_day).days): code
        for number, day, code in roster.shifts.values_list("nurse__employee_number", "day", "shift")
    }
    check = roster_check(problem, assignment)
    days = [roster.first_day + timedelta(days=offset) for offset in range(roster.days)]
    codes = [shift.code for shift in problem.shift_types]
    minutes_of = {shift.code: shift.minutes for shift in problem.shift_types}
    broken = defaultdict(list)
    for violation in check.violations:
        broken[violation.nurse].append(f"{violation.rule}: {violation.detail}")
    cells: dict[str, list[GridCell]] = {nurse.id: [GridCell() for _ in days] for nurse in problem.nurses}
    for nurse in problem.nurses:
        for day in nurse.days_off:
            cells[nurse.id][day].away = True
    met = {(request.nurse, request.day, request.shift) for request in check.requests_met}
    for request in problem.requests:
        cell = cells[request.nurse][request.day]
        (cell.wanted if request.wanted else cell.not_wanted).append(request.shift)
        if (request.nurse, request.day, request.shift) in met:
            cell.met += 1
        else:
            cell.refused += 1
    in_problem = {nurse.id for nurse in problem.nurses}
    for (number, day), code in assignment.items():
        cells.setdefault(number, [GridCell() for _ in days])[day].shift = code
    people = {
        nurse.employee_number: nurse
        for nurse in Nurse.objects.filter(employee_number__in=set(cells))
        .select_related("contract")
        .prefetch_related("skills")
    }
    rows = []
    for number in sorted(cells, key=lambda key: people[key].display_name if key in people else key):
        person = people.get(number)
        rows.append(
            GridRow(
                employee_number=number,
                name=person.display_name if person else number,
                skills=sorted(skill.code for skill in person.skills.all()) if person else [],
                contract=person.contract.name if person else "",
                cells=cells[number],
                minutes=sum(minutes_of.get(cell.shift, 0) for cell in cells[number] if cell.shift),
                broken=broken.get(number, []),
                active=number in in_problem,
            )
        )
    missed = {(need.day, need.shift, need.skill): counted for need, counted in check.cover_missed}
    cover: dict[str, list[CoverCell]] = {}
    for need in problem.cover:
        label = need.shift if need.skill is None else f"{need.shift} {need.skill}"
        counted = missed.get((need.day, need.shift, need.skill), need.required)
        cover.setdefault(label, [CoverCell(0, 0, need.skill) for _ in days])[need.day] = CoverCell(
            need.required, counted, need.skill
        )
    return RosterGrid(
        days=days,
        codes=codes,
        rows=rows,
        cover=cover,
        requests_met=len(check.requests_met),
        requests_refused=len(check.requests_refused),
        shifts_short=sum(cell.short for cells_of in cover.values() for cell in cells_of),
        penalty=check.penalty,
    )
