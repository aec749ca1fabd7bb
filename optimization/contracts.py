"""Named rosters as plain data: shift types, nurses under contracts, requests, cover. Plain Python.

A roster problem covers days 0 .. days-1, day 0 being a Monday unless `first_weekday` says
otherwise. A roster gives each nurse at most one shift a day. The contract rules are hard; the
requests and the cover are weighted penalties. `roster_check` judges a roster against the rules
on its own, without the solver, so a solver's claim can be checked and a roster shown rule by rule.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

# (nurse id, day) -> shift code; a missing key is a day off.
Assignment = Mapping[tuple[str, int], str]

# Rule names, as errors and the roster grid name them.
RULE_DAY_OFF = "fixed day off"
RULE_MAX_SHIFTS = "most shifts of a type"
RULE_MIN_MINUTES = "fewest minutes"
RULE_MAX_MINUTES = "most minutes"
RULE_MAX_CONSECUTIVE = "most consecutive shifts"
RULE_MIN_CONSECUTIVE = "fewest consecutive shifts"
RULE_MIN_DAYS_OFF = "fewest consecutive days off"
RULE_MAX_WEEKENDS = "most weekends"
RULE_SUCCESSION = "rest between shifts"
RULES = (
    RULE_DAY_OFF,
    RULE_MAX_SHIFTS,
    RULE_MIN_MINUTES,
    RULE_MAX_MINUTES,
    RULE_MAX_CONSECUTIVE,
    RULE_MIN_CONSECUTIVE,
    RULE_MIN_DAYS_OFF,
    RULE_MAX_WEEKENDS,
    RULE_SUCCESSION,
)


@dataclass(frozen=True)
class ShiftType:
    """A kind of shift: its code, its length, and the shift codes that may not follow it the next day."""

    code: str
    minutes: int
    not_followed_by: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Contract:
    """What a nurse may work over the roster's period.

    max_shifts: the most shifts of each type (a type left out may not be worked). Runs of
    worked days are between min_consecutive and max_consecutive long, those touching either
    end of the period included; a run of days off between two worked days is at least
    min_days_off long. A weekend (the two days before a Monday) is worked if either day is.
    """

    max_shifts: Mapping[str, int]
    min_minutes: int
    max_minutes: int
    max_consecutive: int
    min_consecutive: int = 1
    min_days_off: int = 1
    max_weekends: int | None = None
    # Successions this contract forbids on top of the shift types' own: shift code -> codes it may not be
    # followed by the next day (for example the rest a contract requires after a late shift).
    not_followed_by: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def may_follow(self, shift: ShiftType, then: str) -> bool:
        """Whether shift `then` may be worked the day after `shift`."""
        return then not in shift.not_followed_by and then not in self.not_followed_by.get(shift.code, ())


@dataclass(frozen=True)
class Nurse:
    id: str
    contract: Contract
    days_off: frozenset[int] = frozenset()
    skills: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ShiftRequest:
    """A nurse asks for a shift on a day (wanted) or not to work it (not wanted); unmet costs `weight`."""

    nurse: str
    day: int
    shift: str
    weight: int
    wanted: bool = True


@dataclass(frozen=True)
class CoverNeed:
    """Nurses wanted on a shift of a day, with a penalty per nurse short and per nurse over.

    With `skill` set, only nurses with that skill count, and being over costs nothing unless
    over_weight says so (for example at least one charge nurse on every shift).
    """

    day: int
    shift: str
    required: int
    under_weight: int
    over_weight: int = 0
    skill: str | None = None


@dataclass(frozen=True)
class RosterProblem:
    days: int
    shift_types: tuple[ShiftType, ...]
    nurses: tuple[Nurse, ...]
    cover: tuple[CoverNeed, ...]
    requests: tuple[ShiftRequest, ...] = ()
    first_weekday: int = 0  # 0 Monday .. 6 Sunday, of day 0

    def __post_init__(self):
        problems = self.problems()
        if problems:
            raise ValueError("; ".join(problems))

    def problems(self) -> list[str]:
        """What makes the problem unreadable (not: what makes it infeasible), naming the item."""
        codes = {shift.code for shift in self.shift_types}
        nurse_ids = [nurse.id for nurse in self.nurses]
        problems = []
        if self.days < 1:
            problems.append("days: must be at least 1")
        if len(codes) != len(self.shift_types):
            problems.append("shift types: codes must be unique")
        if len(set(nurse_ids)) != len(nurse_ids):
            problems.append("nurses: ids must be unique")
        for shift in self.shift_types:
            if shift.minutes <= 0:
                problems.append(f"shift {shift.code}: minutes must be positive")
            for code in sorted(shift.not_followed_by - codes):
                problems.append(f"shift {shift.code}: unknown shift {code} it may not be followed by")
        for nurse in self.nurses:
            for code in sorted(set(nurse.contract.max_shifts) - codes):
                problems.append(f"nurse {nurse.id}: contract names unknown shift {code}")
            for day in sorted(nurse.days_off):
                if not 0 <= day < self.days:
                    problems.append(f"nurse {nurse.id}: day off {day} outside days 0-{self.days - 1}")
        known = set(nurse_ids)
        for request in self.requests:
            if request.nurse not in known:
                problems.append(f"request of unknown nurse {request.nurse}")
            elif request.shift not in codes:
                problems.append(f"request of {request.nurse}: unknown shift {request.shift}")
            elif not 0 <= request.day < self.days:
                problems.append(f"request of {request.nurse}: day {request.day} outside the period")
        for need in self.cover:
            if need.shift not in codes:
                problems.append(f"cover of day {need.day}: unknown shift {need.shift}")
            elif not 0 <= need.day < self.days:
                problems.append(f"cover of shift {need.shift}: day {need.day} outside the period")
        return problems

    def shift_type(self, code: str) -> ShiftType:
        return next(shift for shift in self.shift_types if shift.code == code)

    def weekends(self) -> list[tuple[int, ...]]:
        """The days of each weekend (Saturday, Sunday) that falls at least partly in the period."""
        weekends: dict[int, list[int]] = {}
        for day in range(self.days):
            weekday = (self.first_weekday + day) % 7
            if weekday >= 5:
                weekends.setdefault((self.first_weekday + day) // 7, []).append(day)
        return [tuple(days) for days in weekends.values()]


@dataclass(frozen=True)
class Violation:
    nurse: str
    rule: str
    detail: str


@dataclass
class RosterCheck:
    """A roster judged on its own: broken rules, its penalty, and where the penalty comes from."""

    violations: list[Violation]
    penalty: int
    requests_met: list[ShiftRequest] = field(default_factory=list)
    requests_refused: list[ShiftRequest] = field(default_factory=list)
    # (need, nurses counted) for every need not met exactly.
    cover_missed: list[tuple[CoverNeed, int]] = field(default_factory=list)

    @property
    def feasible(self) -> bool:
        return not self.violations

    def broken_rules(self, nurse: str) -> set[str]:
        return {violation.rule for violation in self.violations if violation.nurse == nurse}


def worked_runs(worked: list[bool]) -> list[tuple[int, int]]:
    """(first day, length) of each run of True in `worked`."""
    runs, start = [], None
    for day, on in enumerate([*worked, False]):
        if on and start is None:
            start = day
        elif not on and start is not None:
            runs.append((start, day - start))
            start = None
    return runs


def _nurse_violations(problem: RosterProblem, nurse: Nurse, shifts: list[str | None]) -> Iterable[Violation]:
    contract = nurse.contract
    for day in sorted(nurse.days_off):
        if shifts[day] is not None:
            yield Violation(nurse.id, RULE_DAY_OFF, f"works {shifts[day]} on day {day}, a fixed day off")
    for code in sorted({code for code in shifts if code is not None}):
        count = shifts.count(code)
        if count > contract.max_shifts.get(code, 0):
            yield Violation(
                nurse.id, RULE_MAX_SHIFTS, f"{count} {code} shifts, at most {contract.max_shifts.get(code, 0)}"
            )
    minutes = sum(problem.shift_type(code).minutes for code in shifts if code is not None)
    if minutes < contract.min_minutes:
        yield Violation(nurse.id, RULE_MIN_MINUTES, f"{minutes} minutes, at least {contract.min_minutes}")
    if minutes > contract.max_minutes:
        yield Violation(nurse.id, RULE_MAX_MINUTES, f"{minutes} minutes, at most {contract.max_minutes}")
    worked = [code is not None for code in shifts]
    runs = worked_runs(worked)
    for start, length in runs:
        if length > contract.max_consecutive:
            yield Violation(
                nurse.id,
                RULE_MAX_CONSECUTIVE,
                f"{length} days in a row from day {start}, at most {contract.max_consecutive}",
            )
        if length < contract.min_consecutive:
            yield Violation(
                nurse.id,
                RULE_MIN_CONSECUTIVE,
                f"{length} days in a row from day {start}, at least {contract.min_consecutive}",
            )
    for (start, length), (next_start, _) in zip(runs, runs[1:], strict=False):
        off = next_start - start - length
        if off < contract.min_days_off:
            yield Violation(
                nurse.id,
                RULE_MIN_DAYS_OFF,
                f"{off} days off from day {start + length}, at least {contract.min_days_off}",
            )
    if contract.max_weekends is not None:
        weekends = sum(1 for days in problem.weekends() if any(worked[day] for day in days))
        if weekends > contract.max_weekends:
            yield Violation(nurse.id, RULE_MAX_WEEKENDS, f"{weekends} weekends, at most {contract.max_weekends}")
    for day in range(problem.days - 1):
        first, then = shifts[day], shifts[day + 1]
        if first is not None and then is not None and not contract.may_follow(problem.shift_type(first), then):
            yield Violation(nurse.id, RULE_SUCCESSION, f"{first} on day {day} then {then} on day {day + 1}")


def roster_check(problem: RosterProblem, assignment: Assignment) -> RosterCheck:
    """Every broken rule, and the penalty of the requests and the cover, of a roster."""
    violations: list[Violation] = []
    for nurse in problem.nurses:
        shifts = [assignment.get((nurse.id, day)) for day in range(problem.days)]
        violations.extend(_nurse_violations(problem, nurse, shifts))
    check = RosterCheck(violations=violations, penalty=0)
    for request in problem.requests:
        works = assignment.get((request.nurse, request.day)) == request.shift
        if works == request.wanted:
            check.requests_met.append(request)
        else:
            check.requests_refused.append(request)
            check.penalty += request.weight
    skills = {nurse.id: nurse.skills for nurse in problem.nurses}
    for need in problem.cover:
        counted = sum(
            1
            for (nurse, day), code in assignment.items()
            if day == need.day and code == need.shift and (need.skill is None or need.skill in skills.get(nurse, ()))
        )
        if counted != need.required:
            check.cover_missed.append((need, counted))
        check.penalty += max(need.required - counted, 0) * need.under_weight
        check.penalty += max(counted - need.required, 0) * need.over_weight
    return check
