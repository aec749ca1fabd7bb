"""Staffing plans (requested, polled, listed) and real-time recommendations."""

import django_filters
from django.utils.decorators import method_decorator
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from healthcare.accounts.ratelimits import job_limited
from healthcare.encounters.api.filters import FilterSet, UtcDateTimeFilter
from healthcare.encounters.api.permissions import ModelPermissions
from healthcare.encounters.selectors import departments_visible_to
from optimization import services
from optimization.api.serializers import (
    OptimizationRequestSerializer,
    OptimizationRunSerializer,
    RecommendationSerializer,
    RecommendRequestSerializer,
)
from optimization.models import OptimizationRun, RunStatus, StaffingPolicy


class ReadWithPostPermission(ModelPermissions):
    """A POST that only reads (a recommendation) needs the view permission."""

    perms_map = {**ModelPermissions.perms_map, "POST": ["%(app_label)s.view_%(model_name)s"]}


def _visible_department(request, code: str):
    department = departments_visible_to(request.user).filter(code=code).first()
    if department is None:
        raise ValidationError({"department": [f"unknown department '{code}'"]})
    return department


class OptimizationRequestView(generics.GenericAPIView):
    """Plan the next hours of a department; computed off the request path."""

    queryset = OptimizationRun.objects.none()
    permission_classes = [ModelPermissions]
    serializer_class = OptimizationRequestSerializer

    @extend_schema(request=OptimizationRequestSerializer, responses={202: OptimizationRunSerializer})
    @method_decorator(job_limited)
    def post(self, request):
        """202 with the run; poll links.status until succeeded or failed."""
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        params = dict(serializer.validated_data)
        department = _visible_department(request, params.pop("department"))
        try:
            services.staffing_rules_for(department, params.get("rule_overrides"))
        except ValueError as exc:
            raise ValidationError({"rule_overrides": [str(exc)]}) from None
        run = services.optimization_request(department=department, params=params, requested_by=request.user)
        run.refresh_from_db()  # eager Celery (embedded default) may have finished it already
        body = OptimizationRunSerializer(run, context={"request": request}).data
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["links"]["status"]})


class OptimizationRunFilterSet(FilterSet):
    department = django_filters.CharFilter(field_name="department__code", help_text="Department code.")
    department_id = django_filters.NumberFilter(field_name="department_id")
    status = django_filters.ChoiceFilter(choices=RunStatus.choices)
    created_after = UtcDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UtcDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = OptimizationRun
        fields = ["department", "department_id", "status", "created_after", "created_before"]


class OptimizationRunViewSet(viewsets.ReadOnlyModelViewSet):
    """Runs of your departments: GET /optimize/status/{id} and GET /optimize/history."""

    serializer_class = OptimizationRunSerializer
    permission_classes = [ModelPermissions]
    filterset_class = OptimizationRunFilterSet

    def get_queryset(self):
        visible = departments_visible_to(self.request.user)
        return OptimizationRun.objects.filter(department__in=visible).select_related("department")


class RecommendView(generics.GenericAPIView):
    """What the real-time policy would do now: call in on-call nurses, release one, or nothing."""

    queryset = StaffingPolicy.objects.none()
    permission_classes = [ReadWithPostPermission]
    serializer_class = RecommendRequestSerializer

    @extend_schema(request=RecommendRequestSerializer, responses={200: RecommendationSerializer})
    def post(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        department = _visible_department(request, data.pop("department"))
        try:
            recommendation = services.recommendation(department=department, **data)
        except (services.PlanUnavailable, ValueError) as exc:
            # No data or model yet, or the department's stored rules are invalid: nothing to recommend.
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(RecommendationSerializer(recommendation).data)
