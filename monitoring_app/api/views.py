"""Alerts of your departments: list and acknowledge them; Alertmanager's webhook raises Prometheus' alerts."""

import django_filters
from django.conf import settings
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from healthcare.encounters.api.filters import DepartmentIdFilter, FilterSet
from healthcare.encounters.api.permissions import ModelPermissions
from monitoring_app.api.metrics import bearer_matches
from monitoring_app.api.serializers import AlertmanagerWebhookSerializer, AlertSerializer
from monitoring_app.models import Alert, AlertKind, AlertSeverity
from monitoring_app.selectors import alerts_visible_to
from monitoring_app.services import alert_acknowledge, prometheus_alerts_apply


class AcknowledgePermission(ModelPermissions):
    """Acknowledging changes the alert: POST needs the change permission."""

    perms_map = {**ModelPermissions.perms_map, "POST": ["%(app_label)s.change_%(model_name)s"]}


class AlertFilterSet(FilterSet):
    department = django_filters.CharFilter(field_name="department__code", help_text="Department code.")
    department_id = DepartmentIdFilter()
    kind = django_filters.ChoiceFilter(choices=AlertKind.choices)
    severity = django_filters.ChoiceFilter(choices=AlertSeverity.choices)
    open = django_filters.BooleanFilter(method="filter_open", help_text="true: neither acknowledged nor resolved.")

    class Meta:
        model = Alert
        fields = ["department", "department_id", "kind", "severity", "open"]

    def filter_open(self, queryset, name, value):
        open_alerts = queryset.open()
        return open_alerts if value else queryset.exclude(pk__in=open_alerts.values("pk"))


class AlertViewSet(viewsets.ReadOnlyModelViewSet):
    """Alerts raised for your departments, newest first."""

    serializer_class = AlertSerializer
    permission_classes = [ModelPermissions]
    filterset_class = AlertFilterSet

    def get_queryset(self):
        return alerts_visible_to(self.request.user)

    @extend_schema(request=None, responses={200: AlertSerializer})
    @action(detail=True, methods=["post"], permission_classes=[AcknowledgePermission])
    def acknowledge(self, request, pk=None):
        """Mark the alert seen by you (acknowledging again keeps the first acknowledgement)."""
        alert = alert_acknowledge(alert=self.get_object(), user=request.user)
        return Response(self.get_serializer(alert).data)


class AlertmanagerTokenPermission(permissions.BasePermission):
    """Alertmanager, sending the bearer ALERTMANAGER_TOKEN."""

    message = "Send Authorization: Bearer <ALERTMANAGER_TOKEN>."

    def has_permission(self, request, view) -> bool:
        if request.method not in view.allowed_methods:
            return True  # the view answers 405 for a method it lacks, whoever asks
        return bearer_matches(request, settings.ALERTMANAGER_TOKEN)


class PrometheusAlertsView(APIView):
    """POST /api/v1/alerts/prometheus: Alertmanager's webhook. Firing alerts appear on the
    dashboards' alert panels (their department's, or every one), resolved ones close."""

    authentication_classes = []
    permission_classes = [AlertmanagerTokenPermission]
    error_statuses = {"POST": [403]}  # a wrong or missing webhook token

    @extend_schema(
        request=AlertmanagerWebhookSerializer,
        responses=inline_serializer(
            "PrometheusAlertsApplied",
            {name: serializers.IntegerField() for name in ("raised", "refreshed", "resolved", "ignored")},
        ),
    )
    def post(self, request):
        webhook = AlertmanagerWebhookSerializer(data=request.data)
        webhook.is_valid(raise_exception=True)
        return Response(prometheus_alerts_apply(webhook.validated_data["alerts"]))
