"""Plans reviewed once their hours have passed: their cost against the census that came, and the hindsight oracle."""

import dataclasses
from datetime import timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from healthcare.encounters import services as encounter_services
from healthcare.encounters.models import WorkloadHour
from optimization import policies, services
from optimization.models import OptimizationRun, RunStatus
from tests import factories
from tests.factories import current_hour, encounter_record, hour, iso


@pytest.fixture
def request_plan(django_capture_on_commit_callbacks):
    """A plan computed as a worker would, from a past hour on (data before it only)."""

    def request(department, planned_from, **params) -> OptimizationRun:
        with django_capture_on_commit_callbacks(execute=True):
            run = services.optimization_request(department=department, params=params, planned_from=planned_from)
        run.refresh_from_db()
        assert run.status == RunStatus.SUCCEEDED, run.failure_reason
        return run

    return request


def plan_make(department, first, nurses, *, roster_cost=0.0, status=RunStatus.SUCCEEDED) -> OptimizationRun:
    """A finished plan written by hand: its hours, the department's rules and a roster cost."""
    return factories.plan_make(
        department,
        first,
        nurses,
        status=status,
        expected={"roster_cost": roster_cost},
        rules=dataclasses.asdict(policies.staffing_rules_for(department)),
    )


def census_rows(department, first, censuses) -> None:
    """WorkloadHour rows from `first` on; a zero census means no row (nobody was there)."""
    WorkloadHour.objects.bulk_create(
        WorkloadHour(department=department, hour=first + timedelta(hours=index), arrivals=1, discharges=0, census=c)
        for index, c in enumerate(censuses)
        if c
    )


def observed_census(department, run) -> np.ndarray:
    rows = dict(WorkloadHour.objects.filter(department=department).values_list("hour", "census"))
    return np.array(
        [rows.get(run.planned_from + timedelta(hours=index), 0) for index in range(len(run.result["hours"]))]
    )


def test_a_past_plan_is_reviewed_against_the_census_that_came_and_the_oracle(ed_history, request_plan):
    run = request_plan(ed_history, current_hour() - timedelta(hours=48), horizon_hours=24, risk_level="high")
    review = services.optimization_run_review(run=run)

    census = observed_census(ed_history, run)
    planned = np.array([row["planned_nurses"] for row in run.result["hours"]])
    uncovered = np.maximum(census - ed_history.patients_per_nurse * planned, 0).sum()
    roster_cost = run.result["expected"]["roster_cost"]
    assert review["census_observed_until"] == iso(WorkloadHour.objects.latest("hour").hour)
    assert review["patient_hours"] == census.sum() > 0
    assert review["uncovered_patient_hours"] == round(float(uncovered), 2)
    assert review["compliance"] == round(1 - uncovered / census.sum(), 4)
    # Penalty: 10 rostered nurse-hours (at 1.0) per patient-hour beyond the ratio.
    assert review["plan"] == {
        "roster_cost": roster_cost,
        "penalty": round(float(uncovered) * 10.0, 2),
        "cost": round(roster_cost + float(uncovered) * 10.0, 2),
    }
    assert 0 < review["oracle"]["cost"] <= review["plan"]["cost"]
    assert review["oracle"]["lower_bound"] <= review["oracle"]["cost"]
    assert review["plan_over_oracle"] == round(review["plan"]["cost"] / review["oracle"]["cost"], 3) >= 1

    run.refresh_from_db()
    assert run.result["review"] == review
    assert len(run.result["hours"]) == 24 and "expected" in run.result


def test_the_review_charges_the_penalty_for_each_patient_hour_beyond_the_ratio(ed):
    first = hour(10, 0)
    run = plan_make(ed, first, [2] * 6, roster_cost=48.0)
    census_rows(ed, first, [10, 6, 0, 9, 8, 4])  # 2 nurses care for 8: 2 + 1 beyond
    review = services.optimization_run_review(run=run)
    assert review["census_observed_until"] == "2024-01-10T05:00:00Z"
    assert (review["patient_hours"], review["uncovered_patient_hours"]) == (37.0, 3.0)
    assert review["compliance"] == round(1 - 3 / 37, 4) == 0.9189
    assert review["plan"] == {"roster_cost": 48.0, "penalty": 30.0, "cost": 78.0}
    # Knowing the census, the oracle covers everyone (a patient-hour costs more than a nurse-hour).
    assert review["oracle"]["uncovered_patient_hours"] == 0.0
    assert review["oracle"]["cost"] > 0


def test_the_penalty_follows_the_rules_the_plan_was_made_with(ed):
    first = hour(10, 0)
    run = plan_make(ed, first, [2] * 3, roster_cost=48.0)
    run.result["rules"] |= {"nurse_hour_cost": 2.0, "understaffed_penalty": 5.0}
    run.save()
    census_rows(ed, first, [10, 8, 8])
    review = services.optimization_run_review(run=run)
    assert review["plan"] == {"roster_cost": 48.0, "penalty": 20.0, "cost": 68.0}


def test_a_plan_is_not_reviewed_while_some_planned_hour_is_still_to_come(ed):
    first = hour(10, 0)
    run = plan_make(ed, first, [2] * 6)
    census_rows(ed, first, [10, 6, 5, 9, 8])  # observed up to 04:00; 05:00 is still to come
    assert services.optimization_run_review(run=run) is None
    run.refresh_from_db()
    assert "review" not in run.result


def test_a_live_plan_is_not_reviewed_before_its_hours_pass(ed_history, request_plan):
    run = request_plan(ed_history, current_hour() - timedelta(hours=12), horizon_hours=24)
    assert services.optimization_run_review(run=run) is None
    run.refresh_from_db()
    assert "review" not in run.result


def test_a_department_without_data_has_nothing_to_review(ed):
    assert services.optimization_run_review(run=plan_make(ed, hour(10, 0), [2] * 3)) is None


@pytest.mark.parametrize("status", [RunStatus.FAILED, RunStatus.QUEUED])
def test_runs_that_did_not_succeed_are_not_reviewed(ed, status):
    run = plan_make(ed, hour(10, 0), [2] * 3, status=status)
    census_rows(ed, hour(10, 0), [5, 5, 5, 5])
    assert services.optimization_run_review(run=run) is None


def test_reviewing_all_runs_skips_those_already_reviewed_and_those_still_running(ed):
    first = hour(10, 0)
    census_rows(ed, first, [10, 6, 5, 9, 8, 4])
    done = plan_make(ed, first, [2] * 6, roster_cost=48.0)
    ongoing = plan_make(ed, first + timedelta(hours=3), [2] * 6)
    failed = plan_make(ed, first, [2] * 6, status=RunStatus.FAILED)
    now = first + timedelta(hours=7)
    assert services.optimization_runs_review(now=now) == 1
    done.refresh_from_db()
    review = done.result["review"]
    assert review["plan"]["cost"] == 78.0
    # The census of a reviewed plan's hours is corrected later: its review stays as it was.
    WorkloadHour.objects.filter(department=ed, hour=first).update(census=40)
    assert services.optimization_runs_review(now=now) == 0
    done.refresh_from_db()
    assert done.result["review"] == review
    for run in (ongoing, failed):
        run.refresh_from_db()
        assert "review" not in run.result
    # Two weeks on, plans never completely recorded are not waited for any more.
    assert services.optimization_runs_review(now=first + timedelta(days=15)) == 0


def test_a_plan_that_cannot_be_reviewed_is_marked_and_does_not_stop_the_others(ed):
    first = hour(10, 0)
    census_rows(ed, first, [10, 6, 5, 9, 8, 4])
    broken = plan_make(ed, first, [2] * 6)
    broken.result = {**broken.result, "rules": {}}  # a result from an older version
    broken.save()
    fine = plan_make(ed, first, [2] * 6, roster_cost=48.0)
    assert services.optimization_runs_review(now=first + timedelta(hours=7)) == 1
    broken.refresh_from_db()
    fine.refresh_from_db()
    assert broken.result["review"]["skipped"].startswith("KeyError")
    assert fine.result["review"]["plan"]["cost"] == 78.0


# --- Known bugs (see the report) ------------------------------------------------------------------------


def test_the_hour_still_under_way_is_not_reviewed_as_if_it_had_passed(ed):
    """The current hour's census is still filling up (the live accuracy scores only hours that are over).

    A plan whose last hour is the current one must wait, or its review freezes a partial census.
    """
    now = current_hour()
    first = now - timedelta(hours=5)
    run = plan_make(ed, first, [2] * 6)  # its last hour is the current hour
    encounter_services.encounters_ingest(
        records=[encounter_record("still-here", start=now - timedelta(hours=3))],
        source="test",
        now=now + timedelta(minutes=30),
    )
    assert WorkloadHour.objects.filter(department=ed, hour=now).exists()
    assert services.optimization_run_review(run=run) is None


def test_the_oracle_never_costs_more_than_a_plan_made_with_nurses_already_on_duty(ed_history, request_plan):
    """current_staff: the nurses on duty stay until their shift ends. The plan's roster cost leaves
    them out while the oracle pays their shift, so the "bound no real plan can beat" is beaten."""
    zone = ZoneInfo(ed_history.timezone)
    start = current_hour() - timedelta(hours=9)
    while start.astimezone(zone).hour != 8:  # an hour into the 07:00 shift, with 7 of its hours left
        start -= timedelta(hours=1)
    reviews = []
    for day in range(3):
        run = request_plan(ed_history, start - timedelta(days=day), horizon_hours=8, current_staff=10)
        reviews.append(services.optimization_run_review(run=run))
    costs = [(review["plan"]["cost"], review["oracle"]["cost"]) for review in reviews]
    assert all(oracle <= plan for plan, oracle in costs), costs
