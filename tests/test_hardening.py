"""Bodies too big or malformed, read-only fields, logs: the API refuses cleanly and leaks nothing."""

import logging

import pytest
from rest_framework.test import APIClient

from healthcare.encounters.models import Department, Encounter
from tests.factories import current_hour


def integrator_client(integrator) -> APIClient:
    client = APIClient()
    client.force_authenticate(integrator)
    return client


def test_an_oversized_body_is_refused_with_413_and_nothing_is_stored(ed, integrator, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    encounters = [
        {
            "id": f"V{n}",
            "patient": "P",
            "department": "ED",
            "encounter_class": "EMER",
            "status": "finished",
            "start": current_hour().isoformat(),
            "end": current_hour().isoformat(),
        }
        for n in range(200)
    ]
    response = integrator_client(integrator).post(
        "/api/v1/encounters/batch/", {"source": "s", "encounters": encounters}, format="json"
    )
    assert response.status_code == 413
    assert "larger than 10,000 bytes" in response.json()["detail"]
    assert not Encounter.objects.exists()


def test_malformed_json_is_a_400_in_json(ed, integrator):
    response = integrator_client(integrator).generic(
        "POST", "/api/v1/events", '{"source": "adt", "events": [', content_type="application/json"
    )
    assert response.status_code == 400 and "JSON parse error" in response.json()["detail"]


def test_read_only_department_fields_cannot_be_written(hospital_admin, ed):
    client = APIClient()
    client.force_authenticate(hospital_admin)
    created_at = ed.created_at
    response = client.patch(
        "/api/v1/departments/ED/",
        {"code": "HACK", "created_at": "2001-01-01T00:00:00Z", "name": "Emergency"},
        format="json",
    )
    assert response.status_code == 200
    stored = Department.objects.get(pk=ed.pk)
    assert (stored.code, stored.created_at, stored.name) == ("ED", created_at, "Emergency")


def test_encounters_cannot_be_written_through_their_read_endpoint(ed, integrator):
    client = integrator_client(integrator)
    assert client.post("/api/v1/encounters/", {"source_id": "x"}, format="json").status_code == 405


def test_unknown_fields_in_an_event_do_not_reach_the_store(ed, integrator):
    event = {
        "event_id": "e1",
        "kind": "admit",
        "encounter_id": "V1",
        "patient": "MRN-77",
        "department": "ED",
        "occurred_at": current_hour().isoformat(),
        "patient_key": "chosen-by-attacker",
        "id": 1,
    }
    response = integrator_client(integrator).post("/api/v1/events", {"source": "adt", "events": [event]}, format="json")
    assert response.status_code == 200
    stored = Encounter.objects.get(source_id="V1")
    assert stored.patient_key != "chosen-by-attacker" and stored.patient_key != "MRN-77"


def test_logs_carry_no_patient_identifier(ed, integrator, caplog):
    event = {
        "event_id": "e1",
        "kind": "admit",
        "encounter_id": "V1",
        "patient": "MRN-55501",
        "department": "ED",
        "occurred_at": current_hour().isoformat(),
    }
    with caplog.at_level(logging.DEBUG):
        client = integrator_client(integrator)
        client.post("/api/v1/events", {"source": "adt", "events": [event]}, format="json")
        client.post("/api/v1/events", {"source": "adt", "events": [{**event, "event_id": "e2"}]}, format="json")
    assert caplog.records  # something was logged: the check below is not vacuous
    assert "MRN-55501" not in caplog.text


def test_cors_answers_only_configured_origins_and_only_on_the_api(client, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://integration.hospital.example"]
    allowed = client.options(
        "/api/v1/departments/",
        HTTP_ORIGIN="https://integration.hospital.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
    )
    assert allowed["Access-Control-Allow-Origin"] == "https://integration.hospital.example"
    foreign = client.options(
        "/api/v1/departments/", HTTP_ORIGIN="https://evil.example", HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET"
    )
    assert "Access-Control-Allow-Origin" not in foreign
    page = client.get("/accounts/login/", HTTP_ORIGIN="https://integration.hospital.example")
    assert "Access-Control-Allow-Origin" not in page


def test_every_page_carries_the_security_headers(client):
    response = client.get("/accounts/login/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_a_moment_with_an_offset_postgresql_cannot_take_is_compared_in_utc(ed_staff):
    """Found by schemathesis: offsets beyond 15:59 reached PostgreSQL and answered 500."""
    client = APIClient()
    client.force_authenticate(ed_staff)
    response = client.get("/api/v1/encounters/", {"start_before": "5209-03-07T03:39:28-20:06"})
    assert response.status_code == 200
    end_of_time = client.get("/api/v1/workload-hours/", {"start": "9999-12-31T23:00:00-20:00"})
    assert end_of_time.status_code == 400 and end_of_time.json() == {"hour": ["is out of range"]}


def test_only_the_internal_callers_paths_skip_the_https_redirect(settings, db):
    """Prometheus, Alertmanager and the probes call over plain HTTP inside the network; nothing else may."""
    from django.test import Client

    settings.SECURE_SSL_REDIRECT = True
    client = Client()
    assert client.get("/api/v1/health").status_code == 200
    assert client.get("/metrics").status_code == 403  # reached the view, which refuses an anonymous caller
    assert client.post("/api/v1/alerts/prometheus", {}).status_code in (401, 403)
    for path in ("/api/v1/", "/accounts/login/", "/api/v1/encounters/", "/admin/"):
        assert client.get(path).status_code == 301, path


LISTS_BY_DEPARTMENT_ID = [
    "/api/v1/encounters/",
    "/api/v1/workload-hours/",
    "/api/v1/predict/jobs/",
    "/api/v1/predict/models/",
    "/api/v1/alerts/",
    "/api/v1/optimize/history/",
    "/api/v1/optimize/duty-changes/",
]


@pytest.mark.parametrize("path", LISTS_BY_DEPARTMENT_ID)
def test_a_department_id_beyond_64_bits_is_refused_by_name(integrator, ed, path):
    client = APIClient()
    client.force_authenticate(integrator)
    for value in ("99999999999999999999", "-9223372036854775809", "1e30"):
        response = client.get(path, {"department_id": value})
        assert response.status_code == 400, (path, value, response.status_code)
        assert "department_id" in response.json()
    # The largest id a column holds is an ordinary filter: it matches nothing.
    response = client.get(path, {"department_id": str(2**63 - 1)})
    assert response.status_code == 200 and response.json()["results"] == []
    assert client.get(path, {"department_id": ed.id}).status_code == 200
