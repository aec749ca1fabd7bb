"""Column generation for named rosters: each nurse's whole schedule as one column. Plain Python.

The master problem chooses one schedule per nurse so that the cover penalty plus the schedules'
request penalties is least. Its linear relaxation is solved with HiGHS (scipy.optimize.linprog);
its duals price each nurse's next schedule, found by CP-SAT on that nurse's contract alone (an
exact pricing problem: a few hundred booleans). The relaxation with exact pricing gives a lower
bound on every roster (Lagrangian: the LP value plus each nurse's most negative reduced cost), far
stronger than CP-SAT's own on these models; the schedules found give CP-SAT a small integer
problem (one boolean per schedule) whose answer is a good roster to start the search from.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from ortools.sat.python import cp_model
from scipy import sparse
from scipy.optimize import linprog

from optimization.contracts import Assignment, RosterProblem
from optimization.roster_model import RosterModel

# Reduced costs are scaled by this for CP-SAT's integer objective; the bound allows for the rounding.
PRICE_SCALE = 1000
# A schedule enters the master only with a reduced cost below this.
ENTERING = -1e-6

Schedule = frozenset[tuple[int, str]]  # (day, shift code) worked


@dataclass
class ColumnResult:
    columns: list[list[Schedule]]  # per nurse, in the problem's order
    costs: list[list[int]]  # each schedule's own request penalty
    bound: float  # a lower bound on every roster's penalty (-inf when none was proven)
    lp_value: float | None
    iterations: int
    converged: bool
    # The last relaxation's value of each (nurse index, day, shift) worked; cells left out are 0.
    cell_values: dict[tuple[int, int, str], float]


class _Pricer:
    """One nurse's own rules as a CP-SAT model whose objective changes with the duals."""

    def __init__(self, problem: RosterProblem, index: int):
        nurse = problem.nurses[index]
        self.problem = problem
        self.built = RosterModel(replace(problem, nurses=(nurse,), cover=(), requests=()))
        self.cells = {(day, code): var for (_, day, code), var in self.built.x.items()}
        # The request penalty of a schedule: a constant (wanted shifts) minus/plus the cells' weights.
        self.constant = 0.0
        self.cell_cost = dict.fromkeys(self.cells, 0.0)
        for request in problem.requests:
            if request.nurse != nurse.id:
                continue
            key = (request.day, request.shift)
            if request.wanted:
                self.constant += request.weight
                if key in self.cell_cost:
                    self.cell_cost[key] -= request.weight
            elif key in self.cell_cost:
                self.cell_cost[key] += request.weight

    def cost(self, schedule: Schedule) -> float:
        return self.constant + sum(self.cell_cost[cell] for cell in schedule)

    def price(self, duals: dict[tuple[int, str], float], seconds: float, seed: int) -> tuple[Schedule, float, float, float]:
        """The schedule of least reduced cost leaving out the nurse's own dual: the schedule, its reduced cost,
        a proven lower bound on the least reduced cost, and the deterministic time used.

        The bound holds even when the time runs out; it allows for rounding the coefficients to integers (at
        most half a unit on each cell chosen, and a schedule has at most `days` cells).
        """
        model = self.built.model
        coefficients = {cell: self.cell_cost[cell] - duals.get(cell, 0.0) for cell in self.cells}
        model.minimize(sum(round(PRICE_SCALE * coefficients[cell]) * var for cell, var in self.cells.items()))
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        solver.parameters.max_time_in_seconds = max(seconds, 0.01)
        solver.parameters.random_seed = seed
        status = solver.solve(model)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return frozenset(), math.inf, -math.inf, solver.deterministic_time
        schedule = frozenset(cell for cell, var in self.cells.items() if solver.boolean_value(var))
        reduced = self.constant + sum(coefficients[cell] for cell in schedule)
        slack = 0.5 * self.problem.days / PRICE_SCALE
        lower = self.constant + solver.best_objective_bound / PRICE_SCALE - slack
        return schedule, reduced, lower, solver.deterministic_time


def _cover_rows(problem: RosterProblem) -> list[dict[tuple[int, str], list[int]]]:
    """For each nurse, the cover rows each of her cells (day, shift) counts in."""
    rows: list[dict[tuple[int, str], list[int]]] = [{} for _ in problem.nurses]
    for row, need in enumerate(problem.cover):
        for index, nurse in enumerate(problem.nurses):
            if need.skill is None or need.skill in nurse.skills:
                rows[index].setdefault((need.day, need.shift), []).append(row)
    return rows


def _master_lp(problem: RosterProblem, columns: list[list[Schedule]], costs: list[list[int]], rows_of):
    """The master relaxation: its value, the nurses' duals and the cover rows' duals."""
    nurses, needs = len(problem.nurses), len(problem.cover)
    data, row_index, col_index, objective = [], [], [], []
    column = 0
    for index in range(nurses):
        for schedule, cost in zip(columns[index], costs[index], strict=True):
            row_index.append(index)
            for cell in schedule:
                row_index.extend(nurses + row for row in rows_of[index].get(cell, ()))
            col_index.extend([column] * (len(row_index) - len(col_index)))
            objective.append(cost)
            column += 1
    data = [1.0] * len(row_index)
    for row, need in enumerate(problem.cover):
        # Each cover row has its nurses short (+1) and its nurses over (-1).
        row_index.extend([nurses + row, nurses + row])
        col_index.extend([column, column + 1])
        data.extend([1.0, -1.0])
        objective.extend([need.under_weight, need.over_weight])
        column += 2
    matrix = sparse.csr_matrix((data, (row_index, col_index)), shape=(nurses + needs, column))
    rhs = np.concatenate([np.ones(nurses), [need.required for need in problem.cover]])
    result = linprog(objective, A_eq=matrix, b_eq=rhs, bounds=(0, None), method="highs")
    if result.status != 0:
        raise RuntimeError(f"the master relaxation failed: {result.message}")
    return result.fun, result.x, result.eqlin.marginals[:nurses], result.eqlin.marginals[nurses:]


def _schedules_of(problem: RosterProblem, roster: Assignment) -> list[Schedule]:
    cells: list[set[tuple[int, str]]] = [set() for _ in problem.nurses]
    index_of = {nurse.id: index for index, nurse in enumerate(problem.nurses)}
    for (nurse, day), code in roster.items():
        cells[index_of[nurse]].add((day, code))
    return [frozenset(schedule) for schedule in cells]


def _cell_values(columns: list[list[Schedule]], weights: np.ndarray) -> dict[tuple[int, int, str], float]:
    values: dict[tuple[int, int, str], float] = {}
    column = 0
    for index, schedules in enumerate(columns):
        for schedule in schedules:
            weight = float(weights[column])
            column += 1
            if weight > 1e-9:
                for day, code in schedule:
                    values[index, day, code] = values.get((index, day, code), 0.0) + weight
    return values


def columns_generate(
    problem: RosterProblem,
    start: Assignment,
    *,
    time_left: Callable[[], float],
    count: Callable[[float], None],
    seed: int = 0,
    price_seconds: float = 2.0,
) -> ColumnResult:
    """Schedules for each nurse by column generation from the roster `start`, until no schedule prices in
    or `time_left()` runs out; `count` is told the deterministic time of each pricing solve."""
    pricers = [_Pricer(problem, index) for index in range(len(problem.nurses))]
    columns = [[schedule] for schedule in _schedules_of(problem, start)]
    costs = [[round(pricer.cost(schedules[0]))] for pricer, schedules in zip(pricers, columns, strict=True)]
    rows_of = _cover_rows(problem)
    bound, lp_value, iterations, converged, cell_values = -math.inf, None, 0, False, {}
    while time_left() > 0:
        lp_value, weights, nurse_duals, cover_duals = _master_lp(problem, columns, costs, rows_of)
        cell_values = _cell_values(columns, weights)
        iterations += 1
        lagrangian, priced_all, entered = lp_value, True, 0
        for index, pricer in enumerate(pricers):
            if time_left() <= 0:
                priced_all = False
                break
            duals = {cell: sum(cover_duals[row] for row in rows) for cell, rows in rows_of[index].items()}
            schedule, reduced, lower, used = pricer.price(duals, min(price_seconds, time_left()), seed + index)
            count(used)
            lagrangian += min(0.0, lower - nurse_duals[index])
            if reduced - nurse_duals[index] < ENTERING and schedule not in columns[index]:
                columns[index].append(schedule)
                costs[index].append(round(pricer.cost(schedule)))
                entered += 1
        if priced_all:
            bound = max(bound, lagrangian)
        if priced_all and entered == 0:
            converged = True
            break
    return ColumnResult(columns, costs, bound, lp_value, iterations, converged, cell_values)


def columns_pick(
    problem: RosterProblem, result: ColumnResult, solver: cp_model.CpSolver
) -> dict[tuple[str, int], str] | None:
    """The best roster made of one generated schedule per nurse, by CP-SAT with `solver`'s limits (the
    first schedule of each nurse, the starting roster, is the hint). None when none is found."""
    model = cp_model.CpModel()
    rows_of = _cover_rows(problem)
    counted: list[list] = [[] for _ in problem.cover]
    chosen, objective = [], []
    for index, schedules in enumerate(result.columns):
        picks = [model.new_bool_var(f"s_{index}_{number}") for number in range(len(schedules))]
        model.add_exactly_one(picks)
        model.add_hint(picks[0], True)
        for pick, schedule, cost in zip(picks, schedules, result.costs[index], strict=True):
            objective.append(cost * pick)
            for cell in schedule:
                for row in rows_of[index].get(cell, ()):
                    counted[row].append(pick)
        chosen.append(picks)
    for row, need in enumerate(problem.cover):
        short = model.new_int_var(0, need.required, f"short_{row}")
        model.add(short >= need.required - sum(counted[row]))
        objective.append(need.under_weight * short)
        if need.over_weight:
            over = model.new_int_var(0, len(problem.nurses), f"over_{row}")
            model.add(over >= sum(counted[row]) - need.required)
            objective.append(need.over_weight * over)
    model.minimize(sum(objective))
    if solver.solve(model) not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    roster = {}
    for index, picks in enumerate(chosen):
        number = next(number for number, pick in enumerate(picks) if solver.boolean_value(pick))
        for day, code in result.columns[index][number]:
            roster[problem.nurses[index].id, day] = code
    return roster
