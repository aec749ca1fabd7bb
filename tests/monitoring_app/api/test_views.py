"""/api/v1/alerts/: scoped to your departments, filtered, acknowledged; nothing else changes an alert."""

import pytest

from monitoring_app.models import Alert, AlertKind, AlertSeverity


@pytest.fixture
def alerts(ed, icu, raise_alert):
    """An open ED job alert, an ED understaffing alert, and an ICU job alert."""
    return {
        "ed_job": raise_alert(ed, "job:1", title="Forecast failed"),
        "ed_short": raise_alert(
            ed,
            "understaffing:2024-01-10T11:00:00Z",
            title="1 hour(s) expected under-staffed",
            detail={"hours": []},
            kind=AlertKind.UNDERSTAFFING,
            severity=AlertSeverity.CRITICAL,
        ),
        "icu_job": raise_alert(icu, "job:2", title="Staffing plan failed"),
    }


def listed(api_client, user, **query) -> list[int]:
    api_client.force_authenticate(user)
    response = api_client.get("/api/v1/alerts/", query)
    assert response.status_code == 200
    return sorted(alert["id"] for alert in response.json()["results"])


def test_staff_see_only_the_alerts_of_their_departments(api_client, ed_staff, alerts):
    assert listed(api_client, ed_staff) == sorted([alerts["ed_job"].id, alerts["ed_short"].id])
    assert listed(api_client, ed_staff, department="ICU") == []


def test_hospital_admins_see_every_departments_alerts(api_client, hospital_admin, alerts):
    assert listed(api_client, hospital_admin) == sorted(alert.id for alert in alerts.values())
    assert listed(api_client, hospital_admin, department="ICU") == [alerts["icu_job"].id]


def test_an_alert_lists_with_its_department_code_and_open_state(api_client, ed_staff, alerts):
    api_client.force_authenticate(ed_staff)
    body = api_client.get(f"/api/v1/alerts/{alerts['ed_short'].id}/").json()
    assert body["department"] == "ED"
    assert (body["kind"], body["severity"]) == ("understaffing", "critical")
    assert body["title"] == "1 hour(s) expected under-staffed"
    assert (body["is_open"], body["acknowledged_at"], body["acknowledged_by"]) == (True, None, None)


def test_alerts_filter_by_kind_and_open_state(api_client, ed_staff, alerts):
    api_client.force_authenticate(ed_staff)
    api_client.post(f"/api/v1/alerts/{alerts['ed_job'].id}/acknowledge/")
    assert listed(api_client, ed_staff, kind="understaffing") == [alerts["ed_short"].id]
    assert listed(api_client, ed_staff, kind="job_failed") == [alerts["ed_job"].id]
    assert listed(api_client, ed_staff, open="true") == [alerts["ed_short"].id]
    assert listed(api_client, ed_staff, open="false") == [alerts["ed_job"].id]
    assert listed(api_client, ed_staff, department="ED", severity="critical") == [alerts["ed_short"].id]


def test_an_unknown_kind_is_refused(api_client, ed_staff, alerts):
    api_client.force_authenticate(ed_staff)
    response = api_client.get("/api/v1/alerts/", {"kind": "meteor"})
    assert response.status_code == 400 and "kind" in response.json()


def test_acknowledging_returns_who_acknowledged_and_keeps_the_first(api_client, ed_staff, integrator, alerts):
    alert = alerts["ed_job"]
    api_client.force_authenticate(ed_staff)
    response = api_client.post(f"/api/v1/alerts/{alert.id}/acknowledge/")
    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["acknowledged_by"], body["is_open"]) == (alert.id, "ed_staff", False)
    assert body["acknowledged_at"] is not None
    api_client.force_authenticate(integrator)
    again = api_client.post(f"/api/v1/alerts/{alert.id}/acknowledge/").json()
    assert (again["acknowledged_by"], again["acknowledged_at"]) == ("ed_staff", body["acknowledged_at"])
    alert.refresh_from_db()
    assert alert.acknowledged_by.username == "ed_staff"


def test_alerts_of_foreign_departments_do_not_exist(api_client, ed_staff, alerts):
    alert = alerts["icu_job"]
    api_client.force_authenticate(ed_staff)
    assert api_client.get(f"/api/v1/alerts/{alert.id}/").status_code == 404
    assert api_client.post(f"/api/v1/alerts/{alert.id}/acknowledge/").status_code == 404
    alert.refresh_from_db()
    assert alert.is_open and alert.acknowledged_by is None


def test_anonymous_callers_are_refused(api_client, alerts):
    alert = alerts["ed_job"]
    assert api_client.get("/api/v1/alerts/").status_code == 401
    assert api_client.get(f"/api/v1/alerts/{alert.id}/").status_code == 401
    assert api_client.post(f"/api/v1/alerts/{alert.id}/acknowledge/").status_code == 401
    alert.refresh_from_db()
    assert alert.is_open


def test_a_user_without_a_role_sees_no_alerts(api_client, ed, alerts, django_user_model):
    member = django_user_model.objects.create_user(username="no_role", password="a-long-test-password-1")
    ed.members.add(member)
    api_client.force_authenticate(member)
    assert api_client.get("/api/v1/alerts/").status_code == 403
    assert api_client.post(f"/api/v1/alerts/{alerts['ed_job'].id}/acknowledge/").status_code == 403
    assert Alert.objects.get(id=alerts["ed_job"].id).is_open


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_alerts_cannot_be_changed_or_deleted_through_the_api(api_client, hospital_admin, alerts, method):
    alert = alerts["ed_job"]
    api_client.force_authenticate(hospital_admin)
    body = {"title": "changed", "severity": "critical", "acknowledged_by": "admin", "is_open": False}
    response = getattr(api_client, method)(f"/api/v1/alerts/{alert.id}/", body, format="json")
    assert response.status_code in (403, 405)
    stored = Alert.objects.get(id=alert.id)
    assert (stored.title, stored.severity, stored.is_open) == ("Forecast failed", "warning", True)


def test_alerts_cannot_be_created_through_the_api(api_client, hospital_admin, ed):
    api_client.force_authenticate(hospital_admin)
    body = {"department": "ED", "kind": "job_failed", "key": "job:9", "title": "made up"}
    assert api_client.post("/api/v1/alerts/", body, format="json").status_code in (403, 405)
    assert not Alert.objects.exists()
