"""Structured logs: a request id from the request (or the proxy) into the tasks it queues and the
events it causes; user ids, never paths or patient data."""

import json
import logging
import sys

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from rest_framework.test import APIClient

from healthcare import logs
from healthcare.celery import app
from tests.factories import current_hour


@app.task(name="tests.request_id_seen")
def request_id_seen():
    """What a task sees of the request that queued it."""
    return logs.current_request_id(), logs.current_user_id()


def json_line(record: logging.LogRecord) -> dict:
    return json.loads(logs.JsonFormatter().format(record))


@pytest.fixture
def request_lines():
    """Records of the per-request logger, whatever LOG_LEVEL says."""
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    handler.addFilter(logs.ContextFilter())  # as settings.LOGGING's handler does
    logger = logging.getLogger("healthcare.request")
    saved = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)
    logger.setLevel(saved)


def test_every_response_names_its_request_and_one_line_logs_it_without_the_path(integrator, request_lines):
    api = APIClient()
    api.force_authenticate(integrator)
    response = api.get("/api/v1/encounters/?patient=P-secret-42")
    request_id = response["X-Request-ID"]
    assert len(request_id) == 32
    [record] = request_lines
    line = json_line(record)
    assert line["request_id"] == request_id and line["user_id"] == integrator.pk
    assert (line["method"], line["status"], line["view"]) == ("GET", 200, "encounters-api:encounter-list")
    assert line["duration_ms"] >= 0
    assert "P-secret-42" not in json.dumps(line) and "path" not in line


@pytest.mark.parametrize(
    ("offered", "kept"),
    [("edge-7f3a9c1e2b4d", True), ("short", False), ("has spaces in it", False), ("x" * 65, False)],
)
def test_the_proxys_request_id_is_kept_only_when_it_is_sane(client, db, offered, kept):
    response = client.get("/api/v1/health", HTTP_X_REQUEST_ID=offered)
    assert (response["X-Request-ID"] == offered) is kept


def test_an_error_is_one_json_line_with_its_traceback_and_context():
    try:
        raise ValueError("bad thing")
    except ValueError:
        record = logging.LogRecord(
            "healthcare.test", logging.ERROR, __file__, 1, "failed %s", ("once",), sys.exc_info()
        )
    token = logs.request_id_var.set("req-12345678")
    try:
        logs.ContextFilter().filter(record)
    finally:
        logs.request_id_var.reset(token)
    line = json_line(record)
    assert line["message"] == "failed once" and line["level"] == "ERROR" and line["request_id"] == "req-12345678"
    assert "ValueError: bad thing" in line["exception"]
    assert line["time"].endswith("+00:00")


def test_a_task_queued_in_a_request_runs_under_its_id_and_user(db):
    token = logs.request_id_var.set("req-abcdef12"), logs.user_id_var.set(7)
    try:
        assert request_id_seen.apply().get() == ("req-abcdef12", 7)  # eager: the caller's context
        assert logs.current_request_id() == "req-abcdef12"  # and the caller keeps it afterwards
        headers = {}
        logs.task_headers_add(headers=headers)
        assert headers == {"request_id": "req-abcdef12", "user_id": 7}
    finally:
        logs.request_id_var.reset(token[0])
        logs.user_id_var.reset(token[1])


def test_a_task_from_beat_gets_an_id_of_its_own(db):
    request_id, user_id = request_id_seen.apply(task_id="beat-1").get()
    assert (request_id, user_id) == ("task-beat-1", None)


@pytest.mark.redis
def test_a_real_worker_logs_under_the_id_of_the_request_that_queued_the_task():
    from celery.contrib.testing.worker import start_worker

    from monitoring_app import receivers

    token = logs.request_id_var.set("req-9f8e7d6c")
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            assert request_id_seen.delay().get(timeout=30) == ["req-9f8e7d6c", None]
    finally:
        logs.request_id_var.reset(token)
        receivers.worker_shutdown()  # the test worker stops without Celery's signal


def test_a_live_event_names_the_request_that_caused_it(ed, integrator, django_capture_on_commit_callbacks):
    from dashboard.broadcast import department_group

    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(department_group("ED"), channel)
    api = APIClient()
    api.force_authenticate(integrator)
    event = {
        "event_id": "log-1",
        "kind": "admit",
        "encounter_id": "V-log",
        "patient": "P-log",
        "department": "ED",
        "occurred_at": current_hour().isoformat(),
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/v1/events", {"source": "adt", "events": [event]}, format="json")
    message = async_to_sync(layer.receive)(channel)
    assert message["event"] == "workload.changed"
    assert message["request_id"] == response["X-Request-ID"]
