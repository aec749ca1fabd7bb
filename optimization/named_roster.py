"""Rosters of named nurses solved with CP-SAT (OR-Tools) under their contracts. Plain Python.

The model (optimization.roster_model) has one boolean per nurse, day and shift type; contract
rules are hard, requests and cover are the weighted penalty minimised. `roster_solve` works in
four steps within one budget:

1. CP-SAT on the whole model: small rosters are proven optimal here, larger ones get a first roster
   (when CP-SAT finds none in its share, one is built nurse by nurse, each under her own contract);
2. column generation (optimization.roster_columns): the relaxation over whole schedules per nurse,
   whose bound is far stronger than CP-SAT's own on these models;
3. the roster's cells that the relaxation has whole (0 or 1) are fixed and CP-SAT chooses the rest;
4. large neighbourhood search for what is left of the budget: fix most of the best roster, let
   CP-SAT re-solve the rest (a few nurses over the whole period, every nurse over a few days, or
   some nurses over some days), keep what is no worse, and grow or shrink the free part by whether
   CP-SAT closes it in time.

The bound reported is the better of CP-SAT's and the relaxation's. `roster_solve_plain` is the
same model in one CP-SAT call: the yardstick the engine must beat.

`roster_repair` re-solves after a change (a sick call: the nurse's days off grow) with every
changed cell of the roster in force costed and the days already worked kept, starting from that
roster. `contract_conflicts` names, for a problem no roster can satisfy, the nurse and the rules
that clash. A budget in deterministic time with interleaved workers (SolveSettings.deterministic)
gives the same roster for the same seed on any machine.
"""

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from ortools.sat.python import cp_model

from optimization.contracts import Assignment, RosterProblem, roster_check
from optimization.roster_columns import columns_generate, schedules_construct
from optimization.roster_model import KeptCellForbidden, RosterModel

# The budget: the whole model's solve for the first share, column generation until COLUMNS_UNTIL of it, then
# the neighbourhood the relaxation leaves open for at most RELAXATION_NEIGHBOURHOOD_SHARE, the search after.
FULL_SOLVE_SHARE = 0.1
COLUMNS_UNTIL = 0.6
RELAXATION_NEIGHBOURHOOD_SHARE = 0.2
# Bounds on one neighbourhood's solve, in seconds (or deterministic seconds).
NEIGHBOURHOOD_SECONDS = (0.5, 4.0)
# The share of the roster's cells left free grows by this factor when CP-SAT closes a neighbourhood, and
# shrinks by it when it does not.
NEIGHBOURHOOD_GROWTH = 1.15

# Called with (seconds so far, share of the budget used, best objective or None, bound).
Progress = Callable[[float, float, int | None, float], None]


@dataclass(frozen=True)
class SolveSettings:
    seconds: float = 30.0
    seed: int = 0
    workers: int = 2
    # Count the budget in CP-SAT's deterministic time, its workers interleaved: reproducible, not wall-clock bound.
    deterministic: bool = False


class SolveStatus:
    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    INFEASIBLE = "infeasible"
    UNKNOWN = "unknown"  # no roster found in the time given


@dataclass
class RosterSolution:
    """The best roster found, its objective, the proven lower bound and the time taken.

    For a repair the objective includes the cost of the changes; `penalty` never does.
    """

    assignment: dict[tuple[str, int], str]
    status: str
    objective: int | None
    bound: float
    seconds: float
    penalty: int | None = None
    changes: int = 0
    neighbourhoods: int = 0
    trace: list[tuple[float, int]] = field(default_factory=list)

    @property
    def feasible(self) -> bool:
        return self.status in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE)

    @property
    def gap(self) -> float | None:
        """(objective - bound) / objective, 0 when proven optimal."""
        if self.objective is None:
            return None
        if self.objective == 0:
            return 0.0
        return max(self.objective - self.bound, 0.0) / self.objective


@dataclass(frozen=True)
class ContractConflict:
    nurse: str
    rules: tuple[str, ...]

    def __str__(self) -> str:
        return f"nurse {self.nurse}: no roster satisfies {', '.join(self.rules)} together"


class RosterInfeasible(Exception):
    """No roster satisfies the contracts (and the days kept); `conflicts` names nurses and rules."""

    def __init__(self, conflicts: list[ContractConflict], message: str | None = None):
        self.conflicts = conflicts
        super().__init__(message or "; ".join(str(conflict) for conflict in conflicts))


class _Improvements(cp_model.CpSolverSolutionCallback):
    def __init__(self, on_solution: Callable[[int, float], None]):
        super().__init__()
        self._on_solution = on_solution

    def on_solution_callback(self) -> None:
        self._on_solution(round(self.objective_value), self.best_objective_bound)


def _solver(settings: SolveSettings, seconds: float, seed: int) -> cp_model.CpSolver:
    solver = cp_model.CpSolver()
    if settings.deterministic:
        # Interleaved workers share one deterministic schedule: the same search on any machine.
        solver.parameters.num_workers = settings.workers
        solver.parameters.interleave_search = settings.workers > 1
        solver.parameters.max_deterministic_time = max(seconds, 0.01)
    else:
        solver.parameters.num_workers = settings.workers
        solver.parameters.max_time_in_seconds = max(seconds, 0.01)
    solver.parameters.random_seed = seed
    return solver


class _Clock:
    """Time used: wall-clock seconds, or CP-SAT's deterministic seconds when settings ask for them."""

    def __init__(self, settings: SolveSettings):
        self.settings = settings
        self.started = time.perf_counter()
        self.deterministic_used = 0.0

    def used(self) -> float:
        if self.settings.deterministic:
            return self.deterministic_used
        return time.perf_counter() - self.started

    def left(self) -> float:
        return self.settings.seconds - self.used()

    def count(self, solver: cp_model.CpSolver) -> None:
        self.add(solver.deterministic_time)

    def add(self, deterministic_seconds: float) -> None:
        self.deterministic_used += deterministic_seconds


def _cells_to_free(problem: RosterProblem, share: float, rng: random.Random) -> set[tuple[int, int]]:
    """The (nurse index, day) cells of one neighbourhood, about `share` of all cells."""
    nurses, days = len(problem.nurses), problem.days
    kind = rng.randrange(3)
    if kind == 0:
        chosen = rng.sample(range(nurses), max(2, min(nurses, round(share * nurses))))
        return {(nurse, day) for nurse in chosen for day in range(days)}
    if kind == 1:
        length = max(2, min(days, round(share * days)))
        first = rng.randrange(days - length + 1)
        return {(nurse, day) for nurse in range(nurses) for day in range(first, first + length)}
    side = share**0.5
    chosen = rng.sample(range(nurses), max(2, min(nurses, round(side * nurses))))
    length = max(2, min(days, round(side * days)))
    first = rng.randrange(days - length + 1)
    return {(nurse, day) for nurse in chosen for day in range(first, first + length)}


def _solve_neighbourhood(
    built: RosterModel,
    fixed: dict[tuple[int, int, str], int],
    best: dict[tuple[str, int], str],
    solver: cp_model.CpSolver,
    clock: _Clock,
) -> tuple[int, dict[tuple[str, int], str] | None, int | None]:
    """CP-SAT on the roster with the cells `fixed`, from `best`: its status, roster and objective."""
    built.fix(fixed)
    built.hint(best)
    try:
        status = solver.solve(built.model)
    finally:
        built.fix({})
    clock.count(solver)
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return status, built.assignment(solver), round(solver.objective_value)
    return status, None, None


def _search(
    built: RosterModel,
    best: dict[tuple[str, int], str],
    best_objective: int,
    bound: float,
    settings: SolveSettings,
    clock: _Clock,
    progress: Progress | None,
) -> tuple[dict[tuple[str, int], str], int, int, list[tuple[float, int]]]:
    """Large neighbourhood search from `best` until the budget is spent or the bound is reached."""
    rng = random.Random(settings.seed)
    nurse_ids = [nurse.id for nurse in built.problem.nurses]
    share, neighbourhoods, trace = 0.1, 0, []
    low, high = NEIGHBOURHOOD_SECONDS
    while clock.left() > low / 2 and best_objective > bound:
        free = _cells_to_free(built.problem, share, rng)
        fixed = {
            (index, day, code): int(best.get((nurse_ids[index], day)) == code)
            for index, day, code in built.x
            if (index, day) not in free
        }
        limit = min(max(low, settings.seconds / 30), high, clock.left())
        solver = _solver(settings, limit, rng.randrange(1 << 30))
        status, roster, objective = _solve_neighbourhood(built, fixed, best, solver, clock)
        neighbourhoods += 1
        if roster is not None and objective <= best_objective:
            if objective < best_objective:
                trace.append((round(clock.used(), 2), objective))
            best, best_objective = roster, objective
        grow = status == cp_model.OPTIMAL
        share = min(share * NEIGHBOURHOOD_GROWTH, 1.0) if grow else max(share / NEIGHBOURHOOD_GROWTH, 0.01)
        if progress:
            progress(clock.used(), min(clock.used() / settings.seconds, 1.0), best_objective, bound)
    return best, best_objective, neighbourhoods, trace


def _improve_by_columns(
    built: RosterModel, best: dict[tuple[str, int], str], objective: int, settings: SolveSettings, clock: _Clock
) -> tuple[dict[tuple[str, int], str], int, float, list[tuple[float, int]]]:
    """Column generation until COLUMNS_UNTIL of the budget, then CP-SAT on the cells its relaxation leaves
    fractional, from `best`, the others fixed as the relaxation has them.

    Returns the better roster, its objective, the relaxation's lower bound (rounded up: objectives are whole)
    and the improvement found, if any.
    """
    problem = built.problem
    until = settings.seconds * COLUMNS_UNTIL
    result = columns_generate(
        problem,
        best,
        time_left=lambda: until - clock.used(),
        count=clock.add,
        seed=settings.seed,
        threads=settings.workers,
        deterministic=settings.deterministic,
    )
    bound = math.ceil(result.bound - 1e-6 * max(abs(result.bound), 1.0)) if math.isfinite(result.bound) else -math.inf
    # The cells the relaxation has whole stay as it has them; CP-SAT chooses the rest.
    fixed = {}
    for key in built.x:
        value = result.cell_values.get(key, 0.0)
        if abs(value - round(value)) < 1e-6:
            fixed[key] = round(value)
    seconds = min(settings.seconds * RELAXATION_NEIGHBOURHOOD_SHARE, clock.left())
    _, roster, found = _solve_neighbourhood(built, fixed, best, _solver(settings, seconds, settings.seed), clock)
    if roster is not None and found < objective:
        return roster, found, bound, [(round(clock.used(), 2), found)]
    return best, objective, bound, []


def _solve(
    built: RosterModel,
    settings: SolveSettings,
    *,
    start: Assignment | None,
    search: bool,
    columns: bool,
    progress: Progress | None,
) -> RosterSolution:
    clock = _Clock(settings)
    built.finish()
    if start is not None:
        built.hint(start)
    trace: list[tuple[float, int]] = []

    def on_solution(objective: int, bound: float) -> None:
        trace.append((round(clock.used(), 2), objective))
        if progress:
            progress(clock.used(), min(clock.used() / settings.seconds, 1.0), objective, bound)

    first = settings.seconds * FULL_SOLVE_SHARE if search else settings.seconds
    solver = _solver(settings, first, settings.seed)
    status = solver.solve(built.model, _Improvements(on_solution))
    clock.count(solver)
    constructed = None
    if status == cp_model.UNKNOWN and search and columns and clock.left() > 0:
        # No roster yet: build one nurse by nurse, each under her own contract, and search from it.
        constructed = schedules_construct(
            built.problem,
            time_left=clock.left,
            count=clock.add,
            seed=settings.seed,
            deterministic=settings.deterministic,
        )
        if constructed is not None:
            status = cp_model.FEASIBLE
            trace.append((round(clock.used(), 2), roster_check(built.problem, constructed).penalty))
    if status == cp_model.UNKNOWN and search and clock.left() > 0:
        # Still no roster: the whole model keeps the rest of the budget.
        solver = _solver(settings, clock.left(), settings.seed)
        status = solver.solve(built.model, _Improvements(on_solution))
        clock.count(solver)
    if status == cp_model.INFEASIBLE:
        return RosterSolution({}, SolveStatus.INFEASIBLE, None, float("inf"), round(clock.used(), 3))
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return RosterSolution({}, SolveStatus.UNKNOWN, None, solver.best_objective_bound, round(clock.used(), 3))
    if constructed is not None:
        best, objective = constructed, trace[-1][1]
        bound = solver.best_objective_bound
    else:
        best, objective = built.assignment(solver), round(solver.objective_value)
        bound = solver.best_objective_bound
    neighbourhoods = 0
    if search and columns and status == cp_model.FEASIBLE and clock.left() > 0:
        best, objective, column_bound, found = _improve_by_columns(built, best, objective, settings, clock)
        bound = max(bound, column_bound)
        trace.extend(found)
    if search and status == cp_model.FEASIBLE and objective > bound:
        best, objective, neighbourhoods, found = _search(built, best, objective, bound, settings, clock, progress)
        trace.extend(found)
    optimal = status == cp_model.OPTIMAL or objective <= bound
    return RosterSolution(
        assignment=best,
        status=SolveStatus.OPTIMAL if optimal else SolveStatus.FEASIBLE,
        objective=objective,
        bound=float(objective) if optimal else float(bound),
        seconds=round(clock.used(), 3),
        penalty=objective,
        neighbourhoods=neighbourhoods,
        trace=trace,
    )


def _raise_if_infeasible(problem: RosterProblem, solution: RosterSolution) -> RosterSolution:
    if solution.status == SolveStatus.INFEASIBLE:
        conflicts = contract_conflicts(problem)
        raise RosterInfeasible(conflicts, None if conflicts else "no roster satisfies the contracts together")
    return solution


def roster_solve(
    problem: RosterProblem,
    settings: SolveSettings = SolveSettings(),
    *,
    start: Assignment | None = None,
    progress: Progress | None = None,
) -> RosterSolution:
    """The best roster found within the budget, with CP-SAT's bound and the gap.

    `start` (a roster, for example the one in force) is the first hint. Raises RosterInfeasible
    naming the nurse and the rules when no roster satisfies the contracts; a budget spent before
    any roster is found gives status "unknown" and an empty roster.
    """
    built = RosterModel(problem)
    built.add_penalties()
    return _raise_if_infeasible(
        problem, _solve(built, settings, start=start, search=True, columns=True, progress=progress)
    )


def roster_solve_plain(problem: RosterProblem, settings: SolveSettings = SolveSettings()) -> RosterSolution:
    """The same model in one CP-SAT call for the whole budget: the yardstick for roster_solve."""
    built = RosterModel(problem)
    built.add_penalties()
    return _raise_if_infeasible(
        problem, _solve(built, settings, start=None, search=False, columns=False, progress=None)
    )


def roster_repair(
    problem: RosterProblem,
    roster: Assignment,
    *,
    from_day: int,
    settings: SolveSettings = SolveSettings(seconds=5.0),
    change_weight: int = 50,
    progress: Progress | None = None,
) -> RosterSolution:
    """Re-solve after a change with as few changes to `roster` (the one in force) as it pays.

    Days before `from_day` are kept as they are; every cell changed from then on costs
    `change_weight` on top of the penalty. The problem carries the change (for a sick call the
    nurse's new days off). `changes` counts the changed cells and `penalty` is the roster's own.
    Raises RosterInfeasible when a day kept breaks the changed rules or no roster keeps them.
    """
    built = RosterModel(problem)
    built.add_penalties()
    try:
        built.keep_days(roster, range(from_day))
    except KeptCellForbidden as exc:
        raise RosterInfeasible([], str(exc)) from None
    built.add_change_costs(roster, from_day=from_day, weight=change_weight)
    solution = _raise_if_infeasible(
        problem, _solve(built, settings, start=roster, search=True, columns=False, progress=progress)
    )
    if solution.feasible:
        changed = set(solution.assignment.items()) ^ set(roster.items())
        solution.changes = len({cell for cell, _ in changed})
        solution.penalty = solution.objective - change_weight * solution.changes
    return solution


def _infeasible_under(built: RosterModel, rules: list[str], seconds: float) -> tuple[bool, set[int]]:
    """Whether the model is infeasible with only `rules` enforced, and CP-SAT's core (literal indexes)."""
    built.model.clear_assumptions()
    built.model.add_assumptions([built.rule_literals[rule] for rule in rules])
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.max_time_in_seconds = seconds
    infeasible = solver.solve(built.model) == cp_model.INFEASIBLE
    return infeasible, set(solver.sufficient_assumptions_for_infeasibility()) if infeasible else set()


def contract_conflicts(problem: RosterProblem, *, seconds: float = 5.0) -> list[ContractConflict]:
    """Each nurse whose own contract and days off no roster can satisfy, with the rules that clash.

    Contracts are the only hard rules and each binds one nurse, so a problem is infeasible exactly
    when some nurse alone is. The rules named cannot hold together, and each of them is needed for
    the clash (CP-SAT's core, with every rule it can do without taken out).
    """
    conflicts = []
    for nurse in problem.nurses:
        built = RosterModel(replace(problem, nurses=(nurse,), cover=(), requests=()), rule_literals=True)
        infeasible, core = _infeasible_under(built, list(built.rule_literals), seconds)
        if not infeasible:
            continue
        rules = [rule for rule, literal in built.rule_literals.items() if literal.index in core]
        for rule in list(rules):
            if _infeasible_under(built, [other for other in rules if other != rule], seconds)[0]:
                rules.remove(rule)
        conflicts.append(ContractConflict(nurse.id, tuple(rules)))
    return conflicts
