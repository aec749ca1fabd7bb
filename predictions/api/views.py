"""Forecast requests and jobs, model versions, and accuracy."""

from datetime import timedelta

from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.decorators import method_decorator
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from healthcare.accounts.ratelimits import job_limited
from healthcare.encounters.api.permissions import ModelPermissions
from healthcare.encounters.selectors import departments_visible_to
from healthcare.schema import NON_BLANK_TEXT
from predictions import services
from predictions.api.filters import ForecastFilterSet, ForecastModelFilterSet
from predictions.api.permissions import ActivatePermission
from predictions.api.serializers import (
    DepartmentPerformanceSerializer,
    ForecastModelSerializer,
    ForecastRequestSerializer,
    ForecastSerializer,
)
from predictions.models import Forecast, ForecastModel
from predictions.selectors import department_performance, forecast_latest


class ForecastRequestView(generics.GenericAPIView):
    """Request a forecast of a department's next hours; it is computed off the request path."""

    queryset = Forecast.objects.none()
    permission_classes = [ModelPermissions]
    serializer_class = ForecastRequestSerializer

    @extend_schema(request=ForecastRequestSerializer, responses={202: ForecastSerializer})
    @method_decorator(job_limited)
    def post(self, request):
        """202 with the job; poll its url (GET /predict/jobs/{id}) until succeeded or failed."""
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        code = serializer.validated_data["department"]
        department = departments_visible_to(request.user).filter(code=code).first()
        if department is None:
            raise NotFound(f"No department '{code}' among yours.")
        forecast = services.forecast_request(
            department=department,
            horizon_hours=serializer.validated_data["horizon_hours"],
            confidence_level=serializer.validated_data["confidence_level"],
            requested_by=request.user,
        )
        forecast.refresh_from_db()  # eager Celery (embedded default) may have finished it already
        body = ForecastSerializer(forecast, context={"request": request}).data
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["url"]})


def _department_code(request) -> str:
    """The department code in the query ("" when left out), as codes are stored: trimmed, in capitals.

    A NUL is refused by name: PostgreSQL cannot compare text that holds one.
    """
    code = request.query_params.get("department", "").strip().upper()
    if "\x00" in code:
        raise ValidationError({"department": ["Null characters are not allowed."]})
    return code


class ForecastViewSet(viewsets.ReadOnlyModelViewSet):
    """Forecast jobs of your departments: status, and the hourly points once succeeded."""

    serializer_class = ForecastSerializer
    permission_classes = [ModelPermissions]
    filterset_class = ForecastFilterSet

    def get_queryset(self):
        visible = departments_visible_to(self.request.user)
        return (
            Forecast.objects.filter(department__in=visible)
            .select_related("department", "model")
            .order_by("-issued_at", "-created_at")
        )

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "department",
                {"type": "string", "pattern": NON_BLANK_TEXT},
                required=True,
                description="Department code",
            )
        ],
        responses={200: ForecastSerializer},
    )
    @action(detail=False, methods=["get"])
    def latest(self, request):
        """The department's latest successful forecast."""
        code = _department_code(request)
        if not code:
            raise ValidationError({"department": ["this query parameter is required"]})
        department = get_object_or_404(departments_visible_to(request.user), code=code)
        forecast = forecast_latest(department)
        if forecast is None:
            raise NotFound(f"{code} has no successful forecast yet")
        return Response(self.get_serializer(forecast).data)


class ForecastModelViewSet(viewsets.ReadOnlyModelViewSet):
    """Forecast model versions of your departments, with their validation backtests."""

    serializer_class = ForecastModelSerializer
    permission_classes = [ModelPermissions]
    filterset_class = ForecastModelFilterSet

    def get_queryset(self):
        visible = departments_visible_to(self.request.user)
        return (
            ForecastModel.objects.filter(department__in=visible)
            .select_related("department")
            .defer("artifact")
            .order_by("department__code", "-version")
        )

    @extend_schema(request=None, responses={200: ForecastModelSerializer})
    @action(detail=True, methods=["post"], permission_classes=[ActivatePermission])
    def activate(self, request, pk=None):
        """Make this version its department's active one (admins)."""
        model = services.forecast_model_activate(model=self.get_object())
        return Response(self.get_serializer(model).data)


class PerformanceView(generics.GenericAPIView):
    """Per department: the active model's validation backtest, and live accuracy by horizon band."""

    queryset = ForecastModel.objects.none()
    permission_classes = [ModelPermissions]
    serializer_class = DepartmentPerformanceSerializer
    pagination_class = None

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "department",
                {"type": "string", "pattern": NON_BLANK_TEXT},
                description="Department code (default: all of yours)",
            ),
            OpenApiParameter(
                "days",
                {"type": "integer", "minimum": 1, "maximum": 90},
                description="Live accuracy over forecasts issued in the last N days (1-90, default 30)",
            ),
        ],
        responses={200: DepartmentPerformanceSerializer(many=True)},
    )
    def get(self, request):
        departments = departments_visible_to(request.user).order_by("code")
        given = request.query_params.get("department")
        code = _department_code(request)
        if given is not None and not code:
            raise ValidationError({"department": ["a department code, or leave the parameter out"]})
        if code:
            departments = departments.filter(code=code)
            if not departments.exists():
                raise NotFound(f"unknown department '{code}'")
        try:
            days = int(request.query_params.get("days", 30))
        except ValueError:
            raise ValidationError({"days": ["a whole number of days, 1-90"]}) from None
        if not 1 <= days <= 90:
            raise ValidationError({"days": ["a whole number of days, 1-90"]})
        since = timezone.now() - timedelta(days=days)
        rows = department_performance(departments, since=since)
        return Response(self.get_serializer(rows, many=True).data)
