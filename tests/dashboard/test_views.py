"""The departments overview page: sign-in required, own departments only."""

from unittest import mock

import pytest
from django.utils import timezone

from healthcare.encounters import services
from healthcare.encounters.models import Department
from tests.factories import encounter_record, hour, plan_make


def test_the_overview_asks_anonymous_visitors_to_sign_in(client, db):
    response = client.get("/")
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")


def test_staff_see_their_department_with_its_status_now(client, ed_staff, icu):
    # Nine patients who are all still in the ED at the current hour, 12:00, and two nurses on duty.
    records = [encounter_record(f"e{i}", start=hour(1, 9), hours=20) for i in range(9)]
    records.append(encounter_record("icu", start=hour(1, 9), hours=20, department="ICU"))
    services.encounters_ingest(records=records, source="s", now=hour(1, 12))
    plan_make(Department.objects.get(code="ED"), hour(1, 7), [2] * 24)
    client.force_login(ed_staff)
    with mock.patch.object(timezone, "now", return_value=hour(1, 12, 20)):
        page = client.get("/").content.decode()
    assert "ED unit" in page and "ICU unit" not in page
    # 9 patients at 1:4 need 3 nurses: one short.
    assert '<span class="status-pill" data-status="short">Short</span>' in page
    assert "Short 1 nurse now" in page
    assert '<td class="num">9</td>' in page and '<td class="num">2</td>' in page and '<td class="num">3</td>' in page
    assert "Mon 12:20" in page  # the department's local time (UTC here)


@pytest.mark.django_db
def test_a_member_without_a_role_sees_no_department(client, ed, django_user_model):
    member = django_user_model.objects.create_user("member", password="a-long-test-password-1")
    ed.members.add(member)
    client.force_login(member)
    assert "not assigned to any department" in client.get("/").content.decode()


def test_the_snapshot_endpoint_serves_what_the_dashboard_draws(api_client, ed_staff, ed_history, icu):
    api_client.force_authenticate(ed_staff)
    snapshot = api_client.get("/api/v1/departments/ED/snapshot").json()
    assert snapshot["department"]["code"] == "ED" and len(snapshot["actual"]) == 48
    assert snapshot["tiles"]["census_now"] == snapshot["actual"][-1]["census"]
    assert snapshot["forecast"] is None and snapshot["plan"] is None
    assert api_client.get("/api/v1/departments/ICU/snapshot").status_code == 404


def test_the_department_page_loads_chart_js_from_static_and_no_cdn(client, ed_staff, icu):
    client.force_login(ed_staff)
    page = client.get("/departments/ED/").content.decode()
    assert 'data-department="ED"' in page and "/static/vendor/chartjs/chart.umd.js" in page
    assert "https://" not in page and "<script>" not in page  # no inline script, nothing from a CDN
    assert client.get("/departments/ICU/").status_code == 404
    from django.contrib.staticfiles import finders

    assert finders.find("vendor/chartjs/chart.umd.js"), "run npm ci: Chart.js comes from node_modules"
    assert finders.find("js/dashboard.js")


def test_without_a_recent_forecast_job_the_snapshot_shows_the_models_outlook(api_client, ed_staff, ed_history):
    from predictions.services import forecast_model_train

    forecast_model_train(department=ed_history)
    api_client.force_authenticate(ed_staff)
    snapshot = api_client.get("/api/v1/departments/ED/snapshot").json()
    assert snapshot["forecast"]["source"] == "model v1"
    points = snapshot["forecast"]["points"]
    # The next 71 hours (the current one is in `actual`), as the staffing state judges them.
    assert len(points) == 71 and all(p["census_lower"] <= p["census_mean"] <= p["census_upper"] for p in points)
    assert points[0]["hour"] > snapshot["actual"][-1]["hour"]


def test_a_unit_covered_now_but_likely_short_soon_is_at_risk_on_the_overview(client, ed_staff, ed):
    from healthcare.encounters.models import WorkloadHour
    from optimization.models import StaffingRuleSet
    from tests.monitoring_app.conftest import forecast_make

    now = hour(1, 12)
    StaffingRuleSet.objects.create(department=ed, oncall_cap_per_day=0)
    WorkloadHour.objects.create(department=ed, hour=now, arrivals=2, discharges=0, census=10)
    plan_make(ed, now, [3] * 24)
    forecast_make(ed, now, [10.0] * 5 + [15.0] + [10.0] * 66, spread=1.0)
    client.force_login(ed_staff)
    with mock.patch.object(timezone, "now", return_value=now):
        page = client.get("/").content.decode()
    assert '<span class="status-pill" data-status="risk">At risk</span>' in page
    assert "Short 1 nurse at 17:00" in page or "Short 2 nurses at 17:00" in page
