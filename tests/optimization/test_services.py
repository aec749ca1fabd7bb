"""Staffing plans against the database: runs, statuses, rules, recommendations, policy versions."""

from datetime import timedelta
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from optimization import services
from optimization.models import OptimizationRun, RunStatus, StaffingPolicy, StaffingRuleSet
from optimization.services import runs
from tests.factories import current_hour


@pytest.fixture
def request_plan(django_capture_on_commit_callbacks):
    def request(department, **params) -> OptimizationRun:
        with django_capture_on_commit_callbacks(execute=True):
            run = services.optimization_request(department=department, params=params)
        run.refresh_from_db()
        return run

    return request


def test_a_plan_covers_the_horizon_and_compares_with_the_static_roster(ed_history, request_plan):
    run = request_plan(ed_history, horizon_hours=48, current_staff=6)
    assert run.status == RunStatus.SUCCEEDED, run.failure_reason
    result = run.result
    assert len(result["hours"]) == 48
    assert result["hours"][0]["hour"].startswith(current_hour().strftime("%Y-%m-%dT%H"))
    assert all(hour["planned_nurses"] >= ed_history.min_nurses for hour in result["hours"])
    # The staff on duty now stay until their shift ends (unless a shift starts right now: UTC 07, 15, 23).
    if current_hour().hour not in (7, 15, 23):
        assert result["hours"][0]["planned_nurses"] == 6
    expected, static = result["expected"], result["baselines"]["static_roster"]
    assert expected["compliance"] > static["compliance"]
    assert expected["roster_cost"] >= static["roster_cost"]
    assert sum(shift["nurses"] for shift in result["roster"]) > 0
    assert result["policy"]["algorithm"] == "rule" and result["forecast_model"]["version"] == 1
    assert set(run.timings) == {"queued_ms", "compute_ms", "total_ms"}


def test_a_lower_risk_level_rosters_more_nurses(ed_history, request_plan):
    cautious = request_plan(ed_history, risk_level="low").result["expected"]
    bold = request_plan(ed_history, risk_level="high").result["expected"]
    assert cautious["roster_cost"] > bold["roster_cost"]
    assert cautious["compliance"] > bold["compliance"]


def test_rule_overrides_and_department_rules_are_used(ed_history, request_plan):
    StaffingRuleSet.objects.create(department=ed_history, shifts=[[7, 12], [19, 12]])
    plain = request_plan(ed_history).result
    dearer = request_plan(ed_history, rule_overrides={"nurse_hour_cost": 2.0}).result
    assert dearer["expected"]["roster_cost"] == pytest.approx(2 * plain["expected"]["roster_cost"])
    assert plain["rules"]["shifts"] == [{"start_hour": 7, "hours": 12}, {"start_hour": 19, "hours": 12}]
    assert all(shift["shift_start"][11:13] in ("07", "19") for shift in plain["roster"])


def test_a_plan_with_too_few_nurses_on_duty_now_still_comes_out(ed_history, request_plan):
    run = request_plan(ed_history, current_staff=0, current_patients=40)
    assert run.status == RunStatus.SUCCEEDED, run.failure_reason


def test_bad_rule_sets_are_refused_by_the_model(ed):
    with pytest.raises(ValidationError) as raised:
        StaffingRuleSet(department=ed, shifts=[[7, 8]]).full_clean()
    assert "shifts" in raised.value.message_dict


def test_no_data_fails_the_run_with_the_reason(ed, request_plan):
    run = request_plan(ed)
    assert run.status == RunStatus.FAILED and "no workload data" in run.failure_reason


def test_a_finished_run_is_left_alone_and_a_stuck_one_is_given_up(ed_history, request_plan):
    run = request_plan(ed_history, horizon_hours=12)
    again = services.optimization_run(run_id=run.id)
    assert (again.status, again.attempts, again.result) == (run.status, run.attempts, run.result)
    stuck = OptimizationRun.objects.create(
        department=ed_history, planned_from=current_hour(), status=RunStatus.RUNNING, attempts=runs.MAX_ATTEMPTS
    )
    assert services.optimization_run(run_id=stuck.id).status == RunStatus.FAILED


def test_a_second_message_for_a_running_plan_leaves_it_to_the_first(ed_history):
    """The sweep re-sent a plan whose first message was only waiting; both reach workers at once."""
    running = OptimizationRun.objects.create(
        department=ed_history,
        planned_from=current_hour(),
        status=RunStatus.RUNNING,
        attempts=1,
        task_id="first-message",
        started_at=timezone.now() - timedelta(seconds=5),
        params={"horizon_hours": 12},
    )
    left = services.optimization_run(run_id=running.id, task_id="second-message")
    assert (left.status, left.attempts, left.task_id) == (RunStatus.RUNNING, 1, "first-message")
    # The first message delivered again (its worker process died): it takes the plan over.
    again = services.optimization_run(run_id=running.id, task_id="first-message")
    assert (again.status, again.attempts) == (RunStatus.SUCCEEDED, 2), again.failure_reason


def test_a_plan_running_past_the_time_limit_is_taken_over_by_another_message(ed_history, settings):
    stuck = OptimizationRun.objects.create(
        department=ed_history,
        planned_from=current_hour(),
        status=RunStatus.RUNNING,
        attempts=1,
        task_id="dead-worker",
        started_at=timezone.now() - timedelta(seconds=settings.CELERY_JOB_TIME_LIMIT + 120),
        params={"horizon_hours": 12},
    )
    taken = services.optimization_run(run_id=stuck.id, task_id="sweep-message")
    assert (taken.status, taken.attempts, taken.task_id) == (RunStatus.SUCCEEDED, 2, "sweep-message")


def test_a_plan_task_has_the_job_time_limits_and_its_soft_limit_ends_the_run(ed_history, request_plan, settings):
    from celery.exceptions import SoftTimeLimitExceeded

    from optimization.tasks import optimization_run_task

    assert optimization_run_task.time_limit == settings.CELERY_JOB_TIME_LIMIT <= settings.CELERY_TASK_TIME_LIMIT
    assert optimization_run_task.soft_time_limit == settings.CELERY_JOB_TIME_LIMIT - 30
    with mock.patch("optimization.services.runs.plan_compute", autospec=True, side_effect=SoftTimeLimitExceeded()):
        run = request_plan(ed_history)
    assert run.status == RunStatus.FAILED and run.failure_reason == "internal error: SoftTimeLimitExceeded"


def test_an_unexpected_error_fails_the_run_without_details(ed_history, request_plan):
    with mock.patch("optimization.services.runs.plan_compute", autospec=True, side_effect=RuntimeError("secret")):
        run = request_plan(ed_history)
    assert run.status == RunStatus.FAILED and run.failure_reason == "internal error: RuntimeError"


def test_the_recommendation_calls_in_when_the_unit_is_overrun(ed_history, ed_forecaster):
    crowded = services.recommendation(department=ed_history, current_patients=60, current_staff=3)
    assert crowded["call_in"] >= 1 and crowded["release"] == 0
    assert len(crowded["projection"]) == 12
    # Twenty nurses cover 80 patients, twice the ED's afternoon peak, so a release is safe at any hour of
    # the day this runs (with 12, the outlook at the evening peak rightly kept them all).
    quiet = services.recommendation(department=ed_history, current_patients=2, current_staff=20, release_hours=6)
    assert quiet["call_in"] == 0 and quiet["release"] == 1


def test_a_stored_rule_policy_becomes_the_active_one(ed_history, request_plan):
    first = services.staffing_policy_store(
        department=ed_history,
        algorithm="rule",
        parameters={"z_roster": 2.0, "z_call": 1.5, "z_release": 2.5, "shield_z": 1.5},
        hyperparameters={},
        training_start=current_hour(),
        training_end=current_hour(),
        metrics={},
    )
    second = services.staffing_policy_store(
        department=ed_history,
        algorithm="rule",
        parameters={"z_roster": 0.5, "z_call": 1.0, "z_release": 2.0, "shield_z": 1.0},
        hyperparameters={},
        training_start=current_hour(),
        training_end=current_hour(),
        metrics={},
    )
    first.refresh_from_db()
    assert not first.is_active and second.is_active and second.version == 2
    assert request_plan(ed_history).result["roster_quantile_z"] == 0.5
    assert list(StaffingPolicy.objects.filter(is_active=True)) == [second]
