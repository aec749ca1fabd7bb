"""/metrics and /api/v1/metrics: operations only, with the product's figures beside the request metrics."""

from datetime import timedelta

from rest_framework.test import APIClient

from healthcare.encounters.models import WorkloadHour
from tests.factories import current_hour, user_make
from tests.monitoring_app.conftest import plan_make


def test_metrics_are_refused_to_anyone_but_operations(client, ed_staff):
    assert client.get("/metrics").status_code == 403
    client.force_login(ed_staff)
    assert client.get("/metrics").status_code == 403
    api = APIClient()
    api.force_authenticate(ed_staff)
    assert api.get("/api/v1/metrics").status_code == 403


def test_ops_read_request_latency_with_the_200_ms_bucket_and_the_product_figures(client, ed):
    now = current_hour()
    WorkloadHour.objects.create(department=ed, hour=now, arrivals=3, discharges=0, census=9)
    plan_make(ed, now - timedelta(hours=2), [2] * 4)  # 2 nurses x 4 = 8 patients at ratio
    client.force_login(user_make("ops", role="ops"))
    client.get("/api/v1/health")
    page = client.get("/metrics").content.decode()
    assert 'django_http_requests_latency_seconds_by_view_method_bucket{le="0.2"' in page
    assert 'hospital_census_now{department="ED"} 9.0' in page
    assert 'hospital_nurses_planned_now{department="ED"} 2.0' in page
    assert 'hospital_nurses_required_now{department="ED"} 3.0' in page
    assert 'hospital_compliance_24h{department="ED"} 0.8889' in page  # 8 of 9 patient-hours


def test_a_scraper_gets_in_with_the_token_or_from_an_allowed_address(client, db, settings):
    settings.METRICS_TOKEN = "scrape-secret-of-32-characters-long"
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret-of-32-characters-long").status_code == 200
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    settings.METRICS_ALLOWED_IPS = ["10.0.0.9"]
    assert client.get("/metrics", REMOTE_ADDR="10.0.0.9").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.0.0.8").status_code == 403


def test_the_same_figures_as_json_for_ops(ed):
    api = APIClient()
    api.force_authenticate(user_make("ops", role="ops"))
    body = api.get("/api/v1/metrics").json()
    [department] = body["departments"]
    assert department["department"] == "ED" and department["open_alerts"] == 0
    assert set(department) >= {
        "census_now",
        "nurses_required_now",
        "nurses_planned_now",
        "compliance_24h",
        "compliance_7d",
        "forecast_error",
    }


def test_broadcasts_and_ingested_rows_are_counted(ed, integrator, client, django_capture_on_commit_callbacks):
    from prometheus_client import REGISTRY

    def sample(name, **labels):
        return REGISTRY.get_sample_value(name, labels) or 0.0

    created = sample("hospital_ingest_rows_total", kind="encounters", result="created")
    sent = sample("hospital_events_broadcast_total", event="workload.changed")
    api = APIClient()
    api.force_authenticate(integrator)
    event = {
        "event_id": "e1",
        "kind": "admit",
        "encounter_id": "V1",
        "patient": "P1",
        "department": "ED",
        "occurred_at": current_hour().isoformat(),
    }
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post("/api/v1/events", {"source": "adt", "events": [event]}, format="json").status_code == 200
    assert sample("hospital_ingest_rows_total", kind="encounters", result="created") == created + 1
    assert sample("hospital_events_broadcast_total", event="workload.changed") == sent + 1
