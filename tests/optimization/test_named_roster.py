"""The named-roster engine: CP-SAT's rosters against enumeration, bounds, repair, conflicts, determinism."""

import itertools
import random
from dataclasses import replace
from pathlib import Path

import pytest

from optimization.contracts import (
    RULE_MAX_SHIFTS,
    RULE_MIN_MINUTES,
    Contract,
    CoverNeed,
    Nurse,
    RosterProblem,
    ShiftRequest,
    ShiftType,
    roster_check,
)
from optimization.named_roster import (
    RosterInfeasible,
    SolveSettings,
    SolveStatus,
    contract_conflicts,
    roster_repair,
    roster_solve,
    roster_solve_plain,
)
from optimization.roster_columns import columns_generate
from optimization.roster_instances import instance_read


@pytest.fixture
def instances(shared_data) -> Path:
    """The public shift-scheduling benchmark instances beside the repository."""
    return shared_data / "nurse_rostering"


QUICK = SolveSettings(seconds=10, deterministic=True)
SHIFTS = (ShiftType("E", 480, frozenset()), ShiftType("L", 600, frozenset({"E"})))


def random_problem(seed: int, *, nurses: int = 3, days: int = 5) -> RosterProblem:
    """A small problem with random contracts, requests and cover: small enough to enumerate."""
    rng = random.Random(seed)
    staff = []
    for number in range(nurses):
        contract = Contract(
            max_shifts={"E": rng.randint(1, days), "L": rng.randint(0, 3)},
            min_minutes=rng.choice([0, 960, 1440]),
            max_minutes=rng.choice([2400, 3000, 4000]),
            max_consecutive=rng.randint(2, 4),
            min_consecutive=rng.randint(1, 2),
            min_days_off=rng.randint(1, 2),
            max_weekends=rng.choice([None, 0, 1]),
        )
        days_off = frozenset(rng.sample(range(days), rng.randint(0, 1)))
        skills = frozenset({"charge"}) if number == 0 else frozenset()
        staff.append(Nurse(f"N{number}", contract, days_off, skills))
    requests = tuple(
        ShiftRequest(f"N{rng.randrange(nurses)}", rng.randrange(days), rng.choice("EL"), rng.randint(1, 3), wanted)
        for wanted in (True, False)
        for _ in range(3)
    )
    cover = tuple(
        CoverNeed(day, code, rng.randint(0, 2), 10, rng.randint(0, 2)) for day in range(days) for code in "EL"
    )
    cover += (CoverNeed(2, "E", 1, 7, skill="charge"),)
    return RosterProblem(
        days=days,
        shift_types=SHIFTS,
        nurses=tuple(staff),
        cover=cover,
        requests=requests,
        first_weekday=rng.randrange(7),
    )


def enumerated_optimum(problem: RosterProblem) -> int | None:
    """The least penalty over every roster that keeps the rules, found by trying them all.

    Each nurse's schedules are judged alone by roster_check (rules and her own requests); the cover is
    counted for every combination of them.
    """
    codes = [None, *(shift.code for shift in problem.shift_types)]
    per_nurse = []
    for nurse in problem.nurses:
        own = tuple(request for request in problem.requests if request.nurse == nurse.id)
        alone = replace(problem, nurses=(nurse,), cover=(), requests=own)
        schedules = []
        for days in itertools.product(codes, repeat=problem.days):
            check = roster_check(alone, {(nurse.id, day): code for day, code in enumerate(days) if code})
            if check.feasible:
                schedules.append((days, check.penalty))
        if not schedules:
            return None
        per_nurse.append(schedules)
    best = None
    for parts in itertools.product(*per_nurse):
        penalty = sum(cost for _, cost in parts)
        for need in problem.cover:
            counted = sum(
                1
                for nurse, (days, _) in zip(problem.nurses, parts, strict=True)
                if days[need.day] == need.shift and (need.skill is None or need.skill in nurse.skills)
            )
            penalty += max(need.required - counted, 0) * need.under_weight
            penalty += max(counted - need.required, 0) * need.over_weight
        best = penalty if best is None else min(best, penalty)
    return best


@pytest.mark.parametrize("seed", range(8))
def test_the_solver_finds_the_enumerated_optimum_and_keeps_every_rule(seed):
    problem = random_problem(seed)
    optimum = enumerated_optimum(problem)
    if optimum is None:
        with pytest.raises(RosterInfeasible):
            roster_solve(problem, QUICK)
        return
    solution = roster_solve(problem, QUICK)
    check = roster_check(problem, solution.assignment)
    assert check.feasible, check.violations
    assert solution.status == SolveStatus.OPTIMAL
    assert solution.objective == check.penalty == optimum
    assert roster_solve_plain(problem, QUICK).objective == optimum


@pytest.mark.parametrize("seed", range(4))
def test_the_column_bound_never_exceeds_the_optimum(seed):
    problem = random_problem(seed)
    optimum = enumerated_optimum(problem)
    if optimum is None:
        pytest.skip("no roster keeps these contracts")
    start = roster_solve_plain(problem, QUICK).assignment
    result = columns_generate(problem, start, time_left=lambda: 1.0, count=lambda used: None)
    assert result.converged
    assert result.bound <= optimum + 1e-6
    assert result.lp_value <= optimum + 1e-6


def test_a_contract_no_roster_can_keep_names_the_nurse_and_the_rules():
    # 3 day shifts at most but 4 shifts' minutes at least: nurse N1 can never be rostered.
    impossible = Contract(max_shifts={"E": 3}, min_minutes=4 * 480, max_minutes=5000, max_consecutive=5)
    problem = random_problem(0)
    problem = replace(
        problem,
        nurses=(problem.nurses[0], replace(problem.nurses[1], contract=impossible)),
        requests=tuple(request for request in problem.requests if request.nurse in ("N0", "N1")),
    )
    feasible_first = replace(problem, nurses=(problem.nurses[0],), requests=())
    if contract_conflicts(feasible_first):
        pytest.skip("nurse N0's own contract is impossible in this draw")
    with pytest.raises(RosterInfeasible) as error:
        roster_solve(problem, QUICK)
    [conflict] = error.value.conflicts
    assert conflict.nurse == "N1"
    assert set(conflict.rules) == {RULE_MAX_SHIFTS, RULE_MIN_MINUTES}
    assert "nurse N1" in str(error.value) and RULE_MIN_MINUTES in str(error.value)


def test_the_same_seed_gives_the_same_roster():
    problem = random_problem(3, nurses=4, days=10)
    first = roster_solve(problem, replace(QUICK, seconds=2, seed=7))
    second = roster_solve(problem, replace(QUICK, seconds=2, seed=7))
    assert first.assignment == second.assignment
    assert first.objective == second.objective


def test_a_budget_spent_before_any_roster_says_so(instances):
    problem = instance_read(instances / "Instance19.txt")
    solution = roster_solve(problem, SolveSettings(seconds=0.01, deterministic=True))
    assert solution.status == SolveStatus.UNKNOWN
    assert solution.assignment == {} and solution.objective is None


def test_a_sick_call_is_repaired_with_few_changes_and_the_days_worked_kept(instances):
    problem = instance_read(instances / "Instance1.txt")
    in_force = roster_solve(problem, QUICK)
    assert in_force.objective == 607
    nurse, day = next((nurse, day) for (nurse, day) in sorted(in_force.assignment) if day >= 4)
    sick = replace(
        problem,
        nurses=tuple(
            replace(staff, days_off=staff.days_off | {day}) if staff.id == nurse else staff for staff in problem.nurses
        ),
    )
    repaired = roster_repair(sick, in_force.assignment, from_day=day, settings=replace(QUICK, seconds=5))
    check = roster_check(sick, repaired.assignment)
    assert check.feasible, check.violations
    assert (nurse, day) not in repaired.assignment
    kept = {cell: code for cell, code in in_force.assignment.items() if cell[1] < day}
    assert {cell: code for cell, code in repaired.assignment.items() if cell[1] < day} == kept
    changed = {
        cell
        for cell in set(repaired.assignment) | set(in_force.assignment)
        if repaired.assignment.get(cell) != in_force.assignment.get(cell)
    }
    assert repaired.changes == len(changed) >= 1
    assert repaired.penalty == check.penalty
    # A fresh solve of the sick problem moves far more of the roster than the repair does.
    assert repaired.changes < 10


def test_instance_1_is_solved_to_the_published_optimum(instances):
    problem = instance_read(instances / "Instance1.txt")
    solution = roster_solve(problem, SolveSettings(seconds=20))
    assert solution.status == SolveStatus.OPTIMAL
    assert roster_check(problem, solution.assignment).penalty == solution.objective == 607
    assert solution.gap == 0.0
