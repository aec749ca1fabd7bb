"""Reads across plans: who is on duty each hour, and how well that covered the patients."""

import pytest

from healthcare.encounters.models import WorkloadHour
from optimization.models import RunStatus
from optimization.roster_in_force import rostered_nurses
from optimization.selectors import (
    StaffedHour,
    compliance_by_hour_of_day,
    compliance_share,
    staffed_hours,
    worst_periods,
)
from tests.factories import hour, plan_make


def staffed(day: int, hour_of_day: int, census: int, nurses: int, ratio: int = 4) -> StaffedHour:
    return StaffedHour(hour=hour(day, hour_of_day), census=census, nurses=nurses, covered=min(census, ratio * nurses))


def census_rows(department, censuses: dict) -> None:
    WorkloadHour.objects.bulk_create(
        WorkloadHour(department=department, hour=moment, arrivals=1, discharges=0, census=census)
        for moment, census in censuses.items()
    )


# --- rostered_nurses ------------------------------------------------------------------------------------


def test_a_later_plan_overrides_an_earlier_one_from_its_first_hour(ed):
    plan_make(ed, hour(10, 0), [3] * 6)
    plan_make(ed, hour(10, 3), [5] * 4)
    planned = rostered_nurses(ed, first=hour(10, 0), last=hour(10, 9))
    assert planned == {
        hour(10, 0): 3,
        hour(10, 1): 3,
        hour(10, 2): 3,
        hour(10, 3): 5,
        hour(10, 4): 5,
        hour(10, 5): 5,
        hour(10, 6): 5,
    }


def test_hours_outside_the_range_are_absent(ed):
    plan_make(ed, hour(10, 0), [2, 3, 4, 5, 6, 7])
    assert rostered_nurses(ed, first=hour(10, 2), last=hour(10, 4)) == {hour(10, 2): 4, hour(10, 3): 5, hour(10, 4): 6}
    assert rostered_nurses(ed, first=hour(11, 0), last=hour(11, 5)) == {}


def test_a_plan_made_after_the_range_does_not_count(ed):
    plan_make(ed, hour(10, 0), [3] * 6)
    plan_make(ed, hour(10, 6), [9] * 6)
    assert set(rostered_nurses(ed, first=hour(10, 0), last=hour(10, 5)).values()) == {3}


@pytest.mark.parametrize("status", [RunStatus.FAILED, RunStatus.QUEUED, RunStatus.RUNNING])
def test_runs_that_did_not_succeed_are_ignored(ed, status):
    plan_make(ed, hour(10, 0), [3] * 4)
    plan_make(ed, hour(10, 1), [9] * 4, status=status)
    assert rostered_nurses(ed, first=hour(10, 0), last=hour(10, 3)) == {
        hour(10, 0): 3,
        hour(10, 1): 3,
        hour(10, 2): 3,
        hour(10, 3): 3,
    }


def test_of_two_plans_from_the_same_hour_the_one_finished_last_counts(ed):
    plan_make(ed, hour(10, 0), [7] * 2, finished_at=hour(10, 0, 30))
    plan_make(ed, hour(10, 0), [4] * 2, finished_at=hour(10, 0, 10))
    assert rostered_nurses(ed, first=hour(10, 0), last=hour(10, 1)) == {hour(10, 0): 7, hour(10, 1): 7}


def test_plans_of_other_departments_do_not_count(ed, icu):
    plan_make(icu, hour(10, 0), [6] * 3)
    assert rostered_nurses(ed, first=hour(10, 0), last=hour(10, 2)) == {}


def test_a_week_old_plan_still_reaches_into_the_range(ed):
    plan_make(ed, hour(3, 1), [4] * 168)  # its last hour is 10 January 00:00
    assert rostered_nurses(ed, first=hour(10, 0), last=hour(10, 3)) == {hour(10, 0): 4}


# --- staffed_hours and compliance -------------------------------------------------------------------------


def test_staffed_hours_pair_each_planned_hour_with_its_census(ed):
    plan_make(ed, hour(10, 0), [2, 2, 3, 3])
    # No row at 01:00: nobody was there. 05:00 has no plan, so it is not a staffed hour.
    census_rows(ed, {hour(10, 0): 10, hour(10, 2): 12, hour(10, 3): 5, hour(10, 5): 30})
    assert staffed_hours(ed, first=hour(10, 0), last=hour(10, 5)) == [
        StaffedHour(hour=hour(10, 0), census=10, nurses=2, covered=8),
        StaffedHour(hour=hour(10, 1), census=0, nurses=2, covered=0),
        StaffedHour(hour=hour(10, 2), census=12, nurses=3, covered=12),
        StaffedHour(hour=hour(10, 3), census=5, nurses=3, covered=5),
    ]


def test_staffed_hours_without_any_plan_are_empty(ed):
    census_rows(ed, {hour(10, 0): 10})
    assert staffed_hours(ed, first=hour(10, 0), last=hour(10, 5)) == []


def test_an_uncovered_hour_counts_the_patients_beyond_the_ratio():
    assert staffed(10, 0, census=10, nurses=2).uncovered == 2
    assert staffed(10, 0, census=7, nurses=2).uncovered == 0


def test_compliance_share_is_the_share_of_patient_hours_covered(ed):
    plan_make(ed, hour(10, 0), [2, 2, 3, 3])
    census_rows(ed, {hour(10, 0): 10, hour(10, 2): 12, hour(10, 3): 5})
    hours = staffed_hours(ed, first=hour(10, 0), last=hour(10, 3))
    assert compliance_share(hours) == round(25 / 27, 4) == 0.9259


def test_compliance_share_is_unknown_without_patients():
    assert compliance_share([]) is None
    assert compliance_share([staffed(10, 0, census=0, nurses=2)]) is None


def test_compliance_by_hour_of_day_buckets_in_local_time():
    hours = [
        staffed(10, 6, census=10, nurses=2),  # 00:00 in Chicago: 2 uncovered
        staffed(11, 6, census=6, nurses=2),  # 00:00 the next night: all covered
        staffed(10, 7, census=4, nurses=1),  # 01:00
    ]
    table = compliance_by_hour_of_day(hours, "America/Chicago")
    assert [row["hour_of_day"] for row in table] == list(range(24))
    assert table[0] == {"hour_of_day": 0, "patient_hours": 16, "compliance": 0.875, "hours_short": 1}
    assert table[1] == {"hour_of_day": 1, "patient_hours": 4, "compliance": 1.0, "hours_short": 0}
    assert table[6] == {"hour_of_day": 6, "patient_hours": 0, "compliance": None, "hours_short": 0}
    # In UTC the same hours fall at 06:00 and 07:00.
    utc = compliance_by_hour_of_day(hours, "UTC")
    assert (utc[6]["patient_hours"], utc[7]["patient_hours"], utc[0]["patient_hours"]) == (16, 4, 0)


# --- worst_periods -----------------------------------------------------------------------------------------


def test_worst_periods_group_consecutive_uncovered_hours_worst_first():
    hours = [
        staffed(10, 0, census=10, nurses=2),  # 2 uncovered
        staffed(10, 1, census=13, nurses=3),  # 1 uncovered
        staffed(10, 2, census=8, nurses=2),  # covered: ends the period
        staffed(10, 3, census=21, nurses=4),  # 5 uncovered, alone
        # 04:00 was not staffed by any plan: the hours around it are not one period
        staffed(10, 5, census=9, nurses=2),  # 1 uncovered
        staffed(10, 6, census=13, nurses=3),  # 1 uncovered
    ]
    assert worst_periods(hours) == [
        {
            "start": hour(10, 3),
            "end": hour(10, 4),
            "hours": 1,
            "uncovered_patient_hours": 5.0,
            "peak_census": 21,
            "nurses_at_peak": 4,
        },
        {
            "start": hour(10, 0),
            "end": hour(10, 2),
            "hours": 2,
            "uncovered_patient_hours": 3.0,
            "peak_census": 13,
            "nurses_at_peak": 3,
        },
        {
            "start": hour(10, 5),
            "end": hour(10, 7),
            "hours": 2,
            "uncovered_patient_hours": 2.0,
            "peak_census": 13,
            "nurses_at_peak": 3,
        },
    ]
    assert [period["start"] for period in worst_periods(hours, limit=2)] == [hour(10, 3), hour(10, 0)]


def test_worst_periods_are_empty_when_every_hour_is_covered():
    assert worst_periods([staffed(10, 0, census=8, nurses=2), staffed(10, 1, census=0, nurses=2)]) == []
    assert worst_periods([]) == []


def test_a_period_running_to_the_last_hour_is_kept():
    hours = [staffed(10, 0, census=4, nurses=2), staffed(10, 1, census=12, nurses=2)]
    [period] = worst_periods(hours)
    assert (period["start"], period["end"], period["uncovered_patient_hours"]) == (hour(10, 1), hour(10, 2), 4.0)
