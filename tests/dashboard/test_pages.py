"""The staff pages: plans, one plan, predictions, compliance, alerts and the admins' settings.

Each page is scoped like the API: sign-in first, then only the user's departments (a 404 otherwise).
"""

import json
import re
import uuid
from dataclasses import asdict, replace
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission

from healthcare.encounters.models import Department, WorkloadHour
from healthcare.encounters.services import department_update
from monitoring_app.models import Alert, AlertKind
from monitoring_app.services import alert_acknowledge, alert_raise
from optimization.models import DutyChange, OptimizationRun, RunStatus, StaffingRuleSet
from optimization.policies import staffing_rules_for
from optimization.roster_in_force import nurses_on_duty
from predictions.models import Forecast, ForecastStatus
from tests.factories import PASSWORD, current_hour, hour, iso, plan_make


def census_rows(department, first, censuses) -> None:
    """WorkloadHour rows from `first` on, one per census."""
    WorkloadHour.objects.bulk_create(
        WorkloadHour(department=department, hour=first + timedelta(hours=index), arrivals=1, discharges=0, census=c)
        for index, c in enumerate(censuses)
    )


def raise_alert(department, key, title):
    alert, _ = alert_raise(
        department=department, kind=AlertKind.JOB_FAILED, key=key, title=title, detail={"reason": "x"}
    )
    return alert


def past_data(page: str) -> list[dict]:
    found = re.search(r'<script id="past-data" type="application/json">(.*?)</script>', page, re.S)
    assert found, "the page carries no past-data JSON"
    return json.loads(found.group(1))


@pytest.fixture
def viewer(ed):
    """A member of ED whose role may only view departments: no plan requests, no acknowledgements."""
    group = Group.objects.create(name="viewer")
    group.permissions.add(Permission.objects.get(content_type__app_label="encounters", codename="view_department"))
    user = get_user_model().objects.create_user("viewer", password=PASSWORD)
    user.groups.add(group)
    ed.members.add(user)
    return user


# --- Sign-in and scoping --------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    [
        "/departments/ED/plans/",
        "/departments/ED/predictions/",
        f"/plans/{uuid.uuid4()}/",
        "/compliance/",
        "/alerts/",
        "/settings/",
        "/settings/ED/",
    ],
)
def test_every_page_sends_anonymous_visitors_to_sign_in_and_back(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.url == f"/accounts/login/?next={path}"


def test_signing_in_with_the_password_opens_the_page_asked_for(client, ed_staff):
    response = client.post(
        "/accounts/login/?next=/alerts/", {"username": "ed_staff", "password": PASSWORD, "next": "/alerts/"}
    )
    assert response.status_code == 302 and response.url == "/alerts/"
    assert "<h1>Alerts</h1>" in client.get("/alerts/").content.decode()


@pytest.mark.parametrize("path", ["/departments/ICU/plans/", "/departments/ICU/predictions/"])
def test_staff_get_a_404_for_another_departments_pages(client, ed_staff, icu, path):
    client.force_login(ed_staff)
    assert client.get(path).status_code == 404
    assert client.get(path.replace("ICU", "ED")).status_code == 200


def test_staff_get_a_404_for_another_departments_plan(client, ed_staff, icu):
    run = plan_make(icu, current_hour(), [2, 2])
    client.force_login(ed_staff)
    assert client.get(f"/plans/{run.id}/").status_code == 404


def test_staff_cannot_acknowledge_another_departments_alert(client, ed_staff, icu):
    alert = raise_alert(icu, "job:1", "ICU census feed stalled")
    client.force_login(ed_staff)
    assert client.post(f"/alerts/{alert.id}/acknowledge/").status_code == 404
    alert.refresh_from_db()
    assert alert.acknowledged_at is None and alert.acknowledged_by is None


def test_the_compliance_page_lists_only_the_users_departments(client, ed_staff, icu):
    first = current_hour() - timedelta(hours=6)
    plan_make(icu, first, [1] * 3)
    census_rows(icu, first, [5, 5, 5])
    client.force_login(ed_staff)
    page = client.get("/compliance/").content.decode()
    assert 'id="compliance-ED"' in page
    assert 'id="compliance-ICU"' not in page and "ICU unit" not in page


def test_the_alerts_page_lists_only_the_users_departments(client, ed_staff, icu, ed):
    raise_alert(ed, "job:1", "ED forecast failed")
    raise_alert(icu, "job:2", "ICU census feed stalled")
    client.force_login(ed_staff)
    page = client.get("/alerts/").content.decode()
    assert "ED forecast failed" in page
    assert "ICU census feed stalled" not in page


# --- Plans ------------------------------------------------------------------------------------


def test_staff_see_the_plan_request_form(client, ed_staff):
    client.force_login(ed_staff)
    page = client.get("/departments/ED/plans/").content.decode()
    assert "Request plan</button>" in page
    assert 'name="horizon_hours"' in page and 'value="72"' in page
    assert '<option value="medium" selected>Medium</option>' in page
    assert "No plan has been requested for ED yet." in page


def test_requesting_a_plan_queues_it_computes_it_and_opens_it(
    client, ed_staff, ed_history, django_capture_on_commit_callbacks
):
    client.force_login(ed_staff)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/departments/ED/plans/", {"horizon_hours": "24", "risk_level": "medium"})
    run = OptimizationRun.objects.get()
    assert (run.department, run.requested_by) == (ed_history, ed_staff)
    assert run.params == {"horizon_hours": 24, "risk_level": "medium"}
    assert response.status_code == 302 and response.url == f"/plans/{run.id}/"

    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.failure_reason
    page = client.get(response.url).content.decode()
    assert "Ready: computed in" in page and "js/plan.js" not in page
    assert "24 hours planned with forecast model v1" in page
    for shift in run.result["roster"]:
        assert f'<td class="num">{shift["nurses"]}</td>' in page
    assert "This plan (expected)" in page and "Roster for the mean forecast" in page

    history = client.get("/departments/ED/plans/").content.decode()
    assert f'href="/plans/{run.id}/"' in history and "<td>ed_staff</td>" in history


def test_an_invalid_plan_request_shows_the_error_and_queues_nothing(client, ed_staff):
    client.force_login(ed_staff)
    response = client.post("/departments/ED/plans/", {"horizon_hours": "0", "risk_level": "medium"})
    assert response.status_code == 200
    assert "Ensure this value is greater than or equal to 1." in response.content.decode()
    assert not OptimizationRun.objects.exists()


def test_a_role_without_plan_requests_sees_no_form_and_may_not_post(client, viewer):
    client.force_login(viewer)
    page = client.get("/departments/ED/plans/").content.decode()
    assert "<h1>ED staffing plans" in page
    assert "Request plan" not in page and 'name="horizon_hours"' not in page
    assert client.post("/departments/ED/plans/", {"horizon_hours": "24", "risk_level": "medium"}).status_code == 403
    assert not OptimizationRun.objects.exists()


# --- One plan ---------------------------------------------------------------------------------

FIGURES = {"roster_cost": 320.04, "expected_penalty": 57.61, "expected_cost": 377.65, "compliance": 0.9862}
MEAN_FIGURES = {"roster_cost": 264.0, "expected_penalty": 306.94, "expected_cost": 570.94, "compliance": 0.9561}


def succeeded_plan(department, **extra) -> OptimizationRun:
    """A succeeded plan from 2024-01-08 13:00 UTC: two 8-hour shifts of 7 and 9 nurses."""
    first = hour(8, 13)
    run = plan_make(
        department,
        first,
        [7] * 8 + [9] * 8,
        roster=[
            {"shift_start": "2024-01-08T13:00:00Z", "shift_end": "2024-01-08T21:00:00Z", "nurses": 7},
            {"shift_start": "2024-01-08T21:00:00Z", "shift_end": "2024-01-09T05:00:00Z", "nurses": 9},
        ],
        expected=FIGURES,
        baselines={"static_roster": MEAN_FIGURES, "quantile_roster": FIGURES},
        forecast_model={"version": 3, "algorithm": "poisson_glm"},
        rules=asdict(replace(staffing_rules_for(department), understaffed_penalty=10.0)),
        **extra,
    )
    run.timings = {"compute_ms": 35.2, "total_ms": 202.4}
    run.save(update_fields=["timings"])
    return run


def test_a_succeeded_plan_shows_its_roster_in_local_time_and_its_costs(client, ed, ed_staff):
    department_update(department=ed, timezone="America/Chicago")
    run = succeeded_plan(ed)
    client.force_login(ed_staff)
    page = client.get(f"/plans/{run.id}/").content.decode()
    assert "Ready: computed in 35 ms (202 ms from request)." in page
    # 13:00 UTC is 07:00 in Chicago in January.
    assert '<tr><td>Mon 08 Jan 07:00</td><td>Mon 08 Jan 15:00</td><td class="num">7</td></tr>' in page
    assert '<tr><td>Mon 08 Jan 15:00</td><td>Mon 08 Jan 23:00</td><td class="num">9</td></tr>' in page
    assert "16 hours planned with forecast model v3" in page
    costs = page[page.index('id="cost-title"') :]
    assert re.search(r"This plan \(expected\)</th>\s*<td class=\"num\">320.0</td>\s*<td class=\"num\">57.6</td>", costs)
    assert re.search(r"Roster for the mean forecast</th>\s*<td class=\"num\">264.0</td>", costs)
    assert "98.6 %" in costs and "95.6 %" in costs
    assert "appears here once every planned hour has passed" in page
    assert 'id="review"' not in page


def test_a_reviewed_plan_shows_its_cost_against_the_best_plan_in_hindsight(client, ed, ed_staff):
    review = {
        "census_observed_until": "2024-01-09T05:00:00Z",
        "patient_hours": 412.0,
        "uncovered_patient_hours": 6.5,
        "compliance": 0.9842,
        "plan": {"roster_cost": 320.04, "penalty": 65.0, "cost": 385.04},
        "oracle": {"cost": 301.26, "lower_bound": 300.0, "uncovered_patient_hours": 1.25},
        "plan_over_oracle": 1.278,
    }
    run = succeeded_plan(ed, review=review)
    client.force_login(ed_staff)
    page = client.get(f"/plans/{run.id}/").content.decode()
    assert "appears here once every planned hour has passed" not in page
    table = page[page.index('id="review"') :]
    assert "recorded hours up to 2024-01-09T05:00 UTC" in table
    assert re.search(
        r"This plan, without hourly changes</th><td class=\"num\">385.0</td><td class=\"num\">6.5</td>", table
    )
    assert re.search(
        r"Best plan in hindsight \(made knowing the patients who came\)</th><td class=\"num\">301.3</td>"
        r"<td class=\"num\">1.3</td>",
        table,
    )
    assert (
        "This plan cost 1.278 times the best plan in hindsight; 98.4 % of 412 patient-hours were cared for"
        " at the ratio." in table
    )


@pytest.mark.parametrize(
    ("status", "text"),
    [(RunStatus.QUEUED, "Queued: waiting for a worker"), (RunStatus.RUNNING, "Running: solving the roster")],
)
def test_an_unfinished_plan_shows_its_status_and_loads_the_script_that_follows_it(client, ed, ed_staff, status, text):
    run = plan_make(ed, current_hour(), status=status)
    client.force_login(ed_staff)
    page = client.get(f"/plans/{run.id}/").content.decode()
    assert text in page and f'data-status="{status}"' in page
    assert f'data-status-url="/api/v1/optimize/status/{run.id}"' in page
    assert '<script type="module" src="/static/js/plan.js"></script>' in page
    assert 'id="roster-title"' not in page


def test_a_failed_plan_shows_why(client, ed, ed_staff):
    run = plan_make(ed, current_hour(), status=RunStatus.FAILED)
    run.failure_reason = "ED has no workload data before 2024-01-08 13:00"
    run.save(update_fields=["failure_reason"])
    client.force_login(ed_staff)
    page = client.get(f"/plans/{run.id}/").content.decode()
    assert "Failed: ED has no workload data before 2024-01-08 13:00" in page
    assert 'id="roster-title"' not in page and "js/plan.js" not in page


# --- Predictions ------------------------------------------------------------------------------


def test_without_a_model_the_predictions_page_says_so_and_shows_the_last_week(client, ed_staff, ed_history):
    client.force_login(ed_staff)
    page = client.get("/departments/ED/predictions/").content.decode()
    assert "No model is active for ED yet." in page
    assert "No forecast of the last 28 days can be scored yet" in page
    rows = past_data(page)
    now = current_hour()
    assert len(rows) == 7 * 24
    assert rows[0]["hour"] == iso(now - timedelta(days=7)) and rows[-1]["hour"] == iso(now - timedelta(hours=1))
    # Every hour has come (ed_history runs up to the current hour); none was forecast.
    assert all(row["census"] is not None for row in rows)
    assert all(row["census_mean"] is None for row in rows)


def test_the_last_week_pairs_a_forecast_with_the_census_that_came(client, ed_staff, ed):
    now = current_hour()
    issued = now - timedelta(hours=3)
    census_rows(ed, issued, [11, 12])
    points = [
        {
            "hour": iso(issued + timedelta(hours=index)),
            "census_mean": 10.5,
            "census_lower": 7.5,
            "census_upper": 13.5,
            "arrivals_mean": 2.0,
            "arrivals_lower": 0.0,
            "arrivals_upper": 5.0,
        }
        for index in range(3)
    ]
    Forecast.objects.create(
        department=ed,
        issued_at=issued,
        horizon_hours=3,
        confidence_level=0.9,
        points=points,
        status=ForecastStatus.SUCCEEDED,
        finished_at=issued,
    )
    client.force_login(ed_staff)
    rows = {row["hour"]: row for row in past_data(client.get("/departments/ED/predictions/").content.decode())}
    assert len(rows) == 168
    first, second, third = (rows[iso(issued + timedelta(hours=index))] for index in range(3))
    assert (first["census"], first["census_mean"], first["census_upper"]) == (11, 10.5, 13.5)
    assert (second["census"], second["census_mean"]) == (12, 10.5)
    # The last hour of the window is after the latest recorded hour: it has not come in yet.
    assert (third["census"], third["census_mean"]) == (None, 10.5)
    assert rows[iso(issued - timedelta(hours=1))]["census_mean"] is None


def test_with_an_active_model_the_predictions_page_shows_its_backtest_and_the_chosen_candidate(
    client, ed_staff, ed_history
):
    from predictions.services import forecast_model_train

    model = forecast_model_train(department=ed_history, activate=True)
    metrics = model.backtest_metrics
    client.force_login(ed_staff)
    page = client.get("/departments/ED/predictions/").content.decode()
    assert "No model is active" not in page
    assert f"Version 1: <strong>{model.get_algorithm_display()}</strong>" in page
    for name in metrics["candidates"]:
        assert f'<th scope="row">{name}' in page
    assert f'<th scope="row">{metrics["chosen"]} <span class="badge">chosen</span></th>' in page
    assert page.count('<span class="badge">chosen</span>') == 1
    for name in metrics.get("skipped", {}):
        assert f"{name} not tried:" in page
    assert len(past_data(page)) == 168


# --- Compliance -------------------------------------------------------------------------------


def test_the_compliance_page_shows_the_share_at_ratio_and_the_worst_period(client, ed, ed_staff):
    # ED is 1:4. Two nurses cover 8 patients: the first three hours are at ratio, the next three
    # leave 4 patients each beyond it. 48 of 60 patient-hours covered: 80 %.
    first = current_hour() - timedelta(hours=10)
    plan_make(ed, first, [2] * 6)
    census_rows(ed, first, [8, 8, 8, 12, 12, 12])
    client.force_login(ed_staff)
    page = client.get("/compliance/").content.decode()
    assert "<strong>80.0 %</strong> of patient-hours at ratio" in page
    assert "over 6 planned hours" in page
    zone = ZoneInfo(ed.timezone)
    start = (first + timedelta(hours=3)).astimezone(zone).strftime("%a %Y-%m-%d %H:%M")
    end = (first + timedelta(hours=6)).astimezone(zone).strftime("%a %H:%M")
    assert f"<tr><td>{start}</td><td>{end}</td>" in page
    assert '<td class="num">3</td><td class="num">12</td><td class="num">12</td><td class="num">2</td></tr>' in page
    assert 'href="?days=28" aria-current="page"' in page


def test_the_compliance_period_can_be_chosen_and_falls_back_to_28_days(client, ed, ed_staff):
    # A plan of ten days ago counts in the last 28 days, not in the last 7.
    first = current_hour() - timedelta(days=10)
    plan_make(ed, first, [1] * 2)
    census_rows(ed, first, [8, 8])
    client.force_login(ed_staff)

    last_week = client.get("/compliance/?days=7").content.decode()
    assert 'href="?days=7" aria-current="page"' in last_week
    assert "No plan covered the last 7 days" in last_week and "%</strong>" not in last_week

    for days in ("28", "abc", "14", "-7", ""):
        page = client.get(f"/compliance/?days={days}").content.decode()
        assert 'href="?days=28" aria-current="page"' in page, days
        assert "<strong>50.0 %</strong>" in page, days

    quarter = client.get("/compliance/?days=90").content.decode()
    assert 'href="?days=90" aria-current="page"' in quarter and "<strong>50.0 %</strong>" in quarter


def test_compliance_without_a_plan_invites_to_plan(client, ed, ed_staff):
    client.force_login(ed_staff)
    page = client.get("/compliance/").content.decode()
    assert "No plan covered the last 28 days" in page
    assert '<a href="/departments/ED/plans/">Plan ED</a>' in page


# --- Alerts -----------------------------------------------------------------------------------


def test_staff_see_an_open_alert_with_an_acknowledge_button(client, ed, ed_staff):
    alert = raise_alert(ed, "job:1", "Forecast failed")
    client.force_login(ed_staff)
    page = client.get("/alerts/").content.decode()
    card = page[page.index(f'id="alert-{alert.id}"') :]
    assert "Forecast failed" in card and "Reason: x" in card
    assert f'action="/alerts/{alert.id}/acknowledge/"' in card
    assert 'aria-label="Acknowledge: ED Forecast failed">Acknowledge</button>' in card


def test_acknowledging_an_alert_records_who_and_moves_it_to_the_closed_table(client, ed, ed_staff):
    alert = raise_alert(ed, "job:1", "Forecast failed")
    client.force_login(ed_staff)
    response = client.post(f"/alerts/{alert.id}/acknowledge/")
    assert response.status_code == 302 and response.url == "/alerts/"
    alert.refresh_from_db()
    assert alert.acknowledged_by == ed_staff and alert.acknowledged_at is not None

    page = client.get("/alerts/").content.decode()
    assert "Acknowledged: Forecast failed" in page
    assert f'id="alert-{alert.id}"' not in page and "No open alert for your departments." in page
    acknowledged = page[page.index('id="closed-title"') :]
    assert "<td>ED</td><td>Forecast failed</td>" in acknowledged and "<td>ed_staff</td>" in acknowledged


def test_an_alert_acknowledged_long_ago_leaves_the_page(client, ed, ed_staff):
    alert = alert_acknowledge(alert=raise_alert(ed, "job:1", "Old news"), user=ed_staff)
    Alert.objects.filter(id=alert.id).update(acknowledged_at=alert.acknowledged_at - timedelta(days=8))
    client.force_login(ed_staff)
    page = client.get("/alerts/").content.decode()
    assert "Old news" not in page and "No open alert" in page


def test_the_acknowledge_address_only_takes_post(client, ed, ed_staff):
    alert = raise_alert(ed, "job:1", "Forecast failed")
    client.force_login(ed_staff)
    assert client.get(f"/alerts/{alert.id}/acknowledge/").status_code == 405
    alert.refresh_from_db()
    assert alert.acknowledged_at is None


def test_a_role_that_may_not_acknowledge_sees_no_button_and_is_refused(client, ed, viewer):
    alert = raise_alert(ed, "job:1", "Forecast failed")
    client.force_login(viewer)
    page = client.get("/alerts/").content.decode()
    assert "Forecast failed" in page and "Acknowledge</button>" not in page
    assert client.post(f"/alerts/{alert.id}/acknowledge/").status_code == 403
    alert.refresh_from_db()
    assert alert.acknowledged_at is None


# --- Settings ---------------------------------------------------------------------------------

RULES = {
    "department-patients_per_nurse": "3",
    "department-min_nurses": "3",
    "rules-shifts": "07-19, 19-07",
    "rules-nurse_hour_cost": "1.5",
    "rules-oncall_premium": "2.0",
    "rules-oncall_lead_hours": "2",
    "rules-oncall_block_hours": "4",
    "rules-oncall_cap_per_day": "5",
    "rules-release_saving": "0.5",
    "rules-release_floor": "0",
    "rules-understaffed_penalty": "12",
}


@pytest.mark.parametrize("path", ["/settings/", "/settings/ED/"])
def test_staff_may_not_open_the_settings(client, ed_staff, path):
    client.force_login(ed_staff)
    assert client.get(path).status_code == 403
    assert client.post(path, RULES).status_code == 403
    assert not StaffingRuleSet.objects.exists()


def test_staff_see_no_settings_link(client, ed_staff, hospital_admin):
    client.force_login(ed_staff)
    assert 'href="/settings/"' not in client.get("/alerts/").content.decode()
    client.force_login(hospital_admin)
    assert 'href="/settings/"' in client.get("/alerts/").content.decode()


def test_admins_see_every_departments_rules(client, ed, icu, hospital_admin):
    client.force_login(hospital_admin)
    page = client.get("/settings/").content.decode()
    assert 'href="/settings/ED/">Edit ED</a>' in page and 'href="/settings/ICU/">Edit ICU</a>' in page
    assert "<td>1:4</td>" in page and "<td>1:2</td>" in page
    assert "<td>07-15, 15-23, 23-07</td>" in page


def test_the_department_form_starts_from_the_current_rules(client, ed, hospital_admin):
    client.force_login(hospital_admin)
    page = client.get("/settings/ED/").content.decode()
    assert 'name="rules-shifts" value="07-15, 15-23, 23-07"' in page
    assert 'name="department-patients_per_nurse" value="4"' in page


def test_admins_change_a_departments_ratio_and_shifts(client, ed, hospital_admin):
    client.force_login(hospital_admin)
    response = client.post("/settings/ED/", RULES)
    assert response.status_code == 302 and response.url == "/settings/"
    ed.refresh_from_db()
    assert (ed.patients_per_nurse, ed.min_nurses) == (3, 3)
    rules = StaffingRuleSet.objects.get(department=ed)
    assert rules.shifts == [[7, 12], [19, 12]]
    assert (rules.nurse_hour_cost, rules.oncall_premium, rules.oncall_cap_per_day) == (1.5, 2.0, 5)
    assert rules.understaffed_penalty == 12.0

    page = client.get("/settings/").content.decode()
    assert "ED rules saved" in page
    assert "<td>1:3</td>" in page and "<td>07-19, 19-07</td>" in page


@pytest.mark.parametrize(
    ("shifts", "error"),
    [
        ("7 to 15", "write each shift as start-end hours, like 07-15"),
        ("07-15", "some hours of the day are covered by no shift"),
        ("", "give at least one shift"),
    ],
)
def test_bad_shifts_show_the_error_and_change_nothing(client, ed, hospital_admin, shifts, error):
    client.force_login(hospital_admin)
    response = client.post("/settings/ED/", RULES | {"rules-shifts": shifts})
    assert response.status_code == 200
    assert error in response.content.decode()
    assert not StaffingRuleSet.objects.exists()
    assert Department.objects.get(code="ED").patients_per_nurse == 4


def test_a_bad_ratio_shows_the_error_and_changes_nothing(client, ed, hospital_admin):
    client.force_login(hospital_admin)
    response = client.post("/settings/ED/", RULES | {"department-patients_per_nurse": "13"})
    assert response.status_code == 200
    assert "Ensure this value is less than or equal to 12." in response.content.decode()
    assert not StaffingRuleSet.objects.exists()
    assert Department.objects.get(code="ED").patients_per_nurse == 4


def test_settings_of_an_unknown_department_are_a_404(client, hospital_admin):
    client.force_login(hospital_admin)
    assert client.get("/settings/NOPE/").status_code == 404


# --- Who is on duty, from the department page and a plan's page -----------------------------------------------


def test_staff_see_the_record_form_and_a_viewer_does_not(client, ed_staff, viewer):
    client.force_login(ed_staff)
    page = client.get("/departments/ED/").content.decode()
    assert 'id="record-form"' in page and 'id="confirm-form"' in page and 'id="verdict"' in page
    client.force_login(viewer)
    page = client.get("/departments/ED/").content.decode()
    assert 'id="record-form"' not in page and 'id="verdict"' in page
    assert client.post("/departments/ED/duty-changes/", {"kind": "call_in", "nurses": "1"}).status_code == 403


def test_recording_a_call_in_from_the_page_names_who_and_changes_who_is_on_duty(client, ed, ed_staff):
    now = current_hour()
    plan_make(ed, now, [3] * 24)
    client.force_login(ed_staff)
    response = client.post(
        "/departments/ED/duty-changes/", {"kind": "call_in", "nurses": "2", "starts": "now", "note": "Kim, Lee"}
    )
    assert response.status_code == 302 and response.url == "/departments/ED/"
    [change] = DutyChange.objects.all()
    assert (change.kind, change.nurses, change.recorded_by, change.note) == ("call_in", 2, ed_staff, "Kim, Lee")
    assert nurses_on_duty(ed, first=now + timedelta(hours=1), last=now + timedelta(hours=1)) == {
        now + timedelta(hours=1): 5
    }
    page = client.get("/departments/ED/").content.decode()
    assert "Recorded: call-in confirmed, 2 nurses," in page and "Kim, Lee" in page


def test_a_bad_record_changes_nothing_and_says_why(client, ed, ed_staff):
    client.force_login(ed_staff)
    response = client.post("/departments/ED/duty-changes/", {"kind": "call_in", "nurses": "0"}, follow=True)
    assert "Nothing was recorded: nurses" in response.content.decode()
    assert not DutyChange.objects.exists()


def test_a_plan_is_put_in_force_from_its_page_by_who_may(client, ed, ed_staff, viewer):
    run = plan_make(ed, current_hour(), [4] * 24, in_force=False)
    client.force_login(viewer)
    assert client.post(f"/plans/{run.id}/put-in-force/").status_code == 403
    client.force_login(ed_staff)
    assert "Put in force from the next shift" in client.get(f"/plans/{run.id}/").content.decode()
    page = client.post(f"/plans/{run.id}/put-in-force/", follow=True).content.decode()
    run.refresh_from_db()
    assert run.put_in_force_by == ed_staff and run.in_force_from == current_hour()
    assert "In force from" in page and "by ed_staff" in page


@pytest.mark.parametrize("debug", [False, True])
def test_another_departments_page_is_the_sites_own_404_even_in_debug(client, settings, ed, icu_staff, debug):
    settings.DEBUG = debug
    client.force_login(icu_staff)
    for path in ("/departments/ED/", "/no/such/page/"):
        response = client.get(path)
        page = response.content.decode()
        assert response.status_code == 404
        assert "This page does not exist, or is not one of yours" in page and 'href="/"' in page
        assert "URLconf" not in page


def test_a_refused_page_is_the_sites_own_403(client, ed_staff):
    response = client.get("/settings/")
    client.force_login(ed_staff)
    response = client.get("/settings/")
    assert response.status_code == 403 and "Your role does not allow this" in response.content.decode()


def test_the_api_keeps_its_own_json_refusals(api_client, ed_staff, icu):
    api_client.force_authenticate(ed_staff)
    response = api_client.get("/api/v1/departments/ICU/snapshot/")
    assert response.status_code == 404 and response["Content-Type"].startswith("application/json")
