"""The CP-SAT model of a roster problem (OR-Tools): one boolean per nurse, day and shift type. Plain Python.

Contract rules are hard constraints; `add_penalties` makes the requests and the cover the
objective's terms. With `rule_literals` each rule holds only under a literal of its own, so that
CP-SAT can name the rules that clash (optimization.named_roster.contract_conflicts).
"""

from collections.abc import Iterable

from ortools.sat.python import cp_model

from optimization.contracts import (
    RULE_DAY_OFF,
    RULE_MAX_CONSECUTIVE,
    RULE_MAX_MINUTES,
    RULE_MAX_SHIFTS,
    RULE_MAX_WEEKENDS,
    RULE_MIN_CONSECUTIVE,
    RULE_MIN_DAYS_OFF,
    RULE_MIN_MINUTES,
    RULE_SUCCESSION,
    RULES,
    Assignment,
    Nurse,
    RosterProblem,
)


class KeptCellForbidden(ValueError):
    """A cell to be kept as it is breaks a nurse's own rules (for example a new day off)."""


class RosterModel:
    """The CP-SAT model of a roster problem.

    x[(nurse index, day, shift code)] exists only where the nurse may work that shift (unless the
    rules are enforced by literals, when every cell exists so that a rule can be switched off).
    """

    def __init__(self, problem: RosterProblem, *, rule_literals: bool = False):
        self.problem = problem
        self.model = cp_model.CpModel()
        self.x: dict[tuple[int, int, str], cp_model.IntVar] = {}
        self.work: dict[tuple[int, int], cp_model.IntVar] = {}
        self.rule_literals: dict[str, cp_model.IntVar] = {}
        self.objective_terms: list[tuple[int, cp_model.LinearExprT]] = []
        self.objective_constant = 0
        for index, nurse in enumerate(problem.nurses):
            self._add_nurse(index, nurse, rule_literals)

    def _enforced(self, rule: str) -> list:
        literal = self.rule_literals.get(rule)
        return [] if literal is None else [literal]

    def _add_nurse(self, index: int, nurse: Nurse, rule_literals: bool) -> None:
        model, problem, contract = self.model, self.problem, nurse.contract
        if rule_literals:
            for rule in RULES:
                self.rule_literals[rule] = model.new_bool_var(rule)
        days = range(problem.days)
        for day in days:
            cells = []
            for shift in problem.shift_types:
                allowed = day not in nurse.days_off and contract.max_shifts.get(shift.code, 0) > 0
                if allowed or rule_literals:
                    var = model.new_bool_var(f"x_{nurse.id}_{day}_{shift.code}")
                    self.x[index, day, shift.code] = var
                    cells.append(var)
            work = model.new_bool_var(f"w_{nurse.id}_{day}")
            model.add(sum(cells) == work)
            self.work[index, day] = work
        work = [self.work[index, day] for day in days]
        for day in sorted(nurse.days_off):
            model.add(work[day] == 0).only_enforce_if(self._enforced(RULE_DAY_OFF))
        for shift in problem.shift_types:
            cells = [self.x[key] for key in ((index, day, shift.code) for day in days) if key in self.x]
            if cells:
                limit = contract.max_shifts.get(shift.code, 0)
                model.add(sum(cells) <= limit).only_enforce_if(self._enforced(RULE_MAX_SHIFTS))
        minutes = sum(
            self.problem.shift_type(code).minutes * var
            for (nurse_index, _, code), var in self.x.items()
            if nurse_index == index
        )
        model.add(minutes >= contract.min_minutes).only_enforce_if(self._enforced(RULE_MIN_MINUTES))
        model.add(minutes <= contract.max_minutes).only_enforce_if(self._enforced(RULE_MAX_MINUTES))
        longest = contract.max_consecutive
        for start in range(problem.days - longest):
            model.add(sum(work[start : start + longest + 1]) <= longest).only_enforce_if(
                self._enforced(RULE_MAX_CONSECUTIVE)
            )
        # A run of `length` worked days, bounded by days off or the ends of the period, is too short.
        for length in range(1, contract.min_consecutive):
            for start in range(problem.days - length + 1):
                clause = [work[day].Not() for day in range(start, start + length)]
                if start > 0:
                    clause.append(work[start - 1])
                if start + length < problem.days:
                    clause.append(work[start + length])
                model.add_bool_or(clause).only_enforce_if(self._enforced(RULE_MIN_CONSECUTIVE))
        # A run of `length` days off between two worked days is too short.
        for length in range(1, contract.min_days_off):
            for start in range(1, problem.days - length):
                clause = [work[start - 1].Not(), work[start + length].Not()]
                clause.extend(work[day] for day in range(start, start + length))
                model.add_bool_or(clause).only_enforce_if(self._enforced(RULE_MIN_DAYS_OFF))
        if contract.max_weekends is not None:
            weekends = []
            for weekend_days in problem.weekends():
                worked = model.new_bool_var(f"weekend_{nurse.id}_{weekend_days[0]}")
                for day in weekend_days:
                    model.add_implication(work[day], worked)
                weekends.append(worked)
            model.add(sum(weekends) <= contract.max_weekends).only_enforce_if(self._enforced(RULE_MAX_WEEKENDS))
        for shift in problem.shift_types:
            followers = [then.code for then in problem.shift_types if not contract.may_follow(shift, then.code)]
            for follower in followers:
                for day in range(problem.days - 1):
                    first, then = self.x.get((index, day, shift.code)), self.x.get((index, day + 1, follower))
                    if first is not None and then is not None:
                        model.add_bool_or([first.Not(), then.Not()]).only_enforce_if(self._enforced(RULE_SUCCESSION))

    def add_penalties(self) -> None:
        """The requests and the cover, as the objective's terms."""
        problem, model = self.problem, self.model
        index_of = {nurse.id: index for index, nurse in enumerate(problem.nurses)}
        for request in problem.requests:
            var = self.x.get((index_of[request.nurse], request.day, request.shift))
            if request.wanted:
                self.objective_constant += request.weight
                if var is not None:
                    self.objective_terms.append((-request.weight, var))
            elif var is not None:
                self.objective_terms.append((request.weight, var))
        for need in problem.cover:
            counted = [
                var
                for index, nurse in enumerate(problem.nurses)
                if need.skill is None or need.skill in nurse.skills
                if (var := self.x.get((index, need.day, need.shift))) is not None
            ]
            short = model.new_int_var(0, need.required, f"short_{need.day}_{need.shift}_{need.skill}")
            model.add(short >= need.required - sum(counted))
            self.objective_terms.append((need.under_weight, short))
            if need.over_weight:
                over = model.new_int_var(0, len(counted), f"over_{need.day}_{need.shift}_{need.skill}")
                model.add(over >= sum(counted) - need.required)
                self.objective_terms.append((need.over_weight, over))

    def add_change_costs(self, roster: Assignment, *, from_day: int, weight: int) -> None:
        """Cost `weight` for every cell from `from_day` on that differs from `roster`."""
        for index, nurse in enumerate(self.problem.nurses):
            for day in range(from_day, self.problem.days):
                code = roster.get((nurse.id, day))
                if code is None:
                    self.objective_terms.append((weight, self.work[index, day]))
                    continue
                self.objective_constant += weight
                var = self.x.get((index, day, code))
                if var is not None:
                    self.objective_terms.append((-weight, var))

    def keep_days(self, roster: Assignment, days: Iterable[int]) -> None:
        """The roster's cells on `days` stay as they are."""
        for index, nurse in enumerate(self.problem.nurses):
            for day in days:
                code = roster.get((nurse.id, day))
                for shift in self.problem.shift_types:
                    var = self.x.get((index, day, shift.code))
                    if var is not None:
                        self.model.add(var == int(shift.code == code))
                    elif shift.code == code:
                        raise KeptCellForbidden(f"nurse {nurse.id} may not work {code} on day {day}, kept as worked")

    def finish(self) -> None:
        self.model.minimize(
            sum(coefficient * var for coefficient, var in self.objective_terms) + self.objective_constant
        )

    def fix(self, values: dict[tuple[int, int, str], int]) -> None:
        """Fix the cells given to their values (0 or 1) and free every other; `fix({})` frees all.

        Fixing narrows the variables' domains in the model's proto, so the model is not rebuilt for each
        neighbourhood of a search.
        """
        variables = self.model.proto.variables
        for key, var in self.x.items():
            domain = variables[var.index].domain
            value = values.get(key)
            domain[0], domain[1] = (0, 1) if value is None else (value, value)

    def hint(self, roster: Assignment) -> None:
        self.model.clear_hints()
        for (index, day, code), var in self.x.items():
            self.model.add_hint(var, roster.get((self.problem.nurses[index].id, day)) == code)

    def assignment(self, solver: cp_model.CpSolver) -> dict[tuple[str, int], str]:
        return {
            (self.problem.nurses[index].id, day): code
            for (index, day, code), var in self.x.items()
            if solver.boolean_value(var)
        }
