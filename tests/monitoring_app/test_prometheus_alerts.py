"""Alertmanager's webhook: Prometheus' alerts on the dashboards' alert panels."""

import pytest
from rest_framework.test import APIClient

from monitoring_app.models import Alert, AlertKind, AlertSeverity
from tests.factories import user_make

TOKEN = "alertmanager-secret-of-32-characters"
URL = "/api/v1/alerts/prometheus"


@pytest.fixture
def alertmanager(settings):
    settings.ALERTMANAGER_TOKEN = TOKEN
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    return api


def webhook(*alerts) -> dict:
    return {"version": "4", "status": "firing", "receiver": "product", "groupLabels": {}, "alerts": list(alerts)}


def entry(alertname: str, *, status="firing", fingerprint="a1b2c3", **labels) -> dict:
    return {
        "status": status,
        "labels": {"alertname": alertname, **labels},
        "annotations": {
            "summary": f"{alertname} summary",
            "description": "what it means",
            "runbook_url": "https://workload.hospital.example/docs/runbooks.md#x",
        },
        "startsAt": "2026-11-26T10:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "fingerprint": fingerprint,
    }


def test_a_department_alert_goes_to_that_department_and_resolves(alertmanager, ed, icu):
    firing = entry("ComplianceBelowTarget", department="ICU", severity="critical")
    assert alertmanager.post(URL, webhook(firing), format="json").json() == {
        "raised": 1,
        "refreshed": 0,
        "resolved": 0,
        "ignored": 0,
    }
    [alert] = Alert.objects.all()
    assert (alert.department, alert.kind, alert.severity) == (icu, AlertKind.OPERATIONS, AlertSeverity.CRITICAL)
    assert alert.title == "ComplianceBelowTarget summary" and alert.detail["runbook_url"].startswith("https://")
    # Alertmanager repeats a firing alert: the same alert, refreshed.
    assert alertmanager.post(URL, webhook(firing), format="json").json()["refreshed"] == 1
    resolved = entry("ComplianceBelowTarget", status="resolved", department="ICU")
    assert alertmanager.post(URL, webhook(resolved), format="json").json()["resolved"] == 1
    alert.refresh_from_db()
    assert alert.resolved_at is not None and Alert.objects.count() == 1


def test_a_hospital_wide_alert_shows_on_every_department_panel(alertmanager, ed, icu, ed_staff, client):
    body = alertmanager.post(URL, webhook(entry("NoCeleryWorker", severity="warning")), format="json").json()
    assert body["raised"] == 2
    assert set(Alert.objects.values_list("department__code", flat=True)) == {"ED", "ICU"}
    client.force_login(ed_staff)
    page = client.get("/alerts/").content.decode()
    assert "NoCeleryWorker summary" in page
    assert '<a href="https://workload.hospital.example/docs/runbooks.md#x">' in page


def test_an_unknown_department_is_ignored_and_a_script_link_is_dropped(alertmanager, ed):
    unknown = entry("StaleData", department="NOPE", fingerprint="f1")
    sneaky = entry("SlowRequests", fingerprint="f2")
    sneaky["annotations"]["runbook_url"] = "javascript:alert(1)"
    in_docs = entry("CeleryBeatSilent", fingerprint="f3")
    in_docs["annotations"]["runbook_url"] = "docs/runbooks.md#celerybeatsilent"
    assert alertmanager.post(URL, webhook(unknown, sneaky, in_docs), format="json").json()["ignored"] == 1
    runbooks = dict(Alert.objects.values_list("detail__alertname", "detail__runbook_url"))
    assert runbooks == {"SlowRequests": "", "CeleryBeatSilent": "docs/runbooks.md#celerybeatsilent"}


@pytest.mark.parametrize(
    "credentials", [None, "Bearer wrong-token", f"Token {TOKEN}"], ids=["none", "wrong", "not-bearer"]
)
def test_only_alertmanager_with_the_token_may_post(alertmanager, ed, credentials):
    api = APIClient()
    if credentials:
        api.credentials(HTTP_AUTHORIZATION=credentials)
    assert api.post(URL, webhook(entry("X")), format="json").status_code in (401, 403)
    assert not Alert.objects.exists()


def test_without_a_configured_token_nobody_may_post(settings, ed):
    settings.ALERTMANAGER_TOKEN = ""
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION="Bearer ")
    assert api.post(URL, webhook(entry("X")), format="json").status_code in (401, 403)


def test_a_signed_in_user_cannot_raise_alerts(ed, settings):
    settings.ALERTMANAGER_TOKEN = TOKEN
    api = APIClient()
    api.force_authenticate(user_make("admin2", role="admin"))
    assert api.post(URL, webhook(entry("X")), format="json").status_code in (401, 403)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"version": "3"}, "version"),
        ({"alerts": [{**entry("X"), "status": "pending"}]}, "alerts"),
        ({"alerts": [{**entry("X"), "labels": {"severity": "critical"}}]}, "alerts"),
        ({"alerts": [{**entry("X"), "fingerprint": "../../etc"}]}, "alerts"),
    ],
)
def test_a_malformed_webhook_is_a_400_naming_the_field_and_stores_nothing(alertmanager, ed, change, field):
    response = alertmanager.post(URL, {**webhook(entry("X")), **change}, format="json")
    assert response.status_code == 400 and field in str(response.json())
    assert not Alert.objects.exists()
