"""Alerts: raising and refreshing conditions, acknowledging them, and the checks that raise them."""

import asyncio
import logging
from datetime import timedelta
from unittest import mock

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.utils import timezone

from dashboard.broadcast import department_group
from healthcare.encounters.models import WorkloadHour
from monitoring_app import services
from monitoring_app.models import Alert, AlertKind, AlertSeverity
from optimization import services as optimization_services
from optimization.models import OptimizationRun, RunStatus, StaffingRuleSet
from optimization.on_duty import duty_change_record
from optimization.selectors import staffing_state
from predictions import services as prediction_services
from predictions.models import Forecast
from tests.factories import current_hour, department_make, hour
from tests.monitoring_app.conftest import forecast_make, plan_make

NOW = hour(10, 6)  # Wednesday 10 January 2024, 06:00 UTC
LATER = hour(10, 7)


async def receive(layer, channel: str) -> dict:
    return await asyncio.wait_for(layer.receive(channel), timeout=2)


def drift_bands(near_coverage: float, hours: tuple[int, int] = (30, 20)) -> list[dict]:
    """forecast_live_accuracy bands: the two near ones, and a far one that must not count."""
    return [
        {"horizon_band": "1-6h", "hours_scored": hours[0], "arrivals_coverage": near_coverage},
        {"horizon_band": "7-24h", "hours_scored": hours[1], "arrivals_coverage": near_coverage},
        {"horizon_band": "25-72h", "hours_scored": 500, "arrivals_coverage": 0.0},
    ]


# --- Raising and acknowledging ----------------------------------------------------------------------


def test_alert_raise_refreshes_existing_condition_instead_of_adding_another(ed):
    with mock.patch.object(timezone, "now", return_value=NOW):
        first, created = services.alert_raise(
            department=ed, kind=AlertKind.JOB_FAILED, key="job:1", title="Forecast failed", detail={"reason": "a"}
        )
    with mock.patch.object(timezone, "now", return_value=LATER):
        again, created_again = services.alert_raise(
            department=ed,
            kind=AlertKind.JOB_FAILED,
            key="job:1",
            title="Forecast failed again",
            detail={"reason": "b"},
        )
    assert (created, created_again) == (True, False)
    assert again.id == first.id and Alert.objects.count() == 1
    stored = Alert.objects.get()
    assert stored.detail == {"reason": "b"}
    assert (stored.title, stored.severity) == ("Forecast failed again", AlertSeverity.WARNING)
    assert (stored.raised_at, stored.last_seen_at) == (NOW, LATER)
    assert stored.is_open


def test_an_alert_that_turns_critical_is_raised_again_even_if_acknowledged(ed, ed_staff, raise_alert, pushed):
    alert = raise_alert(ed, "understaffing:1")
    services.alert_acknowledge(alert=alert, user=ed_staff)
    with pushed() as broadcast:
        again, raised = services.alert_raise(
            department=ed,
            kind=AlertKind.UNDERSTAFFING,
            key="understaffing:1",
            title="1 hour(s) expected under-staffed",
            detail={},
            severity=AlertSeverity.CRITICAL,
        )
    assert raised and again.id == alert.id
    again.refresh_from_db()
    assert again.is_open and again.acknowledged_by is None and again.severity == AlertSeverity.CRITICAL
    broadcast.assert_called_once_with("ED", "alert.raised", services.alert_payload(again))


def test_a_lasting_shortage_is_one_alert_that_resolves_when_covered(ed, ed_staff):
    plan_make(ed, NOW, [3] * 30)
    census_make(ed, NOW, 14)  # 14 patients need 4 nurses at 1:4; 3 are on duty
    forecast_make(ed, NOW, [14.0] * 30)
    first = services.understaffing_check(department=ed, now=NOW)
    # The next hour the unit is still short: the same alert, refreshed.
    census_make(ed, LATER, 14)
    later = services.understaffing_check(department=ed, now=LATER)
    assert later.id == first.id and Alert.objects.count() == 1
    # A nurse called in arrives at 07:00 and covers the hours ahead too: the alert resolves by itself.
    duty_change_record(department=ed, kind="call_in", nurses=1, by=ed_staff, starts_at=LATER, hours=12)
    assert services.understaffing_check(department=ed, now=LATER) is None
    first.refresh_from_db()
    assert first.resolved_at is not None and not first.is_open
    assert not Alert.objects.open().exists()


def test_the_same_key_in_another_department_is_another_alert(ed, icu, raise_alert):
    raise_alert(ed, "job:1")
    raise_alert(icu, "job:1")
    assert sorted(Alert.objects.values_list("department__code", flat=True)) == ["ED", "ICU"]


def test_an_acknowledged_alert_stays_acknowledged_when_raised_again(ed, ed_staff, raise_alert):
    alert = raise_alert(ed, "job:1")
    services.alert_acknowledge(alert=alert, user=ed_staff)
    raise_alert(ed, "job:1", detail={"reason": "still failing"})
    alert.refresh_from_db()
    assert not alert.is_open
    assert alert.acknowledged_by == ed_staff
    assert alert.detail == {"reason": "still failing"}
    assert Alert.objects.count() == 1


def test_a_new_alert_is_broadcast_to_the_department_group_after_commit(
    ed, raise_alert, django_capture_on_commit_callbacks
):
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(department_group("ED"), channel)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            alert = raise_alert(ed, "job:7", title="Staffing plan failed")
        message = async_to_sync(receive)(layer, channel)
    finally:
        async_to_sync(layer.group_discard)(department_group("ED"), channel)
    assert message == {
        "type": "department.event",
        "event": "alert.raised",
        "department": "ED",
        "payload": {
            "id": alert.id,
            "kind": "job_failed",
            "severity": "warning",
            "title": "Staffing plan failed",
            "raised_at": alert.raised_at.isoformat(),
        },
        "seq": 1,
        "request_id": None,  # raised outside a request
    }


def test_a_refreshed_alert_is_not_broadcast_again(ed, raise_alert, pushed):
    with pushed() as broadcast:
        alert = raise_alert(ed, "job:1")
        raise_alert(ed, "job:1", detail={"reason": "second"})
    broadcast.assert_called_once_with("ED", "alert.raised", services.alert_payload(alert))


def test_acknowledging_sets_the_user_and_time_once(ed, ed_staff, integrator, raise_alert, pushed):
    alert = raise_alert(ed)
    with pushed() as broadcast:
        with mock.patch.object(timezone, "now", return_value=NOW):
            first = services.alert_acknowledge(alert=alert, user=ed_staff)
        with mock.patch.object(timezone, "now", return_value=LATER):
            second = services.alert_acknowledge(alert=alert, user=integrator)
    assert (first.acknowledged_by, first.acknowledged_at) == (ed_staff, NOW)
    assert (second.acknowledged_by, second.acknowledged_at) == (ed_staff, NOW)
    alert.refresh_from_db()
    assert (alert.acknowledged_by, alert.acknowledged_at, alert.is_open) == (ed_staff, NOW, False)
    broadcast.assert_called_once_with("ED", "alert.acknowledged", {"id": alert.id})


# --- Failed jobs ---------------------------------------------------------------------------------------


def test_a_failed_optimization_run_raises_a_job_failed_alert(ed, django_capture_on_commit_callbacks):
    run = OptimizationRun.objects.create(department=ed, planned_from=NOW, status=RunStatus.RUNNING)
    with django_capture_on_commit_callbacks(execute=True):
        optimization_services.optimization_fail(run=run, reason="the rules are infeasible")
    alert = Alert.objects.get()
    assert (alert.department, alert.kind, alert.key) == (ed, AlertKind.JOB_FAILED, f"job:{run.id}")
    assert (alert.title, alert.severity) == ("Staffing plan failed", AlertSeverity.WARNING)
    assert alert.detail == {"job_id": str(run.id), "job_kind": "Staffing plan", "reason": "the rules are infeasible"}


def test_a_failed_forecast_raises_a_job_failed_alert(ed, django_capture_on_commit_callbacks):
    forecast = Forecast.objects.create(department=ed, issued_at=NOW, horizon_hours=24, confidence_level=0.9)
    with django_capture_on_commit_callbacks(execute=True):
        prediction_services.forecast_fail(forecast=forecast, reason="no model")
    alert = Alert.objects.get()
    assert (alert.kind, alert.key, alert.title) == (AlertKind.JOB_FAILED, f"job:{forecast.id}", "Forecast failed")
    assert alert.detail == {"job_id": str(forecast.id), "job_kind": "Forecast", "reason": "no model"}


def test_a_plan_requested_without_data_fails_and_raises_an_alert(ed, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run = optimization_services.optimization_request(department=ed, params={"horizon_hours": 24})
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    alert = Alert.objects.get(department=ed)
    assert alert.key == f"job:{run.id}" and alert.detail["reason"] == run.failure_reason
    assert "no workload data" in alert.detail["reason"]


def test_alerts_after_job_swallows_a_failing_check_and_logs_it(ed, caplog):
    calls = []

    def broken_check(**kwargs):
        calls.append(kwargs)
        raise RuntimeError("boom")

    with caplog.at_level(logging.ERROR, logger="monitoring_app.services"):
        services.alerts_after_job(broken_check, department=ed, job_id=3)
    assert calls == [{"department": ed, "job_id": 3}]
    [record] = [record for record in caplog.records if record.name == "monitoring_app.services"]
    assert record.getMessage() == "alert check broken_check failed"
    assert record.levelno == logging.ERROR and record.exc_info[0] is RuntimeError


# --- Understaffing ---------------------------------------------------------------------------------------


def census_make(department, moment, census: int) -> WorkloadHour:
    return WorkloadHour.objects.create(department=department, hour=moment, arrivals=1, discharges=0, census=census)


def no_oncall(department) -> None:
    """Nobody on call: no recourse can cover an hour ahead, so what is planned is what there will be."""
    StaffingRuleSet.objects.create(department=department, oncall_cap_per_day=0)


def test_a_unit_short_now_raises_a_critical_alert_at_once(ed):
    # The plain case: 41 patients at 1:4 need 11 nurses; 10 are on duty.
    plan_make(ed, NOW, [10] * 24)
    census_make(ed, NOW, 41)
    alert = services.understaffing_check(department=ed, now=NOW)
    assert (alert.kind, alert.severity) == (AlertKind.UNDERSTAFFING, AlertSeverity.CRITICAL)
    assert alert.title == "Short 1 nurse now: 41 patients need 11, 10 on duty"
    assert (alert.detail["required_now"], alert.detail["on_duty"], alert.detail["short_now"]) == (11, 10, 1)
    assert alert.detail["status"] == "short" and alert.detail["call_in"] == 1


def test_a_unit_short_now_is_judged_without_any_forecast(ed):
    plan_make(ed, NOW, [2] * 24)
    census_make(ed, NOW, 60)
    alert = services.understaffing_check(department=ed, now=NOW)
    assert alert.severity == AlertSeverity.CRITICAL
    assert alert.detail["short_now"] == 13 and alert.detail["escalate"] is True
    assert alert.detail["lookahead"] is False


def test_an_hour_ahead_left_short_is_a_warning_named_in_local_time(db):
    chicago = department_make(code="PEDS", unit_type="ed", timezone="America/Chicago")
    no_oncall(chicago)
    plan_make(chicago, NOW, [3] * 24)
    census_make(chicago, NOW, 10)
    forecast_make(chicago, NOW, [10.0] * 5 + [15.0] + [10.0] * 18, spread=1.0)
    alert = services.understaffing_check(department=chicago, now=NOW)
    assert alert.severity == AlertSeverity.WARNING
    # 11:00 UTC is 05:00 in Chicago in January; 15 patients against 3 nurses x 4 is all but certain.
    assert alert.title.startswith("At risk of being short at Wed 05:00 (100% chance)")
    assert [hour["hour"] for hour in alert.detail["hours_at_risk"]] == ["2024-01-10T11:00:00Z"]


def test_an_hour_ahead_the_policy_can_still_cover_is_not_at_risk(ed):
    # The same surge with on-call nurses left: the policy calls in now, and the alert stays quiet.
    plan_make(ed, NOW, [3] * 24)
    census_make(ed, NOW, 10)
    forecast_make(ed, NOW, [10.0] * 5 + [15.0] + [10.0] * 18, spread=1.0)
    assert services.understaffing_check(department=ed, now=NOW) is None
    state = staffing_state(ed, now=NOW)
    assert state.decision.call_in >= 1 and state.status == "safe"


def test_a_covered_unit_with_a_steady_census_has_no_hour_at_risk(icu):
    # The ICU: 13 nurses on duty for 22 patients at 1:2 (11 required), census steady.
    plan_make(icu, NOW, [13] * 72)
    census_make(icu, NOW, 22)
    forecast_make(icu, NOW, [22.0] * 72, spread=2.0)
    assert services.understaffing_check(department=icu, now=NOW) is None
    state = staffing_state(icu, now=NOW)
    assert state.hours_at_risk == [] and state.decision.short_now == 0


def test_the_risk_threshold_is_set_per_department(ed):
    StaffingRuleSet.objects.create(department=ed, oncall_cap_per_day=0, risk_threshold=0.6)
    plan_make(ed, NOW, [3] * 24)
    census_make(ed, NOW, 10)
    # 12.0 at the hour three nurses cover 12 patients: short with a chance of about 40 %.
    forecast_make(ed, NOW, [10.0] * 5 + [12.0] + [10.0] * 18, spread=1.645)
    assert services.understaffing_check(department=ed, now=NOW) is None
    StaffingRuleSet.objects.filter(department=ed).update(risk_threshold=0.3)
    assert services.understaffing_check(department=ed, now=NOW).severity == AlertSeverity.WARNING


def test_hours_past_the_next_12_raise_no_alert(ed):
    no_oncall(ed)
    plan_make(ed, NOW, [3] * 30)
    census_make(ed, NOW, 10)
    mean = [10.0] * 30
    mean[13] = 40.0
    forecast_make(ed, NOW, mean, spread=1.0)
    assert services.understaffing_check(department=ed, now=NOW) is None
    assert staffing_state(ed, now=NOW).hours_at_risk[0].offset == 13  # still drawn on the dashboard


def test_hours_without_a_roster_in_force_are_not_judged(ed):
    no_oncall(ed)
    plan_make(ed, NOW, [3] * 4)
    census_make(ed, NOW, 10)
    mean = [10.0] * 24
    mean[6] = 40.0
    forecast_make(ed, NOW, mean, spread=1.0)
    assert services.understaffing_check(department=ed, now=NOW) is None


def test_a_plan_never_put_in_force_counts_nowhere(ed):
    plan_make(ed, NOW, [3] * 24)
    plan_make(ed, NOW, [1] * 24, finished_at=LATER, in_force=False)
    census_make(ed, NOW, 10)
    assert services.understaffing_check(department=ed, now=NOW) is None


def test_understaffing_check_without_a_roster_or_census_raises_nothing(ed):
    assert services.understaffing_check(department=ed, now=NOW) is None
    census_make(ed, NOW, 50)
    assert services.understaffing_check(department=ed, now=NOW) is None
    assert not Alert.objects.exists()


def test_understaffing_check_run_twice_keeps_one_alert(ed):
    plan_make(ed, NOW, [3] * 24)
    census_make(ed, NOW, 13)
    first = services.understaffing_check(department=ed, now=NOW)
    second = services.understaffing_check(department=ed, now=NOW)
    assert first.id == second.id and Alert.objects.count() == 1


def test_understaffing_check_pushes_the_staffing_state_to_the_dashboards(ed, pushed):
    plan_make(ed, NOW, [10] * 24)
    census_make(ed, NOW, 41)
    with pushed() as broadcast:
        services.understaffing_check(department=ed, now=NOW)
    staffing = [call.args[2]["staffing"] for call in broadcast.call_args_list if call.args[1] == "staffing.changed"]
    assert len(staffing) == 1
    assert {key: staffing[0][key] for key in ("required_now", "on_duty", "short_now", "status")} == {
        "required_now": 11,
        "on_duty": 10,
        "short_now": 1,
        "status": "short",
    }


# --- Forecast drift ---------------------------------------------------------------------------------------


def test_forecast_drift_check_raises_when_near_coverage_is_below_the_floor(ed):
    bands = [
        {"horizon_band": "1-6h", "hours_scored": 30, "arrivals_coverage": 0.6},
        {"horizon_band": "7-24h", "hours_scored": 20, "arrivals_coverage": 0.8},
        {"horizon_band": "25-72h", "hours_scored": 100, "arrivals_coverage": 0.1},
    ]
    with mock.patch("monitoring_app.services.forecast_live_accuracy", autospec=True, return_value=bands) as accuracy:
        alert = services.forecast_drift_check(department=ed, now=NOW)
    accuracy.assert_called_once_with(ed, since=NOW - timedelta(days=7), confidence_level=0.9)
    assert (alert.kind, alert.key, alert.severity) == (AlertKind.FORECAST_DRIFT, "drift:2024-01-10", "warning")
    # (0.6 * 30 + 0.8 * 20) / 50
    assert alert.title == "Forecasts drifting: intervals held 68% of arrivals this week (expected 90%)"
    assert alert.detail == {"coverage": 0.68, "hours_scored": 50, "bands": bands[:2]}


@pytest.mark.parametrize(
    ("coverage", "hours"),
    [
        (0.8, (30, 20)),  # intervals hold well enough
        (0.75, (30, 20)),  # exactly the floor
        (0.5, (30, 17)),  # too few scored hours to judge (the far band does not count)
    ],
)
def test_forecast_drift_check_raises_nothing_otherwise(ed, coverage, hours):
    with mock.patch(
        "monitoring_app.services.forecast_live_accuracy", autospec=True, return_value=drift_bands(coverage, hours)
    ):
        assert services.forecast_drift_check(department=ed, now=NOW) is None
    assert not Alert.objects.exists()


def test_forecast_drift_is_one_alert_while_it_lasts_and_resolves_when_coverage_recovers(ed):
    accuracy = "monitoring_app.services.forecast_live_accuracy"
    with mock.patch(accuracy, autospec=True, return_value=drift_bands(0.5)):
        morning = services.forecast_drift_check(department=ed, now=NOW)
        tomorrow = services.forecast_drift_check(department=ed, now=hour(11, 1))
    assert morning.id == tomorrow.id and morning.key == "drift:2024-01-10"
    with mock.patch(accuracy, autospec=True, return_value=drift_bands(0.9)):
        assert services.forecast_drift_check(department=ed, now=hour(12, 1)) is None
    morning.refresh_from_db()
    assert morning.resolved_at is not None
    with mock.patch(accuracy, autospec=True, return_value=drift_bands(0.5)):
        again = services.forecast_drift_check(department=ed, now=hour(13, 1))
    assert again.id != morning.id and again.key == "drift:2024-01-13"


@pytest.mark.parametrize(("upper", "drifting"), [(1.0, True), (10.0, False)])
def test_forecast_drift_check_scores_the_real_forecasts_of_the_week(ed, upper, drifting):
    now = current_hour()
    WorkloadHour.objects.bulk_create(
        WorkloadHour(department=ed, hour=now - timedelta(hours=back), arrivals=5, discharges=5, census=5)
        for back in range(1, 73)
    )
    for back in (60, 30):  # 2 x 24 hours, all over by now
        forecast_make(ed, now - timedelta(hours=back), [8.0] * 24, arrivals_lower=0.0, arrivals_upper=upper)
    alert = services.forecast_drift_check(department=ed, now=now)
    if drifting:
        assert alert.detail["coverage"] == 0.0 and alert.detail["hours_scored"] == 48
        assert [band["horizon_band"] for band in alert.detail["bands"]] == ["1-6h", "7-24h"]
    else:
        assert alert is None and not Alert.objects.exists()


# --- Every check, every department --------------------------------------------------------------------------


def test_alerts_check_runs_every_check_for_every_department_and_counts_open_alerts(ed, icu, ed_staff):
    plan_make(ed, NOW, [3] * 24)
    census_make(ed, NOW, 13)
    with mock.patch("monitoring_app.services.forecast_live_accuracy", autospec=True, return_value=drift_bands(0.5)):
        assert services.alerts_check(now=NOW) == 3
        drift = Alert.objects.get(department=ed, kind=AlertKind.FORECAST_DRIFT)
        services.alert_acknowledge(alert=drift, user=ed_staff)
        assert services.alerts_check(now=NOW) == 2
    assert sorted(Alert.objects.values_list("department__code", "kind")) == [
        ("ED", "forecast_drift"),
        ("ED", "understaffing"),
        ("ICU", "forecast_drift"),
    ]


def test_new_census_rechecks_the_departments_staffing_in_the_same_request_on_the_embedded_default(ed):
    from healthcare.encounters.signals import workload_changed

    with mock.patch("monitoring_app.tasks.understaffing_check", autospec=True) as check:
        workload_changed.send(sender=None, department_id=ed.id, department_code="ED", change={})
        workload_changed.send(sender=None, department_id=ed.id, department_code="ED", change={})

    assert check.call_args_list == [mock.call(department=ed)] * 2


def test_with_workers_a_burst_of_census_changes_costs_one_check_seconds_later(ed):
    from healthcare.celery import app
    from healthcare.encounters.signals import workload_changed
    from monitoring_app import receivers

    eager, app.conf.task_always_eager = app.conf.task_always_eager, False
    try:
        with mock.patch.object(receivers, "job_enqueue", autospec=True) as enqueue:
            workload_changed.send(sender=None, department_id=ed.id, department_code="ED", change={})
            workload_changed.send(sender=None, department_id=ed.id, department_code="ED", change={})
    finally:
        app.conf.task_always_eager = eager

    [call] = enqueue.call_args_list
    assert call.args[1] == ed.id and call.kwargs == {"countdown": receivers.UNDERSTAFFING_RECHECK_SECONDS}
    assert receivers.UNDERSTAFFING_RECHECK_SECONDS <= 5


def test_a_recorded_duty_change_rechecks_the_staffing_at_once(ed, ed_staff, django_capture_on_commit_callbacks):
    plan_make(ed, NOW, [3] * 24)
    with (
        mock.patch("monitoring_app.tasks.understaffing_check", autospec=True) as check,
        django_capture_on_commit_callbacks(execute=True),
    ):
        duty_change_record(department=ed, kind="absence", nurses=1, by=ed_staff, now=NOW)
    check.assert_called_once_with(department=ed)


def test_a_unit_that_cannot_be_judged_keeps_its_open_alert(ed):
    plan_make(ed, NOW, [3] * 30)
    census_make(ed, NOW, 14)  # short now
    forecast_make(ed, NOW, [14.0] * 30)
    alert = services.understaffing_check(department=ed, now=NOW)
    # The next hour nothing says how many patients are here: not knowing is not being covered.
    assert staffing_state(ed, now=LATER).decision is None
    assert services.understaffing_check(department=ed, now=LATER) == alert
    alert.refresh_from_db()
    assert alert.is_open and alert.resolved_at is None
