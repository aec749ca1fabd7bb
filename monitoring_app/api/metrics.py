"""/metrics (Prometheus text) and GET /api/v1/metrics (the product's figures as JSON), for ops only."""

import hmac
import os

import prometheus_client
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django_prometheus.exports import ExportToDjangoView
from drf_spectacular.utils import extend_schema, inline_serializer
from prometheus_client import multiprocess
from rest_framework import permissions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from monitoring_app.audit import client_address
from monitoring_app.metrics import ProductCollector, product_figures
from monitoring_app.selectors import may_read_metrics


class MetricsPermission(permissions.BasePermission):
    """The ops role (or an admin): monitoring_app.view_metrics."""

    def has_permission(self, request, view) -> bool:
        return may_read_metrics(request.user)


def bearer_matches(request: HttpRequest, secret: str) -> bool:
    """The request sends `Authorization: Bearer <secret>` (compared in constant time); never for an empty secret."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    token = header.removeprefix("Bearer ") if header.startswith("Bearer ") else ""
    return bool(secret and token) and hmac.compare_digest(token.encode(), secret.encode())


def scraper_allowed(request: HttpRequest) -> bool:
    """A Prometheus scrape: the bearer METRICS_TOKEN, or an address in METRICS_ALLOWED_IPS."""
    return bearer_matches(request, settings.METRICS_TOKEN) or client_address(request) in settings.METRICS_ALLOWED_IPS


def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus text format, for the scraper or a signed-in ops user; 403 for anyone else.

    Under gunicorn with PROMETHEUS_MULTIPROC_DIR the counters of all worker processes are merged
    from files, and the product's figures (read from the database at scrape time) are added.
    """
    if not (may_read_metrics(getattr(request, "user", None)) or scraper_allowed(request)):
        return HttpResponse("Metrics are for operations only.", status=403, content_type="text/plain")
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return ExportToDjangoView(request)
    registry = prometheus_client.CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    registry.register(ProductCollector())
    return HttpResponse(prometheus_client.generate_latest(registry), content_type=prometheus_client.CONTENT_TYPE_LATEST)


class MetricsView(APIView):
    """The product's figures per department (census, nurses, compliance, forecast error, data and
    model age, alerts), Celery's (queue depth, workers, tasks) and the HL7 listeners' (messages by
    outcome, held discharges): what /metrics exposes, as JSON for the dashboard and for people."""

    permission_classes = [MetricsPermission]

    @extend_schema(
        responses=inline_serializer(
            "ProductFigures",
            {
                "departments": serializers.ListField(child=serializers.DictField()),
                "celery_queue_depth": serializers.IntegerField(allow_null=True),
                "celery_workers": serializers.IntegerField(
                    allow_null=True, help_text="Workers with a heartbeat; null on the embedded default."
                ),
                "celery_tasks": serializers.ListField(
                    child=serializers.DictField(),
                    allow_null=True,
                    help_text="Per task: succeeded, failed, retried, and duration count, sum and buckets.",
                ),
                "hl7_messages_24h": serializers.ListField(
                    child=serializers.DictField(),
                    help_text="HL7 ADT messages of the last 24 h: {outcome, field (an AE or AR names it), count}.",
                ),
                "hl7_held_discharges": serializers.IntegerField(
                    help_text="Discharges received before their admission, held until it comes."
                ),
            },
        )
    )
    def get(self, request):
        return Response(product_figures())
