"""OpenTelemetry tracing of requests, Celery tasks and PostgreSQL calls, exported over OTLP/HTTP.

Off unless OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set, e.g.
http://jaeger:4318 in the compose stack. The exporter reads the standard OTEL_* variables
(headers, timeout, sampler: OTEL_TRACES_SAMPLER=parentbased_traceidratio with
OTEL_TRACES_SAMPLER_ARG=0.1 keeps one trace in ten). Spans leave in batches on a background
thread, which the SDK restarts in forked gunicorn and Celery children.

Task spans continue the trace of the request that queued them (the context travels in the
message headers). Query text is recorded without parameters: no patient data leaves.
"""

import logging
import os

logger = logging.getLogger(__name__)

_configured = False


def tracing_enabled() -> bool:
    return bool(os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))


def tracing_configure() -> bool:
    """Install the tracer provider and instrument Django, Celery and psycopg, once per process.

    Must run before Django builds its middleware chain (MonitoringConfig.ready() does).
    Returns whether tracing is on.
    """
    global _configured
    if _configured or not tracing_enabled():
        return _configured
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create({SERVICE_NAME: os.environ.get("OTEL_SERVICE_NAME", "hospital-workload")})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    # Health probes every few seconds would drown the traces that matter.
    DjangoInstrumentor().instrument(excluded_urls="api/v1/health,api/v1/status,metrics")
    CeleryInstrumentor().instrument()
    PsycopgInstrumentor().instrument(enable_commenter=False)
    _configured = True
    logger.info("tracing on: spans exported over OTLP")
    return True
