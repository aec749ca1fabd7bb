"""/metrics and /api/v1/metrics: operations only, with the product's figures beside the request metrics."""

from datetime import timedelta

from django.utils import timezone
from rest_framework.test import APIClient

from healthcare.encounters import services as encounter_services
from healthcare.encounters.models import WorkloadHour
from tests.factories import current_hour, encounter_record, user_make
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
    assert 'hospital_nurses_on_duty_now{department="ED"} 2.0' in page
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
        "nurses_on_duty_now",
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


def test_data_and_model_age_say_how_stale_each_department_is(ed_history, icu):
    from healthcare.encounters.models import Encounter
    from predictions import services as prediction_services

    encounter_services.encounters_ingest(
        records=[encounter_record("V-age", start=current_hour() - timedelta(hours=5), hours=1)], source="test"
    )
    Encounter.objects.filter(department=ed_history).update(updated_at=timezone.now() - timedelta(hours=4))
    model = prediction_services.forecast_model_train(department=ed_history, activate=True)
    type(model).objects.filter(pk=model.pk).update(created_at=timezone.now() - timedelta(days=9))
    api = APIClient()
    api.force_authenticate(user_make("ops", role="ops"))
    by_code = {row["department"]: row for row in api.get("/api/v1/metrics").json()["departments"]}
    assert 4 * 3600 <= by_code["ED"]["data_age_seconds"] < 4 * 3600 + 60
    assert 9 * 86400 <= by_code["ED"]["model_age_seconds"] < 9 * 86400 + 60
    # A department with no data and no model has no age: the series is absent, not zero.
    assert by_code["ICU"]["data_age_seconds"] is None and by_code["ICU"]["model_age_seconds"] is None
    api.force_authenticate(None)
    client = APIClient()
    client.force_login(user_make("ops2", role="ops"))
    page = client.get("/metrics").content.decode()
    assert 'hospital_model_age_seconds{department="ED"}' in page
    assert 'hospital_data_age_seconds{department="ICU"}' not in page


def test_tasks_are_counted_by_outcome_with_their_duration(db):
    """On the embedded default tasks run eagerly and are counted in this process."""
    from prometheus_client import REGISTRY

    from monitoring_app.tasks import canary_task

    def sample(name, **labels):
        return REGISTRY.get_sample_value(name, {"task": "monitoring_app.tasks.canary_task", **labels}) or 0.0

    before = sample("hospital_celery_tasks_total", outcome="succeeded")
    durations_before = sample("hospital_celery_task_duration_seconds_count")
    assert canary_task.apply(("ping",)).get() == "ping"
    assert sample("hospital_celery_tasks_total", outcome="succeeded") == before + 1
    assert sample("hospital_celery_task_duration_seconds_count") == durations_before + 1
    assert sample("hospital_celery_task_duration_seconds_bucket", le="+Inf") == durations_before + 1


def test_a_failed_task_is_counted_as_failed(db):
    """As a worker runs it: the error is stored, not raised into the caller (eager mode raises before counting)."""
    from prometheus_client import REGISTRY

    from healthcare.celery import app

    @app.task(name="tests.always_fails")
    def always_fails():
        raise ValueError("boom")

    def failed():
        return REGISTRY.get_sample_value(
            "hospital_celery_tasks_total", {"task": "tests.always_fails", "outcome": "failed"}
        )

    before = failed() or 0.0
    result = always_fails.apply(throw=False)
    assert result.failed() and isinstance(result.result, ValueError)
    assert failed() == before + 1


def test_under_gunicorn_the_merged_worker_counters_come_with_the_product_figures(client, ed, tmp_path, monkeypatch):
    """PROMETHEUS_MULTIPROC_DIR: counters come from the workers' files, not this process, plus the figures."""
    WorkloadHour.objects.create(department=ed, hour=current_hour(), arrivals=1, discharges=0, census=4)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    client.force_login(user_make("ops", role="ops"))
    page = client.get("/metrics").content.decode()
    assert 'hospital_census_now{department="ED"} 4.0' in page
    assert "python_gc_objects_collected_total" not in page  # this process' own registry is not the source
