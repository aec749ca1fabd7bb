"""Liveness and readiness for load balancers; details for ops only."""

from unittest import mock

import pytest
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from tests.factories import user_make


def test_liveness_answers_without_touching_the_database(db, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = APIClient().get("/api/v1/health")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_readiness_is_200_with_only_verdicts_for_anyone(ed):
    response = APIClient().get("/api/v1/status")
    assert response.status_code == 200
    body = response.json()
    assert body["ready"] is True
    assert set(body["checks"]) == {"database", "cache", "channel_layer", "workers"}
    assert all(check == {"ok": True} for check in body["checks"].values())
    assert "departments" not in body


def test_readiness_is_503_when_the_database_does_not_answer(db):
    with mock.patch("monitoring_app.health._database", side_effect=OSError("connection refused")):
        response = APIClient().get("/api/v1/status")
    assert response.status_code == 503
    assert response.json()["ready"] is False and response.json()["checks"]["database"] == {"ok": False}


def test_readiness_is_503_when_the_cache_is_down(db):
    with mock.patch("monitoring_app.health.cache.set", side_effect=ConnectionError("redis down")):
        response = APIClient().get("/api/v1/status")
    assert response.status_code == 503 and response.json()["checks"]["cache"] == {"ok": False}


def test_no_worker_is_degraded_not_unready_and_the_verdict_is_reused(db, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    with mock.patch(
        "monitoring_app.tasks.canary_task.apply_async", autospec=True, side_effect=TimeoutError("no answer")
    ) as send:
        response = APIClient().get("/api/v1/status")
        again = APIClient().get("/api/v1/status")
    assert response.status_code == 200
    assert response.json()["checks"]["workers"] == {"ok": False}
    assert response.json()["degraded"] == ["no worker answered the canary: forecasts, plans and alerts wait"]
    # The next probe within CANARY_EVERY_SECONDS does not wait for a canary again.
    assert send.call_count == 1 and again.json()["checks"]["workers"] == {"ok": False}


def test_ops_see_the_details_and_each_departments_model_age_and_latest_data(ed_history):
    ops = user_make("ops", role="ops")
    client = APIClient()
    client.force_authenticate(ops)
    body = client.get("/api/v1/status").json()
    assert body["checks"]["database"]["ok"] and "milliseconds" in body["checks"]["database"]
    [department] = body["departments"]
    assert department["department"] == "ED" and department["model_version"] is None
    assert department["last_hour"] is not None


def test_staff_do_not_see_the_details(ed_staff):
    client = APIClient()
    client.force_authenticate(ed_staff)
    assert "departments" not in client.get("/api/v1/status").json()


def test_the_ops_role_holds_the_metrics_permission_and_no_patient_flow_data(db):
    names = set(Group.objects.get(name="ops").permissions.values_list("codename", flat=True))
    assert names == {"view_metrics"}


@pytest.mark.redis
def test_with_redis_a_real_worker_must_answer_the_canary(db, settings):
    """Under CI (Redis, no worker running in this test): the canary times out and says so."""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    from monitoring_app.health import status_check

    status = status_check(detail=False)
    assert status.ready is True
    assert status.checks["workers"].ok is False
