"""Departments, encounters (read, batch upsert, live events, FHIR), and the hourly workload series."""

from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError
from django.utils.decorators import method_decorator
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, ParseError, ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

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
from healthcare.encounters.ingest.fhir import FHIR_STATUSES, parse_encounter_resource
from healthcare.encounters.ingest.mapping import load_mapping
from healthcare.encounters.ingest.records import EncounterRecord, RecordError
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


# What the endpoints read of an R4 Encounter (other elements are accepted and ignored). Whether
# class.code maps to one of your departments, and the period's order, are checked when it is read.
FHIR_ENCOUNTER = {
    "type": "object",
    "required": ["resourceType", "id", "status", "class", "subject", "period"],
    "properties": {
        "resourceType": {"type": "string", "enum": ["Encounter"]},
        "id": {"type": "string", "pattern": r"^[A-Za-z0-9\-.]{1,64}$"},
        "status": {"type": "string", "enum": sorted(FHIR_STATUSES)},
        "class": {
            "type": "object",
            "required": ["code"],
            "properties": {"system": {"type": "string"}, "code": {"type": "string", "pattern": r"\S"}},
        },
        "subject": {
            "type": "object",
            "required": ["reference"],
            "properties": {"reference": {"type": "string", "pattern": r"\S"}},
        },
        "period": {
            "type": "object",
            "required": ["start"],
            "properties": {
                "start": {"type": "string", "format": "date-time"},
                "end": {"type": "string", "format": "date-time"},
            },
        },
    },
}
OPERATION_OUTCOME = {
    "type": "object",
    "required": ["resourceType", "issue"],
    "properties": {
        "resourceType": {"type": "string", "enum": ["OperationOutcome"]},
        "issue": {"type": "array", "items": {"type": "object"}},
    },
}
FHIR_BODY = dict.fromkeys(("application/fhir+json", "application/json"), FHIR_ENCOUNTER)
FHIR_RESPONSES = {
    200: OpenApiResponse(FHIR_ENCOUNTER, description="Updated: the resource as stored."),
    201: OpenApiResponse(FHIR_ENCOUNTER, description="Created: the resource as stored."),
    400: OpenApiResponse(OPERATION_OUTCOME, description="Every problem found, as an OperationOutcome."),
}


class FhirJSONParser(JSONParser):
    media_type = "application/fhir+json"


def _operation_outcome(errors) -> dict:
    return {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error",
                "code": "invalid",
                "diagnostics": error.message,
                "expression": [f"Encounter.{error.field}"] if error.field else [],
            }
            for error in errors
        ],
    }


class FhirEncounterView(APIView):
    """FHIR R4 Encounter create (POST) and update (PUT /{id}); stored like FHIR file imports (source "fhir").

    A plain APIView: it has no serializer and no object to look up, which OPTIONS would ask a generic view for.
    """

    queryset = Encounter.objects.none()
    permission_classes = [EncounterUpsertPermission]
    parser_classes = [JSONParser, FhirJSONParser]

    def _handle(self, request, resource_id=None):
        return self._upsert(request, resource_id)

    def handle_exception(self, exc):
        """A body that is not JSON is answered as FHIR answers every invalid resource: an OperationOutcome."""
        if isinstance(exc, ParseError):
            return Response(_operation_outcome([RecordError("Encounter", "", str(exc.detail))]), status=400)
        return super().handle_exception(exc)

    def _upsert(self, request, resource_id):

        resource = request.data
        if resource_id is not None and isinstance(resource, dict) and resource.get("id", resource_id) != resource_id:
            return Response(_operation_outcome([RecordError("Encounter", "id", "differs from the URL")]), status=400)
        if resource_id is not None and isinstance(resource, dict):
            resource = {**resource, "id": resource_id}
        parsed = parse_encounter_resource(
            resource,
            mapping=load_mapping(settings.INGEST_CLASS_MAPPING_FILE),
            default_tz=ZoneInfo(settings.HOSPITAL_TIME_ZONE),
        )
        if parsed.out_of_scope:
            (code,) = parsed.out_of_scope
            parsed.errors.append(RecordError("Encounter", "class.code", f"'{code}' maps to no department"))
        if parsed.errors:
            return Response(_operation_outcome(parsed.errors), status=status.HTTP_400_BAD_REQUEST)
        try:
            summary = services.encounters_ingest(
                records=parsed.records, source="fhir", visible_departments=departments_visible_to(request.user)
            )
        except services.IngestError as exc:
            return Response(_operation_outcome(exc.errors), status=status.HTTP_400_BAD_REQUEST)
        created = summary.created > 0
        return Response(resource, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class FhirEncounterCreateView(FhirEncounterView):
    """POST /fhir/Encounter: create (or update) an Encounter by the id in its body."""

    @extend_schema(request=FHIR_BODY, responses=FHIR_RESPONSES, operation_id="fhir_encounter_create")
    @method_decorator(write_limited)
    def post(self, request):
        return self._handle(request)


class FhirEncounterUpdateView(FhirEncounterView):
    """PUT /fhir/Encounter/{id}: update (or create) the Encounter with this id."""

    @extend_schema(request=FHIR_BODY, responses=FHIR_RESPONSES, operation_id="fhir_encounter_update")
    @method_decorator(write_limited)
    def put(self, request, resource_id: str):
        return self._handle(request, resource_id)
