"""Tracing: off by default; with an OTLP endpoint, request, task and PostgreSQL spans reach it."""

import http.server
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.db import connection
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from healthcare import tracing
from tests.factories import database_url

ROOT = Path(__file__).resolve().parents[1]

# Runs in a fresh process (a tracer provider can be installed once per process): one page, one
# query, one eager task, then flush.
SCRIPT = """
import django
django.setup()
from django.db import connection
from django.test import Client
from opentelemetry import trace
from monitoring_app.tasks import canary_task

assert Client().get("/accounts/login/", HTTP_HOST="localhost").status_code == 200
with connection.cursor() as cursor:
    cursor.execute("SELECT 1")
assert canary_task.apply(("traced",)).get() == "traced"
trace.get_tracer_provider().force_flush()
"""


class Collector(http.server.BaseHTTPRequestHandler):
    """A stand-in OTLP/HTTP collector: keeps the spans it is sent."""

    spans: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        for resource_spans in request.resource_spans:
            service = {a.key: a.value.string_value for a in resource_spans.resource.attributes}["service.name"]
            for scope_spans in resource_spans.scope_spans:
                Collector.spans += [(service, scope_spans.scope.name, span.name) for span in scope_spans.spans]
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_tracing_is_off_without_an_endpoint():
    assert not tracing.tracing_enabled() and not tracing._configured


def test_requests_tasks_and_queries_are_exported_over_otlp(db, tmp_path):
    server = http.server.HTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Collector.spans = []
    env = {
        **os.environ,
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{server.server_port}",
        "OTEL_SERVICE_NAME": "hospital-test",
        "DJANGO_SETTINGS_MODULE": "healthcare.settings",
        # Eager tasks, whatever the suite runs with: the task span comes from this process.
        "REDIS_URL": "",
    }
    # The test database: it exists, and the query needs no table.
    if connection.vendor == "postgresql":
        env["DATABASE_URL"] = database_url(connection.settings_dict)
    else:
        env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'trace.sqlite3'}"
    try:
        result = subprocess.run(
            [sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )
    finally:
        server.shutdown()
    assert result.returncode == 0, result.stderr
    scopes = {scope for _, scope, _ in Collector.spans}
    assert {service for service, _, _ in Collector.spans} == {"hospital-test"}
    assert "opentelemetry.instrumentation.django" in scopes
    assert any("canary_task" in name for _, scope, name in Collector.spans if "celery" in scope)
    if connection.vendor == "postgresql":
        assert "opentelemetry.instrumentation.psycopg" in scopes, Collector.spans
    else:
        pytest.skip("database spans are PostgreSQL's (psycopg); this run is on SQLite")
