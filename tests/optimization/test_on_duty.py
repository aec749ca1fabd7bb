"""Who is on duty, as recorded: plans put in force, call-ins, releases and absences, and who did each."""

from datetime import timedelta
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from healthcare.encounters.models import WorkloadHour
from optimization import services
from optimization.models import DutyChangeKind, OptimizationRun, RunStatus, StaffingPolicy
from optimization.on_duty import (
    duty_change_cancel,
    duty_change_record,
    next_shift_start,
    plan_put_in_force,
    running_shift_end,
)
from optimization.roster_in_force import nurses_on_duty, rostered_nurses
from optimization.selectors import oncall_used, staffing_state
from tests.factories import current_hour, hour, plan_make

NOON = hour(10, 12)  # Wednesday 10 January 2024, 12:00 UTC; the test ED's shifts start 07, 15 and 23 (UTC)


def on_duty(department, first, hours=1):
    return [
        nurses_on_duty(department, first=first, last=first + timedelta(hours=hours - 1)).get(
            first + timedelta(hours=index)
        )
        for index in range(hours)
    ]


def test_a_plan_put_in_force_while_a_roster_runs_starts_at_the_next_shift(ed, ed_staff):
    plan_make(ed, hour(10, 7), [10] * 24)
    proposal = plan_make(ed, NOON, [9] * 24, in_force=False)
    assert on_duty(ed, NOON) == [10]  # a proposal changes nobody's shift

    run = plan_put_in_force(run=proposal, by=ed_staff, now=NOON + timedelta(minutes=20))

    assert run.in_force_from == hour(10, 15) == next_shift_start(ed, now=NOON)
    assert run.put_in_force_by == ed_staff and run.put_in_force_at == NOON + timedelta(minutes=20)
    # The shift on duty keeps its ten; from 15:00 the new roster's nine.
    assert on_duty(ed, hour(10, 14), hours=2) == [10, 9]


def test_the_first_roster_is_in_force_from_the_current_hour(ed, ed_staff):
    proposal = plan_make(ed, NOON, [4] * 12, in_force=False)
    plan_put_in_force(run=proposal, by=ed_staff, now=NOON + timedelta(minutes=5))
    assert on_duty(ed, NOON) == [4]


@pytest.mark.parametrize("status", [RunStatus.FAILED, RunStatus.QUEUED])
def test_only_a_plan_that_succeeded_can_be_put_in_force(ed, ed_staff, status):
    run = plan_make(ed, NOON, [], status=status)
    with pytest.raises(ValidationError, match="succeeded"):
        plan_put_in_force(run=run, by=ed_staff, now=NOON)
    assert OptimizationRun.objects.get(id=run.id).in_force_from is None


def test_a_plan_whose_hours_are_over_cannot_be_put_in_force(ed, ed_staff):
    plan_make(ed, hour(10, 7), [10] * 24)
    run = plan_make(ed, NOON, [9] * 2, in_force=False)  # ends at 13:00, before the next shift
    with pytest.raises(ValidationError, match="no hour left"):
        plan_put_in_force(run=run, by=ed_staff, now=NOON)


def test_a_plan_request_without_current_staff_keeps_the_shift_on_duty(
    ed_history, ed_staff, ed_forecaster, django_capture_on_commit_callbacks
):
    # Plan from the second hour of the latest shift that has started (a shift is running then).
    first = next_shift_start(ed_history, now=current_hour() - timedelta(hours=9)) + timedelta(hours=1)
    plan_make(ed_history, first - timedelta(hours=1), [7] * 30)
    with django_capture_on_commit_callbacks(execute=True):
        run = services.optimization_request(
            department=ed_history, params={"horizon_hours": 24}, requested_by=ed_staff, planned_from=first
        )
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.failure_reason
    assert run.result["on_duty_at_start"] == 7 and run.in_force_from is None
    # Its roster starts after the shift on duty, whose seven nurses stay in its hours.
    kept = int((running_shift_end(ed_history, now=first) - first) / timedelta(hours=1))
    assert kept == 7  # 8-hour shifts
    assert [hour["planned_nurses"] for hour in run.result["hours"][:kept]] == [7] * kept
    assert on_duty(ed_history, first) == [7]


def test_a_confirmed_call_in_counts_from_the_hour_the_nurse_is_there_for_the_block(ed, ed_staff):
    plan_make(ed, hour(10, 7), [3] * 24)
    change = duty_change_record(
        department=ed, kind=DutyChangeKind.CALL_IN, nurses=2, by=ed_staff, now=NOON + timedelta(minutes=10)
    )
    # The lead time is 2 hours: called at 12:10, there by 14:10, counted from 15:00 for the 4-hour block.
    assert (change.starts_at, change.ends_at) == (hour(10, 15), hour(10, 19))
    assert change.recorded_by == ed_staff and change.recorded_at is not None
    assert on_duty(ed, hour(10, 14), hours=6) == [3, 5, 5, 5, 5, 3]
    assert oncall_used(ed, day_of=NOON) == 2


def test_a_release_or_an_absence_counts_from_this_hour_to_the_end_of_the_shift(ed, ed_staff):
    plan_make(ed, hour(10, 7), [5] * 24)
    duty_change_record(department=ed, kind=DutyChangeKind.ABSENCE, nurses=1, by=ed_staff, now=NOON)
    duty_change_record(department=ed, kind=DutyChangeKind.RELEASE, nurses=1, by=ed_staff, now=NOON, hours=1)
    assert on_duty(ed, hour(10, 11), hours=5) == [5, 3, 4, 4, 5]


def test_a_cancelled_change_counts_nowhere_and_keeps_who_cancelled_it(ed, ed_staff, integrator):
    plan_make(ed, hour(10, 7), [5] * 24)
    change = duty_change_record(department=ed, kind=DutyChangeKind.ABSENCE, nurses=2, by=ed_staff, now=NOON)
    cancelled = duty_change_cancel(change=change, by=integrator, now=NOON + timedelta(minutes=3))
    again = duty_change_cancel(change=change, by=ed_staff)
    assert on_duty(ed, NOON) == [5]
    assert again.cancelled_by == integrator and cancelled.cancelled_at == again.cancelled_at


def test_on_duty_never_goes_below_zero(ed, ed_staff):
    plan_make(ed, hour(10, 7), [1] * 24)
    duty_change_record(department=ed, kind=DutyChangeKind.ABSENCE, nurses=3, by=ed_staff, now=NOON)
    assert on_duty(ed, NOON) == [0]


def test_a_duty_change_is_validated(ed, ed_staff):
    with pytest.raises(ValidationError, match="nurses"):
        duty_change_record(department=ed, kind=DutyChangeKind.CALL_IN, nurses=0, by=ed_staff, now=NOON)
    with pytest.raises(ValidationError, match="kind"):
        duty_change_record(department=ed, kind="holiday", nurses=1, by=ed_staff, now=NOON)


def test_the_daily_on_call_cap_counts_todays_call_ins(ed, ed_staff):
    plan_make(ed, hour(10, 7), [10] * 24)
    duty_change_record(department=ed, kind=DutyChangeKind.CALL_IN, nurses=3, by=ed_staff, now=NOON)
    with mock.patch.object(timezone, "now", return_value=NOON):
        state = staffing_state(ed)
    assert state.oncall_left == 1


def test_the_roster_in_force_is_the_plan_put_in_force_last(ed):
    plan_make(ed, NOON, [3] * 6, finished_at=NOON + timedelta(minutes=30))
    plan_make(ed, NOON, [8] * 6, finished_at=NOON + timedelta(minutes=10))
    assert set(rostered_nurses(ed, first=NOON, last=NOON + timedelta(hours=5)).values()) == {3}


def test_a_learned_policy_that_cannot_be_loaded_gives_way_to_its_rule(ed, caplog):
    from optimization.services import staffing_policy_store

    staffing_policy_store(
        department=ed,
        algorithm="ppo",
        parameters={"z_roster": 1.0, "z_call": 1.0, "z_release": 2.0, "shield_z": 1.0},
        hyperparameters={},
        training_start=NOON,
        training_end=NOON,
        metrics={},
        artifact=b"not a network",
    )
    StaffingPolicy.objects.filter(department=ed).update(artifact_sha256="0" * 64)  # damaged in storage
    plan_make(ed, hour(10, 7), [2] * 24)
    WorkloadHour.objects.create(department=ed, hour=NOON, arrivals=1, discharges=0, census=9)
    state = staffing_state(ed, now=NOON)
    assert state.decision.short_now == 1 and state.decision.call_in == 1
    assert "cannot be loaded" in caplog.text
