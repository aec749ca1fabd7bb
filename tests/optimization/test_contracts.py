"""Named rosters as data, and the rule-by-rule check that judges a roster without the solver."""

from dataclasses import replace

import pytest

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
    Contract,
    CoverNeed,
    Nurse,
    RosterProblem,
    ShiftRequest,
    ShiftType,
    roster_check,
    worked_runs,
)

DAY, NIGHT = ShiftType("D", 480), ShiftType("N", 480, frozenset({"D"}))
OPEN = Contract(max_shifts={"D": 14, "N": 14}, min_minutes=0, max_minutes=14 * 480, max_consecutive=14)


def problem(contract: Contract = OPEN, *, days: int = 14, days_off=(), **kwargs) -> RosterProblem:
    nurse = Nurse("A", contract, frozenset(days_off), frozenset({"charge"}))
    return RosterProblem(days=days, shift_types=(DAY, NIGHT), nurses=(nurse,), **{"cover": (), **kwargs})


def works(*days: int, shift: str = "D") -> dict[tuple[str, int], str]:
    return {("A", day): shift for day in days}


def rules_broken(roster_problem: RosterProblem, assignment) -> set[str]:
    return roster_check(roster_problem, assignment).broken_rules("A")


def test_a_roster_that_keeps_every_rule_is_feasible():
    assert roster_check(problem(), works(0, 1, 2)).feasible


def test_worked_runs_are_found_with_their_first_day_and_length():
    assert worked_runs([True, True, False, True, False, False, True]) == [(0, 2), (3, 1), (6, 1)]


@pytest.mark.parametrize(
    ("changes", "assignment", "rule"),
    [
        ({}, works(9), RULE_DAY_OFF),
        ({"max_shifts": {"D": 2, "N": 14}}, works(0, 1, 2), RULE_MAX_SHIFTS),
        ({"max_shifts": {"D": 14}}, works(0, shift="N"), RULE_MAX_SHIFTS),
        ({"min_minutes": 3 * 480}, works(0, 1), RULE_MIN_MINUTES),
        ({"max_minutes": 480}, works(0, 1), RULE_MAX_MINUTES),
        ({"max_consecutive": 3}, works(0, 1, 2, 3), RULE_MAX_CONSECUTIVE),
        ({"min_consecutive": 2}, works(4, 5, 7), RULE_MIN_CONSECUTIVE),
        ({"min_days_off": 2}, works(0, 1, 3, 4), RULE_MIN_DAYS_OFF),
        ({"max_weekends": 1}, works(5, 12), RULE_MAX_WEEKENDS),
    ],
)
def test_each_rule_broken_is_named(changes, assignment, rule):
    contract = replace(OPEN, **changes)
    assert rules_broken(problem(contract, days_off=(9,)), assignment) == {rule}


def test_a_night_may_not_be_followed_by_a_day():
    assignment = {("A", 0): "N", ("A", 1): "D"}
    assert rules_broken(problem(), assignment) == {RULE_SUCCESSION}
    assert rules_broken(problem(), {("A", 0): "D", ("A", 1): "N"}) == set()


def test_short_runs_at_either_end_of_the_period_count_but_days_off_there_are_free():
    contract = replace(OPEN, min_consecutive=2, min_days_off=3)
    assert rules_broken(problem(contract), works(0)) == {RULE_MIN_CONSECUTIVE}
    assert rules_broken(problem(contract), works(13)) == {RULE_MIN_CONSECUTIVE}
    # One day off after day 0's run would break the rule; the days off before day 5 and after day 6 are free.
    assert rules_broken(problem(contract), works(5, 6)) == set()


def test_a_weekend_is_worked_when_either_of_its_days_is():
    contract = replace(OPEN, max_weekends=1)
    assert rules_broken(problem(contract), works(5, 6)) == set()
    assert rules_broken(problem(contract), works(6, 13)) == {RULE_MAX_WEEKENDS}
    # A period that starts on a Saturday has its weekend on days 0 and 1.
    assert problem(first_weekday=5).weekends()[0] == (0, 1)


def test_the_penalty_adds_requests_refused_and_cover_missed():
    requests = (ShiftRequest("A", 0, "D", 3), ShiftRequest("A", 1, "D", 5, wanted=False), ShiftRequest("A", 2, "N", 7))
    cover = (CoverNeed(0, "D", 2, under_weight=100, over_weight=1), CoverNeed(1, "D", 0, 100, 4))
    check = roster_check(problem(requests=requests, cover=cover), works(0, 1))
    # Request 2 refused (5) and 3 refused (7); day 0 one short (100), day 1 one over (4).
    assert check.penalty == 5 + 7 + 100 + 4
    assert check.requests_met == [requests[0]]
    assert [need for need, _ in check.cover_missed] == list(cover)


def test_skill_cover_counts_only_nurses_with_the_skill():
    skilled = CoverNeed(0, "D", 1, under_weight=50, skill="charge")
    other = CoverNeed(0, "D", 1, under_weight=50, skill="paediatric")
    assert roster_check(problem(cover=(skilled,)), works(0)).penalty == 0
    assert roster_check(problem(cover=(other,)), works(0)).penalty == 50


def test_a_problem_that_names_unknown_things_is_refused_naming_them():
    contract = Contract(max_shifts={"X": 1}, min_minutes=0, max_minutes=480, max_consecutive=5)
    with pytest.raises(ValueError) as error:
        RosterProblem(
            days=7,
            shift_types=(DAY,),
            nurses=(Nurse("A", contract, frozenset({9})),),
            cover=(CoverNeed(0, "E", 1, 100),),
            requests=(ShiftRequest("B", 0, "D", 1),),
        )
    message = str(error.value)
    assert "nurse A: contract names unknown shift X" in message
    assert "nurse A: day off 9 outside days 0-6" in message
    assert "cover of day 0: unknown shift E" in message
    assert "request of unknown nurse B" in message


def test_a_contract_may_forbid_successions_of_its_own():
    late_rest = replace(OPEN, not_followed_by={"D": frozenset({"N"})})
    assert rules_broken(problem(late_rest), {("A", 0): "D", ("A", 1): "N"}) == {RULE_SUCCESSION}
    assert rules_broken(problem(), {("A", 0): "D", ("A", 1): "N"}) == set()
