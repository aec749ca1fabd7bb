"""Rules, shift instances, the roster program and the hindsight bounds."""

from datetime import UTC, datetime

import numpy as np
import pytest

from optimization.roster import hindsight_plan, roster_plan
from optimization.rules import TWELVE_HOUR_SHIFTS, Shift, StaffingRules, shift_instances

RULES = StaffingRules(patients_per_nurse=4, min_nurses=2)
WEEK = (np.arange(168) + 7) % 24  # a week from 07:00
DAYS = np.arange(168) // 24


def test_rules_reject_bad_values_naming_the_field():
    with pytest.raises(ValueError, match="patients_per_nurse"):
        StaffingRules(patients_per_nurse=0, min_nurses=2)
    with pytest.raises(ValueError, match="covered by no shift"):
        StaffingRules(patients_per_nurse=4, min_nurses=2, shifts=(Shift(7, 8),))


def test_required_nurses_follow_ratio_and_minimum():
    assert RULES.required(np.array([0, 4, 5, 8, 9, 40])).tolist() == [2, 2, 2, 2, 3, 10]
    assert RULES.uncovered(np.array([10, 10]), np.array([2, 3])).tolist() == [2, 0]


def test_shift_instances_follow_the_local_clock_across_daylight_saving():
    assert [(i.start, i.hours) for i in shift_instances(RULES, WEEK)[:4]] == [(0, 8), (8, 8), (16, 8), (24, 8)]
    fall_back = [7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 0, 1, 1, 2, 3, 4, 5, 6, 7]
    night = shift_instances(RULES, np.array(fall_back))[2]
    assert (night.start, night.hours) == (16, 9)  # the night the clocks go back is an hour longer


def test_roster_covers_the_requirement_at_least_cost():
    required = np.full(168, 3)
    required[8:16] = 5
    roster = roster_plan(RULES, required, shift_instances(RULES, WEEK))
    assert np.all(roster.staff(168) >= required)
    assert roster.cost(RULES) == 3 * 168 + 2 * 8


def test_overlapping_patterns_are_used_where_they_pay():
    both = StaffingRules(
        patients_per_nurse=4, min_nurses=1, shifts=(Shift(7, 8), Shift(15, 8), Shift(23, 8), Shift(11, 4))
    )
    required = np.ones(24, dtype=int)
    required[4:8] = 2  # local 11:00-15:00
    roster = roster_plan(both, required, shift_instances(both, WEEK[:24]))
    assert roster.cost(both) == 24 + 4  # a 4 h shift covers the peak, not another 8 h one


def test_the_oracle_is_a_lower_bound_and_recourse_only_helps():
    rng = np.random.default_rng(0)
    census = np.maximum(30 + 10 * np.sin(2 * np.pi * (np.arange(168) - 8) / 24) + rng.normal(0, 3, 168), 0).round()
    instances = shift_instances(RULES, WEEK)
    roster = roster_plan(RULES, RULES.required(census), instances)
    oracle = hindsight_plan(RULES, census, instances, DAYS)
    clairvoyant = hindsight_plan(RULES, census, instances, DAYS, roster=roster)
    assert oracle.cost <= clairvoyant.cost <= roster.cost(RULES) + 1e-6
    assert np.all(oracle.staff >= RULES.min_nurses)
    assert np.all(np.bincount(DAYS, weights=oracle.oncall_starts) <= RULES.oncall_cap_per_day)


def test_twelve_hour_shifts_plan_in_two_blocks_a_day():
    rules = StaffingRules(patients_per_nurse=4, min_nurses=2, shifts=TWELVE_HOUR_SHIFTS)
    roster = roster_plan(rules, np.full(168, 4), shift_instances(rules, WEEK))
    assert len(roster.instances) == 14 and np.all(roster.nurses == 4)


def test_weeks_run_from_monday_07_to_the_next_across_clock_changes():
    from optimization.evaluation import week_length

    spring = int(datetime(2017, 3, 6, 13, tzinfo=UTC).timestamp() // 3600)  # Monday 07:00 CST
    autumn = int(datetime(2016, 10, 31, 12, tzinfo=UTC).timestamp() // 3600)  # Monday 07:00 CDT
    ordinary = int(datetime(2017, 1, 9, 13, tzinfo=UTC).timestamp() // 3600)
    assert week_length(spring, "America/Chicago") == 167
    assert week_length(autumn, "America/Chicago") == 169
    assert week_length(ordinary, "America/Chicago") == 168


def test_the_oracle_reports_a_proven_lower_bound():
    census = np.full(48, 13.0)
    plan = hindsight_plan(RULES, census, shift_instances(RULES, WEEK[:48]), DAYS[:48])
    assert plan.lower_bound <= plan.cost <= plan.lower_bound * (1 + 2e-4) + 1e-6
