"""The staffing state's arithmetic: the decision for now and the chance of being short ahead (no database).

The plain cases at the point of care are pinned here first: a unit short now is called short,
gets a call-in it can have, and is escalated for the rest, with or without a forecast.
"""

from datetime import UTC, datetime

import numpy as np
import pytest

from optimization.baselines import ReactiveRule
from optimization.projection import Projection
from optimization.rules import StaffingRules
from optimization.simulate import Observation
from optimization.staffing import SAFE, SHORT, SURPLUS, StaffingState, decide, hours_ahead

ED = StaffingRules(patients_per_nurse=4, min_nurses=2)  # on call: 2 h lead, 4 h block, 4 a day
ICU = StaffingRules(patients_per_nurse=2, min_nurses=2)
RULE = ReactiveRule(1.0, 2.0)
NOON = datetime(2024, 1, 10, 12, tzinfo=UTC)


def observation(rules, *, mean, std=1.0, planned, census_now, oncall_left=4, release_hours=6) -> Observation:
    hours = len(planned)
    return Observation(
        hour=0,
        local_hour=12,
        projection=Projection(np.full(hours, float(mean)), np.full(hours, float(std))),
        planned=np.asarray(planned, dtype=np.int64),
        census_now=census_now,
        oncall_left=oncall_left,
        releasable=max(int(planned[0]) - rules.floor, 0),
        release_hours=release_hours,
        rules=rules,
    )


# --- The current hour, no forecast needed --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("census", "on_duty", "required", "short", "call_in", "still_short"),
    [
        (41, 10, 11, 1, 1, 0),  # the ED: one short, one on call covers it
        (80, 10, 20, 10, 4, 6),  # four on call today, six more must come from elsewhere
        (60, 2, 15, 13, 4, 9),
        (8, 2, 2, 0, 0, 0),  # exactly at the ratio
        (0, 0, 2, 2, 2, 0),  # an empty unit still needs its minimum
    ],
)
def test_the_shortfall_now_is_covered_first_and_the_rest_escalated(
    census, on_duty, required, short, call_in, still_short
):
    decision = decide(rules=ED, census_now=census, on_duty=on_duty, oncall_left=4)
    assert (decision.required_now, decision.short_now) == (required, short)
    assert (decision.call_in, decision.short_after_call_in, decision.escalate) == (
        call_in,
        still_short,
        still_short > 0,
    )
    assert decision.release == 0 and decision.lookahead is False
    assert decision.status == (SHORT if short else SAFE)


def test_no_one_left_on_call_means_escalate_everything():
    decision = decide(rules=ED, census_now=41, on_duty=10, oncall_left=0)
    assert (decision.call_in, decision.short_after_call_in, decision.escalate) == (0, 1, True)
    assert "escalate to the house supervisor" in decision.reason
    assert decision.reason.startswith("Short 1 nurse now (41 patients need 11 nurses at 1:4, 10 on duty)")


def test_without_a_forecast_nobody_is_released_and_the_answer_says_why():
    decision = decide(rules=ED, census_now=4, on_duty=10, oncall_left=4)
    assert decision.release == 0 and decision.status == SAFE
    assert "Look-ahead off" in decision.reason


def test_the_look_ahead_adds_call_ins_for_a_rise_it_expects():
    # Covered now (8 patients, 3 nurses), but 15 expected from the hours the call-ins reach: 4 needed.
    seen = observation(ED, mean=15.0, planned=[3] * 12, census_now=8)
    decision = decide(rules=ED, census_now=8, on_duty=3, oncall_left=4, observation=seen, policy=RULE)
    assert decision.short_now == 0 and decision.call_in >= 1 and decision.status == SAFE
    assert decision.lookahead is True and "call in" in decision.reason


def test_the_look_ahead_never_calls_more_than_are_on_call():
    seen = observation(ED, mean=60.0, planned=[3] * 12, census_now=50, oncall_left=2)
    decision = decide(rules=ED, census_now=50, on_duty=3, oncall_left=2, observation=seen, policy=RULE)
    assert decision.call_in == 2 and decision.escalate


def test_a_release_needs_a_spare_nurse_now_and_for_the_hours_it_lasts():
    quiet = observation(ED, mean=4.0, planned=[6] * 12, census_now=4)
    decision = decide(rules=ED, census_now=4, on_duty=6, oncall_left=4, observation=quiet, policy=RULE)
    assert decision.release == 1 and decision.status == SURPLUS
    # The same nurse is needed again in five hours: nobody goes home.
    rising = Observation(**{**quiet.__dict__, "projection": Projection(np.array([4.0] * 5 + [22.0] * 7), np.ones(12))})
    kept = decide(rules=ED, census_now=4, on_duty=6, oncall_left=4, observation=rising, policy=RULE)
    assert kept.release == 0


def test_never_released_below_the_ratio_now_even_if_the_policy_would():
    class AlwaysRelease:
        def decide(self, observation):
            return 0, 1

    # 12 patients at 1:4 need all three on duty now.
    seen = observation(ED, mean=0.0, planned=[3] * 12, census_now=12)
    decision = decide(rules=ED, census_now=12, on_duty=3, oncall_left=4, observation=seen, policy=AlwaysRelease())
    assert decision.release == 0


# --- Hours ahead ----------------------------------------------------------------------------------------------


def test_an_hour_is_short_with_the_chance_the_census_exceeds_what_the_staff_may_care_for():
    # Three nurses care for 12; a mean of 12.5 sits on the boundary between 12 and 13 patients.
    [hour] = hours_ahead(rules=ED, mean=[12.5], std=[2.0], planned=[3])
    assert hour.p_short == pytest.approx(0.5)
    [far] = hours_ahead(rules=ED, mean=[4.0], std=[1.0], planned=[3])
    assert far.p_short < 1e-6


def test_call_ins_decided_now_count_from_their_arrival_for_their_block():
    staffed = [
        hour.staffed for hour in hours_ahead(rules=ED, mean=[10.0] * 8, std=[1.0] * 8, planned=[3] * 8, call_in=2)
    ]
    assert staffed == [3, 3, 5, 5, 5, 5, 3, 3]


def test_below_the_minimum_an_hour_is_short_for_certain():
    [hour] = hours_ahead(rules=ED, mean=[0.0], std=[0.5], planned=[1])
    assert hour.p_short == 1.0


def test_the_recourse_the_policy_can_still_take_lowers_the_risk_only_where_it_can_arrive():
    kwargs = {"rules": ED, "mean": [16.0] * 6, "std": [1.0] * 6, "planned": [3] * 6}
    alone = hours_ahead(**kwargs)
    helped = hours_ahead(**kwargs, oncall_left=4, z_recourse=1.0)
    # Hours 0-2 are within the lead time (nobody called later arrives by then); from hour 3 the policy can act.
    assert [hour.p_short for hour in helped[:3]] == [hour.p_short for hour in alone[:3]]
    assert all(late.p_short < 0.05 < early.p_short for late, early in zip(helped[3:], alone[3:], strict=True))


def test_a_covered_icu_with_a_steady_census_is_never_at_risk():
    # The ICU: 13 nurses for 22 patients at 1:2 (11 required), census steady around 22.
    ahead = hours_ahead(rules=ICU, mean=[22.0] * 71, std=[2.5] * 71, planned=[13] * 71, oncall_left=4, z_recourse=1.0)
    assert max(hour.p_short for hour in ahead) < 0.10


# --- The state and its verdict ----------------------------------------------------------------------------------


def state(decision, ahead=(), *, oncall_left=4, unplanned=frozenset()) -> StaffingState:
    return StaffingState(NOON, 41, decision.on_duty, decision, tuple(ahead), oncall_left, 0.1, unplanned)


def test_the_verdict_names_the_shortfall_and_what_to_do():
    short = decide(rules=ED, census_now=41, on_duty=10, oncall_left=3)
    assert state(short, oncall_left=3).verdict("UTC") == "Short 1 nurse now: call in 1 (2 on call left)"
    overrun = decide(rules=ED, census_now=80, on_duty=10, oncall_left=4)
    assert state(overrun).verdict("UTC") == "Short 10 nurses now: call in 4 (0 on call left), escalate for 6"


def test_the_verdict_names_the_first_hour_likely_short_in_local_time():
    safe = decide(rules=ED, census_now=36, on_duty=10, oncall_left=0)
    ahead = hours_ahead(rules=ED, mean=[36.0, 36.0, 36.0, 44.0], std=[1.0] * 4, planned=[10] * 4)[1:]
    assert state(safe, ahead).verdict("America/Chicago") == "Short 1 nurse at 09:00"
    # An hour no roster covers is never flagged.
    assert state(safe, ahead, unplanned=frozenset({3})).verdict("UTC") == "Safe: 10 on duty for 9 required"


def test_an_unrecorded_census_or_roster_is_said_plainly():
    unknown = StaffingState(NOON, None, 10, None, (), 4, 0.1)
    assert unknown.status is None and "No census" in unknown.verdict("UTC")
    nobody = StaffingState(NOON, 12, None, None, (), 4, 0.1)
    assert "no roster is in force" in nobody.verdict("UTC")
    assert nobody.as_dict()["status"] is None


def test_the_verdict_names_only_hours_a_charge_nurse_can_still_act_on():
    safe = decide(rules=ED, census_now=36, on_duty=10, oncall_left=0)
    mean = [36.0] * 20 + [60.0]
    ahead = hours_ahead(rules=ED, mean=mean, std=[1.0] * 21, planned=[10] * 21)[1:]
    later = state(safe, ahead)
    assert later.hours_at_risk[0].offset == 20 and later.hours_to_act_on == []
    assert later.verdict("UTC") == "Safe: 10 on duty for 9 required"
