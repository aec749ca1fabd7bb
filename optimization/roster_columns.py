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
import random
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
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

# Weight of the best duals so far in the point priced at.
SMOOTHING = 0.8
# The most schedules one pricing search adds.
COLUMNS_PER_PRICING = 3

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


class _Schedules(cp_model.CpSolverSolutionCallback):
    """Every schedule the pricing search finds, in the order found (each better than the one before)."""

    def __init__(self, cells: dict[tuple[int, str], cp_model.IntVar]):
        super().__init__()
        self._cells = cells
        self.schedules: list[Schedule] = []

    def on_solution_callback(self) -> None:
        self.schedules.append(frozenset(cell for cell, var in self._cells.items() if self.boolean_value(var)))


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

    def price(
        self, duals: dict[tuple[int, str], float], seconds: float, seed: int, deterministic: bool = False
    ) -> tuple[list[Schedule], float, float]:
        """Schedules of least reduced cost leaving out the nurse's own dual (the best first), a proven lower
        bound on the least reduced cost, and the deterministic time used. `seconds` are deterministic
        seconds when `deterministic` is set (the same answer on any machine), wall-clock seconds otherwise.

        The bound holds even when the time runs out; it allows for rounding the coefficients to integers (at
        most half a unit on each cell chosen, and a schedule has at most `days` cells).
        """
        model = self.built.model
        coefficients = {cell: self.cell_cost[cell] - duals.get(cell, 0.0) for cell in self.cells}
        model.minimize(sum(round(PRICE_SCALE * coefficients[cell]) * var for cell, var in self.cells.items()))
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        if deterministic:
            solver.parameters.max_deterministic_time = max(seconds, 0.01)
        else:
            solver.parameters.max_time_in_seconds = max(seconds, 0.01)
        solver.parameters.random_seed = seed
        found = _Schedules(self.cells)
        status = solver.solve(model, found)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return [], -math.inf, solver.deterministic_time
        slack = 0.5 * self.problem.days / PRICE_SCALE
        lower = self.constant + solver.best_objective_bound / PRICE_SCALE - slack
        # The last few improving schedules of the search, best first: more columns per round, fewer rounds.
        return found.schedules[::-1][:COLUMNS_PER_PRICING], lower, solver.deterministic_time


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
    threads: int = 1,
    deterministic: bool = False,
) -> ColumnResult:
    """Schedules for each nurse by column generation from the roster `start`, until no schedule prices in
    or `time_left()` runs out; `count` is told the deterministic time of each pricing solve.

    With `deterministic`, time is CP-SAT's deterministic time and every round prices every nurse
    (the time left is read once per round, never while the threads run): the same columns on any
    machine, at the cost of finishing the round the budget ends in.
    """
    pricers = [_Pricer(problem, index) for index in range(len(problem.nurses))]
    columns = [[schedule] for schedule in _schedules_of(problem, start)]
    costs = [[round(pricer.cost(schedules[0]))] for pricer, schedules in zip(pricers, columns, strict=True)]
    rows_of = _cover_rows(problem)
    required = np.array([need.required for need in problem.cover], dtype=float)
    bound, lp_value, iterations, converged, cell_values = -math.inf, None, 0, False, {}
    center, smoothing = None, SMOOTHING

    def cell_duals(index: int, duals: np.ndarray) -> dict[tuple[int, str], float]:
        return {cell: float(sum(duals[row] for row in rows)) for cell, rows in rows_of[index].items()}

    round_left = time_left()

    def left() -> float:
        return round_left if deterministic else time_left()

    def price(index: int, duals: np.ndarray):
        if left() <= 0:
            return None
        seconds = min(price_seconds, left())
        return pricers[index].price(cell_duals(index, duals), seconds, seed + index, deterministic)

    pool = ThreadPoolExecutor(max_workers=threads)
    while time_left() > 0:
        round_left = time_left()
        lp_value, weights, nurse_duals, cover_duals = _master_lp(problem, columns, costs, rows_of)
        cell_values = _cell_values(columns, weights)
        iterations += 1
        # Price at a point between the best duals so far and the master's (Wentges smoothing): fewer rounds.
        alpha = smoothing if center is not None else 0.0
        separation = cover_duals if alpha == 0.0 else alpha * center + (1 - alpha) * cover_duals

        lagrangian, priced_all, entered = float(required @ separation), True, 0
        # CP-SAT lets go of the interpreter while it solves, so nurses are priced side by side.
        for index, priced in enumerate(pool.map(price, range(len(pricers)), [separation] * len(pricers))):
            if priced is None:
                priced_all = False
                continue
            schedules, lower, used = priced
            count(used)
            lagrangian += lower
            master_duals = cell_duals(index, cover_duals)
            for schedule in schedules:
                cost = pricers[index].cost(schedule)
                reduced = cost - sum(master_duals.get(cell, 0.0) for cell in schedule) - nurse_duals[index]
                if reduced < ENTERING and schedule not in columns[index]:
                    columns[index].append(schedule)
                    costs[index].append(round(cost))
                    entered += 1
        if priced_all and lagrangian > bound:
            bound, center = lagrangian, separation
        if priced_all and entered == 0:
            if alpha == 0.0:
                converged = True
                break
            smoothing = 0.0  # mispriced: price at the master's own duals once
        else:
            smoothing = SMOOTHING
    pool.shutdown()
    return ColumnResult(columns, costs, bound, lp_value, iterations, converged, cell_values)


def schedules_construct(
    problem: RosterProblem,
    *,
    time_left: Callable[[], float],
    count: Callable[[float], None],
    seed: int = 0,
    seconds_per_nurse: float = 1.0,
    deterministic: bool = False,
) -> dict[tuple[str, int], str] | None:
    """A first roster built nurse by nurse, in a seeded order: each takes the schedule of her own contract
    that best serves the cover still wanted (a shift short is worth its under weight, one over costs its
    over weight) and her requests. Contracts bind one nurse each, so the roster keeps every rule.

    None when a nurse's own rules admit no schedule or the time runs out first.
    """
    rows_of = _cover_rows(problem)
    remaining = [need.required for need in problem.cover]
    order = list(range(len(problem.nurses)))
    random.Random(seed).shuffle(order)
    roster: dict[tuple[str, int], str] = {}
    for index in order:
        if time_left() <= 0:
            return None
        values = {
            cell: float(
                sum(
                    problem.cover[row].under_weight if remaining[row] > 0 else -problem.cover[row].over_weight
                    for row in rows
                )
            )
            for cell, rows in rows_of[index].items()
        }
        seconds = min(seconds_per_nurse, time_left())
        schedules, _, used = _Pricer(problem, index).price(values, seconds, seed + index, deterministic)
        count(used)
        if not schedules:
            return None
        for cell in schedules[0]:
            for row in rows_of[index].get(cell, ()):
                remaining[row] -= 1
            roster[problem.nurses[index].id, cell[0]] = cell[1]
    return roster
