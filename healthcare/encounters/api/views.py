"""Departments, encounters (read, batch upsert, live events), and the hourly workload series.

The FHIR R4 endpoints are in api/fhir.py."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError
from django.utils.decorators import method_decorator
from drf_spectacular.utils import extend_schema
from rest_framework import generics, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.response import Response

from healthcare.accounts.ratelimits import write_limited
from healthcare.encounters import services
from healthcare.encounters.api.filters import DepartmentFilterSet, EncounterFilterSet, WorkloadHourFilterSet
from healthcare.encounters.api.pagination import EncounterPagination
from healthcare.encounters.api.permissions import EncounterUpsertPermission, ModelPermissions
from healthcare.encounters.api.serializers import (
    DepartmentCreateSerializer,
    DepartmentSerializer,
    DepartmentUpdateSerializer,
    EncounterBatchSerializer,
    EncounterSerializer,
    EventBatchSerializer,
    EventSummarySerializer,
    IngestSummarySerializer,
    WorkloadHourSerializer,
)
from healthcare.encounters.ingest.records import EncounterRecord
from healthcare.encounters.models import Department, Encounter, WorkloadHour
from healthcare.encounters.selectors import departments_visible_to, with_department_code


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


def _validation_error(exc: DjangoValidationError) -> ValidationError:
    return ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)


class DepartmentViewSet(viewsets.ModelViewSet):
    """Departments you may see; admins create and change them and their rules."""

    lookup_field = "code"
    error_statuses = {"POST": [409], "DELETE": [409]}  # a code taken; a department with stored data
    queryset = Department.objects.none()  # the model of the permissions; rows: get_queryset()
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

    def create(self, request, *args, **kwargs):
        """201 with the department; 409 when its code is taken (the request is well formed)."""
        serializer = self.get_serializer(data=request.data)
        if not serializer.is_valid():
            if any(getattr(error, "code", None) == "unique" for error in serializer.errors.get("code", [])):
                raise Conflict(f"A department with the code '{request.data.get('code')}' exists.")
            raise ValidationError(serializer.errors)
        self.perform_create(serializer)
        return Response(serializer.data, status=status.HTTP_201_CREATED)

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
    queryset = Encounter.objects.none()  # the model of the permissions; rows: get_queryset()
    permission_classes = [ModelPermissions]
    filterset_class = EncounterFilterSet
    pagination_class = EncounterPagination

    def get_queryset(self):
        visible = departments_visible_to(self.request.user)
        return with_department_code(Encounter.objects.filter(department__in=visible)).order_by("-start", "id")

    @extend_schema(request=EncounterBatchSerializer, responses={200: IngestSummarySerializer})
    @action(detail=False, methods=["post"], permission_classes=[EncounterUpsertPermission])
    @method_decorator(write_limited)
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
    queryset = WorkloadHour.objects.none()  # the model of the permissions; rows: get_queryset()
    permission_classes = [ModelPermissions]
    filterset_class = WorkloadHourFilterSet

    def get_queryset(self):
        visible = departments_visible_to(self.request.user)
        return with_department_code(WorkloadHour.objects.filter(department__in=visible)).order_by(
            "department__code", "hour"
        )


class EventsView(generics.GenericAPIView):
    """Live admits, discharges and transfers; the hourly workload and the dashboards follow at once."""

    queryset = Encounter.objects.none()
    permission_classes = [EncounterUpsertPermission]
    serializer_class = EventBatchSerializer

    @extend_schema(request=EventBatchSerializer, responses={200: EventSummarySerializer})
    @method_decorator(write_limited)
    def post(self, request):
        """One event, or {"source", "events": [...]}; all or nothing; a resent event id is skipped."""
        data = request.data
        if isinstance(data, dict) and "events" not in data:
            event = {key: value for key, value in data.items() if key != "source"}
            data = {"source": data.get("source"), "events": [event]}
        serializer = self.get_serializer(data=data)
        serializer.is_valid(raise_exception=True)
        events = [
            services.EventRecord(
                event_id=item["event_id"],
                kind=item["kind"],
                encounter_id=item["encounter_id"],
                occurred_at=item["occurred_at"],
                location=f"events[{index}]",
                department_code=item["department"],
                patient_id=item["patient"],
                encounter_class=item["encounter_class"],
            )
            for index, item in enumerate(serializer.validated_data["events"])
        ]
        try:
            summary = services.events_apply(
                source=serializer.validated_data["source"],
                events=events,
                visible_departments=departments_visible_to(request.user),
            )
        except services.IngestError as exc:
            raise ValidationError({"events": [str(error) for error in exc.errors]}) from exc
        body = {
            "applied": summary.applied,
            "duplicates": summary.duplicates,
            "workload_hours_written": summary.ingest.workload.written,
        }
        return Response(EventSummarySerializer(body).data)
