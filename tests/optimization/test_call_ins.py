"""Whom to call in and whom to send home, judged on plain facts: the plain cases pinned first."""

from datetime import UTC, date, datetime, timedelta

from optimization.call_ins import (
    ON_CALL,
    OVERTIME,
    CallInCosts,
    CandidateFacts,
    ReleaseFacts,
    agency_cost,
    call_in_ranking,
    release_ranking,
)

# The call-in: Wednesday 10 January 2024, 17:00-21:00 UTC.
START = datetime(2024, 1, 10, 17, tzinfo=UTC)
END = START + timedelta(hours=4)
DAY = date(2024, 1, 10)
COSTS = CallInCosts(hour_cost=1.0, oncall_premium=1.5, overtime_premium=2.0, agency_premium=3.0)


def facts(name: str, **changes) -> CandidateFacts:
    base = {
        "nurse_id": hash(name) % 10_000,
        "name": name,
        "skills": frozenset({"rn"}),
        "takes_oncall": True,
        "takes_overtime": True,
        "worked": (),
        "worked_days": frozenset(),
        "minutes_in_period": 0,
        "max_minutes": 9600,
        "max_consecutive": 5,
        "min_rest_hours": 11,
        "recent_call_ins": 0,
    }
    return CandidateFacts(**(base | changes))


def rank(*candidates, need_skill=None):
    return call_in_ranking(list(candidates), starts_at=START, ends_at=END, day=DAY, costs=COSTS, need_skill=need_skill)


def judged(candidate, **kwargs):
    return rank(candidate, **kwargs)[0]


def shift(day: int, start_hour: int, hours: int = 8) -> tuple[datetime, datetime]:
    start = datetime(2024, 1, day, start_hour, tzinfo=UTC)
    return start, start + timedelta(hours=hours)


def test_a_nurse_off_with_nothing_near_may_come_on_call():
    ranked = judged(facts("Ada"))
    assert ranked.legal and ranked.reasons == ()
    assert (ranked.pay, ranked.cost) == (ON_CALL, 6.0)  # 4 h at 1.5


def test_a_nurse_on_duty_then_may_not_come():
    ranked = judged(facts("Bea", worked=(shift(10, 15),), worked_days=frozenset({DAY})))
    assert not ranked.legal and "already on duty then" in ranked.reasons


def test_a_nurse_on_leave_or_her_fixed_day_off_may_not_come():
    assert judged(facts("Cy", away="on leave (annual)")).reasons == ("on leave (annual)",)
    assert not judged(facts("Di", away="a fixed day off")).legal


def test_rest_after_and_before_her_own_shifts_is_kept():
    # A day shift ending 15:00 leaves 2 h before 17:00; a night starting 23:00 leaves 2 h after 21:00.
    after = judged(facts("Ed", worked=(shift(10, 7),), worked_days=frozenset({DAY})))
    before = judged(facts("Fay", worked=(shift(10, 23),), worked_days=frozenset({DAY})))
    assert not after.legal and "only 2 h of rest after her shift, at least 11 h" in after.reasons
    assert not before.legal and "only 2 h of rest before her next shift, at least 11 h" in before.reasons
    # A day shift ending at 05:00 leaves 12 h: legal.
    assert judged(facts("Gus", worked=(shift(9, 21),), worked_days=frozenset({DAY - timedelta(days=1)}))).legal


def test_a_call_in_may_not_make_too_many_days_in_a_row():
    five_before = frozenset(DAY - timedelta(days=back) for back in range(1, 6))
    ranked = judged(facts("Hana", worked_days=five_before))
    assert not ranked.legal and "6 days in a row, at most 5" in ranked.reasons
    assert judged(facts("Ivo", worked_days=five_before, max_consecutive=6)).legal


def test_beyond_her_contracts_minutes_it_is_overtime_or_nothing():
    near_the_top = {"minutes_in_period": 9500, "max_minutes": 9600}
    overtime = judged(facts("Jo", **near_the_top))
    assert overtime.legal and (overtime.pay, overtime.cost) == (OVERTIME, 8.0)
    refused = judged(facts("Kai", takes_overtime=False, **near_the_top))
    assert not refused.legal and "no overtime" in refused.reasons[0]


def test_a_nurse_who_takes_no_on_call_is_not_called_within_her_minutes():
    assert "does not take on-call" in judged(facts("Lea", takes_oncall=False)).reasons


def test_legal_first_then_skill_then_cost_then_fewest_call_ins_then_name():
    ranked = rank(
        facts("Zoe", worked=(shift(10, 15),)),  # on duty: not legal
        facts("Yara", minutes_in_period=9500),  # overtime: dearer
        facts("Xia", recent_call_ins=3),
        facts("Wen", recent_call_ins=1),
        facts("Vic", recent_call_ins=1),
        facts("Uma", skills=frozenset({"rn", "charge"}), recent_call_ins=5),
        need_skill="charge",
    )
    assert [candidate.facts.name for candidate in ranked] == ["Uma", "Vic", "Wen", "Xia", "Yara", "Zoe"]
    assert "no charge skill, which the shift is short of" in ranked[1].reasons
    assert ranked[1].legal  # the skill ranks, it does not forbid


def test_the_agency_is_priced_as_the_fallback():
    assert agency_cost(starts_at=START, ends_at=END, costs=COSTS) == 12.0


def test_releases_take_volunteers_first_then_call_ins_then_the_fewest_sent_home():
    early, late = START - timedelta(hours=3), START - timedelta(hours=1)
    ranked = release_ranking(
        [
            ReleaseFacts(1, "Ann", volunteered_at=None, called_in=False, recent_releases=0),
            ReleaseFacts(2, "Ben", volunteered_at=late, called_in=False, recent_releases=4),
            ReleaseFacts(3, "Cat", volunteered_at=None, called_in=True, recent_releases=2),
            ReleaseFacts(4, "Dan", volunteered_at=early, called_in=False, recent_releases=9),
            ReleaseFacts(5, "Eve", volunteered_at=None, called_in=False, recent_releases=3),
        ]
    )
    assert [facts.name for facts in ranked] == ["Dan", "Ben", "Cat", "Ann", "Eve"]
