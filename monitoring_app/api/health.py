"""GET /api/v1/health (liveness) and GET /api/v1/status (readiness, with detail for ops)."""

from dataclasses import asdict

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from monitoring_app.health import status_check
from monitoring_app.selectors import may_read_metrics


class HealthView(APIView):
    """Liveness: the process answers. Touches nothing else (a database outage must not restart it)."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(responses={200: inline_serializer("Health", {"status": serializers.CharField()})})
    def get(self, request):
        return Response({"status": "ok"})


class StatusView(APIView):
    """Readiness: 200 when this process can serve (database, cache, channel layer), else 503.

    Anyone (a load balancer) gets the verdict per check; users with the metrics permission
    (ops, admins) also get the details and each department's model age and latest data.
    """

    permission_classes = [AllowAny]

    @extend_schema(
        responses={
            200: inline_serializer(
                "Status",
                {
                    "ready": serializers.BooleanField(),
                    "checks": serializers.DictField(),
                    "degraded": serializers.ListField(child=serializers.CharField()),
                    "departments": serializers.ListField(child=serializers.DictField(), required=False),
                },
            ),
            503: None,
        }
    )
    def get(self, request):
        detailed = may_read_metrics(request.user)
        status = status_check(detail=detailed)
        body = {
            "ready": status.ready,
            "checks": {name: asdict(check) if detailed else {"ok": check.ok} for name, check in status.checks.items()},
            "degraded": status.degraded,
        }
        if detailed:
            body["departments"] = status.departments
        return Response(body, status=200 if status.ready else 503)
