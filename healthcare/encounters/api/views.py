"""Departments, encounters (read, batch upsert) and the hourly workload series."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.response import Response

from healthcare.encounters import services
from healthcare.encounters.api.filters import DepartmentFilterSet, EncounterFilterSet, WorkloadHourFilterSet
from healthcare.encounters.api.permissions import EncounterUpsertPermission, ModelPermissions
from healthcare.encounters.api.serializers import (
    DepartmentCreateSerializer,
    DepartmentSerializer,
    DepartmentUpdateSerializer,
    EncounterBatchSerializer,
    EncounterSerializer,
    IngestSummarySerializer,
    WorkloadHourSerializer,
)
from healthcare.encounters.ingest.records import EncounterRecord
from healthcare.encounters.models import Encounter, WorkloadHour
from healthcare.encounters.selectors import departments_visible_to


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


def _validation_error(exc: DjangoValidationError) -> ValidationError:
    return ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)


class DepartmentViewSet(viewsets.ModelViewSet):
    """Departments you may see; admins create and change them and their rules."""

    lookup_field = "code"
    permission_classes = [ModelPermissions]
    filterset_class = DepartmentFilterSet

    def get_queryset(self):
        return departments_visible_to(self.request.user).order_by("code")

    def get_serializer_class(self):
        if self.action == "create":
            return DepartmentCreateSerializer
        if self.action in ("update", "partial_update"):
            return DepartmentUpdateSerializer
        return DepartmentSerializer

    def perform_create(self, serializer):
        try:
            serializer.instance = services.department_create(**serializer.validated_data)
        except DjangoValidationError as exc:
            raise _validation_error(exc) from exc

    def perform_update(self, serializer):
        try:
            services.department_update(department=serializer.instance, **serializer.validated_data)
        except DjangoValidationError as exc:
            raise _validation_error(exc) from exc

    def perform_destroy(self, instance):
        try:
            instance.delete()
        except ProtectedError:
            raise Conflict("This department has encounters or arrival counts; it cannot be deleted.") from None


class EncounterViewSet(viewsets.ReadOnlyModelViewSet):
    """Encounters of your departments (patients appear only as pseudonyms, never in this API)."""

    serializer_class = EncounterSerializer
    permission_classes = [ModelPermissions]
    filterset_class = EncounterFilterSet

    def get_queryset(self):
        visible = departments_visible_to(self.request.user)
        return Encounter.objects.filter(department__in=visible).select_related("department").order_by("-start", "id")

    @extend_schema(request=EncounterBatchSerializer, responses={200: IngestSummarySerializer})
    @action(detail=False, methods=["post"], permission_classes=[EncounterUpsertPermission])
    def batch(self, request):
        """Create or update up to ENCOUNTER_BATCH_MAX encounters at once, all or nothing.

        (source, id) identifies an encounter: sending it again updates it (e.g. its end).
        """
        serializer = EncounterBatchSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        records = [
            EncounterRecord(
                source_id=item["id"],
                patient_id=item["patient"],
                department_code=item["department"],
                encounter_class=item["encounter_class"],
                status=item["status"],
                start=item["start"],
                end=item["end"],
                location=f"encounters[{index}]",
            )
            for index, item in enumerate(serializer.validated_data["encounters"])
        ]
        try:
            summary = services.encounters_ingest(
                records=records,
                source=serializer.validated_data["source"],
                visible_departments=departments_visible_to(request.user),
            )
        except services.IngestError as exc:
            raise ValidationError({"encounters": [str(error) for error in exc.errors]}) from exc
        return Response(IngestSummarySerializer(summary.as_dict()).data)


class WorkloadHourViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Hourly arrivals, discharges and census (UTC hours). An hour without a row had no patient."""

    serializer_class = WorkloadHourSerializer
    permission_classes = [ModelPermissions]
    filterset_class = WorkloadHourFilterSet

    def get_queryset(self):
        visible = departments_visible_to(self.request.user)
        return (
            WorkloadHour.objects.filter(department__in=visible)
            .select_related("department")
            .order_by("department__code", "hour")
        )
