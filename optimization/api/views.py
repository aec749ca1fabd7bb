"""Staffing plans (requested, polled, listed) and real-time recommendations."""

import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.decorators import method_decorator
from drf_spectacular.utils import extend_schema
from rest_framework import generics, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from healthcare.accounts.ratelimits import job_limited
from healthcare.encounters.api.filters import DepartmentIdFilter, FilterSet, UtcDateTimeFilter
from healthcare.encounters.api.permissions import ModelPermissions
from healthcare.encounters.selectors import departments_visible_to
from optimization import policies, services
from optimization.api.serializers import (
    DutyChangeCreateSerializer,
    DutyChangeSerializer,
    OptimizationRequestSerializer,
    OptimizationRunSerializer,
    RecommendationSerializer,
    RecommendRequestSerializer,
)
from optimization.models import DutyChange, DutyChangeKind, OptimizationRun, RunStatus, StaffingPolicy
from optimization.on_duty import duty_change_cancel, duty_change_record, plan_put_in_force
from optimization.policies import PolicyUnavailable


class ReadWithPostPermission(ModelPermissions):
    """A POST that only reads (a recommendation) needs the view permission."""

    perms_map = {**ModelPermissions.perms_map, "POST": ["%(app_label)s.view_%(model_name)s"]}


class ChangeWithPostPermission(ModelPermissions):
    """A POST that changes a row (put a plan in force, cancel a duty change) needs the change permission."""

    perms_map = {**ModelPermissions.perms_map, "POST": ["%(app_label)s.change_%(model_name)s"]}


def visible_department_or_404(request, code: str):
    department = departments_visible_to(request.user).filter(code=code).first()
    if department is None:
        raise NotFound(f"No department '{code}' among yours.")
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
        department = visible_department_or_404(request, params.pop("department"))
        try:
            policies.staffing_rules_for(department, params.get("rule_overrides"))
        except ValueError as exc:
            raise ValidationError({"rule_overrides": [str(exc)]}) from None
        run = services.optimization_request(department=department, params=params, requested_by=request.user)
        run.refresh_from_db()  # eager Celery (embedded default) may have finished it already
        body = OptimizationRunSerializer(run, context={"request": request}).data
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["links"]["status"]})


class OptimizationRunFilterSet(FilterSet):
    department = django_filters.CharFilter(field_name="department__code", help_text="Department code.")
    department_id = DepartmentIdFilter()
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
    error_statuses = {"POST": [400]}  # a plan that cannot be put in force (not succeeded, already past)

    def get_queryset(self):
        visible = departments_visible_to(self.request.user)
        return OptimizationRun.objects.filter(department__in=visible).select_related("department", "put_in_force_by")

    @extend_schema(request=None, responses={200: OptimizationRunSerializer})
    @action(detail=True, methods=["post"], url_path="put-in-force", permission_classes=[ChangeWithPostPermission])
    def put_in_force(self, request, pk=None):
        """Make this plan the roster from the next shift start on (the shift on duty keeps its nurses)."""
        try:
            run = plan_put_in_force(run=self.get_object(), by=request.user)
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from None
        return Response(OptimizationRunSerializer(run, context={"request": request}).data)


class RecommendView(generics.GenericAPIView):
    """What the real-time policy would do now: call in on-call nurses, release one, or nothing."""

    queryset = StaffingPolicy.objects.none()
    permission_classes = [ReadWithPostPermission]
    serializer_class = RecommendRequestSerializer
    error_statuses = {"POST": [409]}  # no census or roster recorded and none given

    @extend_schema(request=RecommendRequestSerializer, responses={200: RecommendationSerializer})
    def post(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        department = visible_department_or_404(request, data.pop("department"))
        try:
            recommendation = services.recommendation(department=department, **data)
        except (services.PlanUnavailable, PolicyUnavailable, ValueError) as exc:
            # No census or staff to judge, a damaged policy, or invalid stored rules: nothing to decide on.
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(RecommendationSerializer(recommendation).data)


class DutyChangeFilterSet(FilterSet):
    department = django_filters.CharFilter(field_name="department__code", help_text="Department code.")
    department_id = DepartmentIdFilter()
    kind = django_filters.ChoiceFilter(choices=DutyChangeKind.choices)
    ends_after = UtcDateTimeFilter(field_name="ends_at", lookup_expr="gt", help_text="Changes still running then.")
    recorded_after = UtcDateTimeFilter(field_name="recorded_at", lookup_expr="gte")

    class Meta:
        model = DutyChange
        fields = ["department", "department_id", "kind", "ends_after", "recorded_after"]


class DutyChangeViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Call-ins confirmed, releases and absences of your departments: who is on duty, as recorded."""

    permission_classes = [ModelPermissions]
    filterset_class = DutyChangeFilterSet
    queryset = DutyChange.objects.none()  # the model of the permissions; rows: get_queryset()

    def get_queryset(self):
        visible = departments_visible_to(self.request.user)
        return DutyChange.objects.filter(department__in=visible).select_related(
            "department", "recorded_by", "cancelled_by"
        )

    def get_serializer_class(self):
        return DutyChangeCreateSerializer if self.action == "create" else DutyChangeSerializer

    @extend_schema(request=DutyChangeCreateSerializer, responses={201: DutyChangeSerializer})
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        department = visible_department_or_404(request, data.pop("department"))
        try:
            change = duty_change_record(department=department, by=request.user, **data)
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from None
        return Response(DutyChangeSerializer(change).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: DutyChangeSerializer})
    @action(detail=True, methods=["post"], permission_classes=[ChangeWithPostPermission])
    def cancel(self, request, pk=None):
        """Take back a change recorded by mistake (the row stays, with who cancelled it and when)."""
        change = duty_change_cancel(change=self.get_object(), by=request.user)
        return Response(DutyChangeSerializer(change).data)
