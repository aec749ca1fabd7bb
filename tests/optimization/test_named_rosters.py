"""Rosters of named nurses in the product: solved as a job, put in force, read as who is on duty,
repaired after a sick call; and named call-ins offered, accepted, declined; named releases."""

from datetime import date, timedelta
from unittest import mock

import pytest
from django.core.exceptions import ValidationError

from monitoring_app.models import AuditEvent
from optimization.calendar_feed import nurse_calendar
from optimization.call_in_candidates import call_in_candidates, release_candidates
from optimization.contracts import roster_check
from optimization.models import (
    CallInOffer,
    DutyChange,
    DutyChangeKind,
    Leave,
    NamedRoster,
    OfferStatus,
    ReleaseVolunteer,
    RunStatus,
)
from optimization.named_roster import RosterSolution, SolveStatus
from optimization.on_duty import duty_change_record
from optimization.roster_in_force import nurses_on_duty, on_duty_at, rostered_nurses
from optimization.roster_inputs import cover_headcounts, roster_problem_for
from optimization.services.call_ins import call_in_offer, call_in_offer_answer, call_in_offer_withdraw, nurse_release
from optimization.services.rosters import (
    named_roster_assignment,
    named_roster_put_in_force,
    named_roster_request,
    sick_call_record,
)
from tests.factories import contract_make, hour, named_roster_make, nurses_make, plan_make, user_make

MONDAY = date(2024, 1, 8)  # the test ED runs on UTC: shifts D 07-15, E 15-23, N 23-07
NOON = hour(10, 12)  # Wednesday


def on_duty(department, first, hours=1):
    found = nurses_on_duty(department, first=first, last=first + timedelta(hours=hours - 1))
    return [found.get(first + timedelta(hours=index)) for index in range(hours)]


@pytest.fixture
def ward(ed):
    """Six ED nurses; A and B work days, C and D evenings, E nights all week, F is off."""
    nurses = nurses_make(ed, 6)
    week = {
        nurses[0]: ["D"] * 7,
        nurses[1]: ["D"] * 7,
        nurses[2]: ["E"] * 7,
        nurses[3]: ["E"] * 7,
        nurses[4]: ["N"] * 7,
        nurses[5]: [None] * 7,
    }
    roster = named_roster_make(ed, first_day=MONDAY, days=7, shifts=week)
    return roster, nurses


# --- Who is on duty, by name ---------------------------------------------------------------------


def test_a_named_roster_in_force_puts_its_nurses_on_duty_by_shift(ed, ward):
    roster, nurses = ward
    assert on_duty(ed, hour(10, 6), hours=3) == [1, 2, 2]  # the night nurse, then the two day nurses
    assert [nurse.display_name for nurse in on_duty_at(ed, hour=NOON).nurses] == ["Nurse ED1", "Nurse ED2"]
    # Before its first shift nothing is in force.
    assert rostered_nurses(ed, first=hour(8, 6), last=hour(8, 6)) == {}


def test_named_changes_apply_to_the_names_and_unnamed_ones_count(ed, ward, ed_staff):
    _, nurses = ward
    duty_change_record(
        department=ed, kind=DutyChangeKind.ABSENCE, nurses=1, nurse=nurses[0], by=ed_staff, starts_at=NOON, now=NOON
    )
    # Absent twice (named twice) still takes her off once.
    duty_change_record(
        department=ed, kind=DutyChangeKind.ABSENCE, nurses=1, nurse=nurses[0], by=ed_staff, starts_at=NOON, now=NOON
    )
    duty_change_record(
        department=ed, kind=DutyChangeKind.CALL_IN, nurses=1, nurse=nurses[5], by=ed_staff, starts_at=NOON, hours=2
    )
    duty_change_record(department=ed, kind=DutyChangeKind.CALL_IN, nurses=2, by=ed_staff, starts_at=NOON, hours=1)
    now = on_duty_at(ed, hour=NOON)
    assert [nurse.display_name for nurse in now.nurses] == ["Nurse ED2", "Nurse ED6"]
    assert now.called_in == {nurses[5].id} and now.unnamed == 2 and now.total == 4
    assert on_duty(ed, NOON, hours=3) == [4, 2, 1]


def test_leave_recorded_after_the_roster_takes_her_shifts_off(ed, ward):
    _, nurses = ward
    Leave.objects.create(nurse=nurses[0], first_day=date(2024, 1, 10), last_day=date(2024, 1, 10), reason="sick")
    assert on_duty(ed, NOON) == [1]
    assert on_duty(ed, hour(11, 12)) == [2]


def test_a_plan_put_in_force_later_takes_the_hours_it_covers(ed, ward):
    plan_make(ed, hour(10, 15), [9] * 8, finished_at=hour(10, 14))
    assert on_duty(ed, hour(10, 14), hours=2) == [2, 9]
    assert on_duty(ed, hour(10, 23)) == [1]  # the plan's hours are over: the named roster again


# --- Solving, putting in force ---------------------------------------------------------------------


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """A context manager: the work inside it commits, so the jobs it queues run (eager Celery)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def small_ward(ed):
    contract = contract_make("Week", period_days=7, min_minutes=3 * 480, max_minutes=5 * 480, min_days_off=1)
    return nurses_make(ed, 5, contract=contract)


def test_a_roster_is_solved_as_a_job_and_every_rule_holds(ed, small_ward, ed_staff, committed):
    with committed():
        roster = named_roster_request(department=ed, first_day=MONDAY, days=7, seconds=2, seed=3, requested_by=ed_staff)
    roster.refresh_from_db()
    assert roster.status == RunStatus.SUCCEEDED, roster.failure_reason
    assert roster.progress == 1.0 and roster.solver_status in ("optimal", "feasible")
    assert roster.bound <= roster.objective and roster.gap is not None
    assert "minimum" in roster.cover_source  # no forecast: every shift gets the department's minimum
    problem = roster_problem_for(ed, first_day=MONDAY, days=7, headcounts=cover_headcounts(roster.cover))
    check = roster_check(problem, named_roster_assignment(roster))
    assert check.feasible and check.penalty == roster.penalty
    shift = roster.shifts.order_by("starts_at").first()
    assert (shift.ends_at - shift.starts_at) == timedelta(hours=8) and shift.starts_at.hour in (7, 15, 23)


def test_the_same_seed_gives_the_same_roster(ed, small_ward, committed):
    with committed():
        rosters = [named_roster_request(department=ed, first_day=MONDAY, days=7, seconds=2, seed=5) for _ in range(2)]
    first, second = (named_roster_assignment(NamedRoster.objects.get(id=roster.id)) for roster in rosters)
    assert first == second and first


def test_a_contract_no_roster_can_satisfy_names_the_nurse_and_the_rule(ed, small_ward, committed):
    small_ward[2].fixed_days_off = [0, 1, 2, 3, 4, 5, 6]
    small_ward[2].save()
    with committed():
        roster = named_roster_request(department=ed, first_day=MONDAY, days=7, seconds=2)
    roster.refresh_from_db()
    assert roster.status == RunStatus.FAILED
    assert "Nurse ED3 (ED003)" in roster.failure_reason and "fewest minutes" in roster.failure_reason
    assert not roster.shifts.exists()


def test_a_solve_that_finds_no_roster_says_so_and_keeps_the_roster_in_force(ed, ward, ed_staff, committed):
    timed_out = RosterSolution({}, SolveStatus.UNKNOWN, None, 0.0, 2.0)
    patched = mock.patch("optimization.services.rosters.roster_solve", autospec=True, return_value=timed_out)
    with patched, committed():
        roster = named_roster_request(department=ed, first_day=MONDAY, days=7, seconds=2)
    roster.refresh_from_db()
    assert roster.status == RunStatus.FAILED
    assert roster.failure_reason == "no roster found within the time limit of 2 s; the roster in force is kept"
    with pytest.raises(ValidationError, match="solved"):
        named_roster_put_in_force(roster=roster, by=ed_staff, now=NOON)
    assert on_duty(ed, NOON) == [2]


def test_putting_a_roster_in_force_starts_at_the_next_shift_and_is_audited(
    ed, ward, ed_staff, django_capture_on_commit_callbacks
):
    _, nurses = ward
    proposal = named_roster_make(
        ed, first_day=MONDAY, days=7, shifts={nurses[5]: ["D"] * 7, nurses[4]: ["E"] * 7}, in_force=False
    )
    with django_capture_on_commit_callbacks(execute=True):
        roster = named_roster_put_in_force(roster=proposal, by=ed_staff, now=NOON + timedelta(minutes=10))
    assert roster.in_force_from == hour(10, 15)  # the day shift on duty keeps its nurses
    assert on_duty_at(ed, hour=NOON).total == 2 and [n.id for n in on_duty_at(ed, hour=hour(10, 15)).nurses] == [
        nurses[4].id
    ]
    event = AuditEvent.objects.get(action="roster.in_force")
    assert event.user == ed_staff and str(roster.id) in event.target
    with pytest.raises(ValidationError, match="in force already"):
        named_roster_put_in_force(roster=roster, by=ed_staff, now=NOON)


def test_a_sick_call_is_repaired_keeping_the_days_before_and_her_days_away_free(ed, small_ward, ed_staff, committed):
    with committed():
        roster = named_roster_request(department=ed, first_day=MONDAY, days=7, seconds=2)
    roster = named_roster_put_in_force(roster=roster, by=ed_staff, now=hour(8, 7))
    before = named_roster_assignment(roster)
    sick = next(nurse for nurse in small_ward if (nurse.employee_number, 3) in before)
    with committed():
        repair = sick_call_record(
            nurse=sick, first_day=date(2024, 1, 11), last_day=date(2024, 1, 12), by=ed_staff, seconds=2
        )
    repair.refresh_from_db()
    assert repair.status == RunStatus.SUCCEEDED, repair.failure_reason
    assert repair.repair_of == roster and "sick" in repair.note
    after = named_roster_assignment(repair)
    assert {cell: code for cell, code in after.items() if cell[1] < 3} == {
        cell: code for cell, code in before.items() if cell[1] < 3
    }
    assert (sick.employee_number, 3) not in after and (sick.employee_number, 4) not in after
    assert repair.changes == len({cell for cell, _ in set(after.items()) ^ set(before.items())})
    assert Leave.objects.filter(nurse=sick, reason="sick call").exists()


def test_a_sick_call_needs_a_named_roster_in_force(ed, small_ward, ed_staff):
    with pytest.raises(ValidationError, match="no roster of named nurses"):
        sick_call_record(nurse=small_ward[0], first_day=MONDAY, last_day=MONDAY, by=ed_staff)
    assert not Leave.objects.exists()


# --- Named call-ins and releases -------------------------------------------------------------------


@pytest.fixture
def nurse_user(ward):
    _, nurses = ward
    user = user_make("ed_nurse", role="nurse")
    nurses[5].user = user
    nurses[5].save()
    return user


def test_candidates_are_judged_by_their_shifts_around_the_call_in(ed, ward):
    _, nurses = ward
    choice = call_in_candidates(ed, starts_at=hour(10, 14), ends_at=hour(10, 18), now=NOON)
    by_name = {candidate.facts.name: candidate for candidate in choice.ranked}
    assert by_name["Nurse ED6"].legal  # off all week
    assert "already on duty then" in by_name["Nurse ED1"].reasons  # her day shift runs to 15:00
    assert "already on duty then" in by_name["Nurse ED3"].reasons  # her evening starts at 15:00
    assert not by_name["Nurse ED5"].legal  # nights: 15 h after 23:00 is fine, but 5 h before the next night
    assert choice.legal[0].facts.name == "Nurse ED6"
    assert choice.agency_cost > choice.legal[0].cost


def test_a_call_in_offered_and_accepted_records_her_on_duty(ed, ward, ed_staff, nurse_user, pushed):
    _, nurses = ward
    offer = call_in_offer(department=ed, nurse=nurses[5], by=ed_staff, now=NOON)
    assert (offer.starts_at, offer.ends_at) == (hour(10, 14), hour(10, 18))  # after the lead time, for the block
    assert offer.pay == "on-call" and offer.status == OfferStatus.OFFERED
    with pushed() as broadcast:
        offer = call_in_offer_answer(offer=offer, accept=True, by=nurse_user, now=NOON + timedelta(minutes=5))
    assert offer.status == OfferStatus.ACCEPTED and offer.duty_change.nurse == nurses[5]
    assert offer.duty_change.recorded_by == nurse_user
    assert on_duty(ed, hour(10, 13), hours=3) == [2, 3, 3]  # from 14:00 she is there too, with either shift
    assert nurses[5] in on_duty_at(ed, hour=hour(10, 14)).nurses
    events = [call.args[1] for call in broadcast.call_args_list]
    assert "call_in.changed" in events
    with pytest.raises(ValidationError, match="accepted already"):
        call_in_offer_answer(offer=offer, accept=False, by=nurse_user, now=NOON)


def test_a_declined_offer_records_nothing(ed, ward, ed_staff, nurse_user):
    _, nurses = ward
    offer = call_in_offer(department=ed, nurse=nurses[5], by=ed_staff, now=NOON)
    offer = call_in_offer_answer(offer=offer, accept=False, by=nurse_user, now=NOON)
    assert offer.status == OfferStatus.DECLINED and offer.duty_change is None
    assert not DutyChange.objects.exists()


def test_a_nurse_who_may_not_come_is_not_offered_the_call_in(ed, ward, ed_staff):
    _, nurses = ward
    with pytest.raises(ValidationError, match="Nurse ED1 may not come: already on duty then"):
        call_in_offer(department=ed, nurse=nurses[0], by=ed_staff, now=NOON)
    assert not CallInOffer.objects.exists()


def test_one_open_offer_per_nurse_and_hours_and_withdrawing_closes_it(ed, ward, ed_staff):
    _, nurses = ward
    offer = call_in_offer(department=ed, nurse=nurses[5], by=ed_staff, now=NOON)
    with pytest.raises(ValidationError, match="open offer"):
        call_in_offer(department=ed, nurse=nurses[5], by=ed_staff, now=NOON)
    offer = call_in_offer_withdraw(offer=offer, by=ed_staff, now=NOON)
    assert offer.status == OfferStatus.WITHDRAWN
    call_in_offer(department=ed, nurse=nurses[5], by=ed_staff, now=NOON)


def test_an_offer_is_checked_again_when_accepted(ed, ward, ed_staff, nurse_user):
    _, nurses = ward
    offer = call_in_offer(department=ed, nurse=nurses[5], by=ed_staff, now=NOON)
    Leave.objects.create(nurse=nurses[5], first_day=date(2024, 1, 10), last_day=date(2024, 1, 10), reason="annual")
    with pytest.raises(ValidationError, match="on leave"):
        call_in_offer_answer(offer=offer, accept=True, by=nurse_user, now=NOON)
    assert CallInOffer.objects.get(id=offer.id).status == OfferStatus.OFFERED
    with pytest.raises(ValidationError, match="hours have begun"):
        call_in_offer_answer(offer=offer, accept=False, by=nurse_user, now=hour(10, 14))


def test_releases_name_volunteers_first_and_send_her_home_until_her_shift_ends(ed, ward, ed_staff):
    _, nurses = ward
    ReleaseVolunteer.objects.create(nurse=nurses[1], day=date(2024, 1, 10))
    ranked = release_candidates(ed, hour=NOON, now=NOON)
    assert [nurse for nurse, _ in ranked] == [nurses[1], nurses[0]]
    change = nurse_release(department=ed, nurse=nurses[1], by=ed_staff, now=NOON)
    assert (change.kind, change.nurse, change.ends_at) == (DutyChangeKind.RELEASE, nurses[1], hour(10, 15))
    assert on_duty(ed, NOON) == [1]
    with pytest.raises(ValidationError, match="not on duty"):
        nurse_release(department=ed, nurse=nurses[5], by=ed_staff, now=NOON)


def test_her_calendar_feed_holds_her_shifts_and_call_ins(ed, ward, ed_staff):
    _, nurses = ward
    duty_change_record(
        department=ed, kind=DutyChangeKind.CALL_IN, nurses=1, nurse=nurses[0], by=ed_staff, starts_at=hour(11, 17)
    )
    assert len(nurses[0].calendar_token) >= 40 and nurses[0].calendar_token != nurses[1].calendar_token
    feed = nurse_calendar(nurses[0], now=NOON).decode()
    assert feed.count("BEGIN:VEVENT") == 8  # seven day shifts and the call-in
    assert "DTSTART:20240110T070000Z" in feed and "SUMMARY:Called in\\, ED" in feed


def test_the_cover_is_the_headcount_plan_of_the_week_ahead_then_by_weekday(ed, ed_forecaster):
    from optimization.policies import staffing_rules_for
    from optimization.services.plans import plan_compute
    from optimization.services.rosters import roster_cover
    from tests.factories import current_hour

    now = current_hour()
    first_day = now.date() + timedelta(days=1)
    cover, source = roster_cover(ed, first_day=first_day, days=14, now=now)
    assert source.startswith("headcount plan (HiGHS) of the week from") and len(cover) == 14 * 3
    plan = plan_compute(
        department=ed,
        start_hour=int(now.timestamp()) // 3600,
        horizon=168,
        rules=staffing_rules_for(ed),
        z_roster=1.0,
    )
    starts = {(shift.start.date(), shift.start.hour): shift.nurses for shift in plan.roster}
    # Day 0's day shift is the plan's 07:00 shift of that date (the test ED runs on UTC); day 7 repeats it.
    assert cover["0:D"] == max(starts[(first_day, 7)], ed.min_nurses)
    assert cover["7:D"] == cover["0:D"]  # a week on is past the plan's 168 hours
    assert min(cover.values()) >= ed.min_nurses
