"""The FHIR R4 facade: /fhir/metadata, /fhir/Encounter (search, create), /fhir/Encounter/{id} (read, update).

Thin views over healthcare.encounters.fhir_facade (resources, search, the CapabilityStatement) and
services.fhir (writes). Every answer, errors included, is application/fhir+json; every error is an
OperationOutcome.
"""

from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.negotiation import BaseContentNegotiation, DefaultContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from healthcare.accounts.ratelimits import write_limited
from healthcare.encounters.api.permissions import EncounterUpsertPermission
from healthcare.encounters.fhir_facade.capability import capability_statement
from healthcare.encounters.fhir_facade.resources import (
    FHIR_ID,
    FhirProblem,
    Issue,
    encounter_resource,
    encounters_with_fhir_ids,
    fhir_id,
    operation_outcome,
)
from healthcare.encounters.fhir_facade.search import (
    DATE_VALUE,
    MAX_COUNT,
    PATTERNS,
    encounter_search_bundle,
    encounter_search_parse,
)
from healthcare.encounters.ingest.fhir import FHIR_STATUSES
from healthcare.encounters.models import Encounter
from healthcare.encounters.selectors import departments_visible_to
from healthcare.encounters.services.fhir import encounter_fhir_store
from healthcare.parsers import DepthSafeJSONParser

FHIR_JSON = "application/fhir+json"

# What the endpoints read of an R4 Encounter. The R4 model checks every element sent (unknown
# ones are refused); whether class.code maps to one of your departments is checked when it is read.
FHIR_DATE_TIME = (
    r"^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])"
    r"(T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00)))?)?)?$"
)
FHIR_ENCOUNTER_IN = {
    "type": "object",
    "required": ["resourceType", "status", "class", "subject", "period"],
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
                "start": {"type": "string", "pattern": FHIR_DATE_TIME},
                "end": {"type": "string", "pattern": FHIR_DATE_TIME},
            },
        },
    },
}
# What the endpoints answer: an R4 Encounter (see docs/integration.md for each element).
FHIR_ENCOUNTER_OUT = {
    "type": "object",
    "required": ["resourceType", "id", "meta", "status", "class", "subject", "period", "location"],
    "properties": {
        "resourceType": {"type": "string", "enum": ["Encounter"]},
        "id": {"type": "string"},
        "meta": {"type": "object"},
        "identifier": {"type": "array", "items": {"type": "object"}},
        "status": {"type": "string"},
        "class": {"type": "object"},
        "subject": {"type": "object"},
        "period": {"type": "object"},
        "location": {"type": "array", "items": {"type": "object"}},
    },
}
FHIR_RESOURCE = {
    "type": "object",
    "required": ["resourceType"],
    "properties": {"resourceType": {"type": "string"}},
}
OPERATION_OUTCOME = {
    "type": "object",
    "required": ["resourceType", "issue"],
    "properties": {
        "resourceType": {"type": "string", "enum": ["OperationOutcome"]},
        "issue": {"type": "array", "items": {"type": "object"}},
    },
}
FHIR_BODY = dict.fromkeys((FHIR_JSON, "application/json"), FHIR_ENCOUNTER_IN)
ERROR_DESCRIPTIONS = {
    400: "Every problem found, as an OperationOutcome; nothing was stored.",
    401: "No credentials, or an expired or invalid token.",
    403: "Your role may not do this.",
    404: "No such Encounter, or one of a department you are not a member of.",
    413: "The body is larger than the server accepts.",
    415: "The body is neither application/fhir+json nor application/json.",
    429: "Over the write rate limit; Retry-After says when to try again.",
}


def fhir_errors(*codes: int) -> dict:
    """OperationOutcome responses for these statuses (the schema's defaults are plain JSON)."""
    return {code: OpenApiResponse(OPERATION_OUTCOME, description=ERROR_DESCRIPTIONS[code]) for code in codes}


class FhirJSONParser(DepthSafeJSONParser):
    media_type = FHIR_JSON


class FhirJSONRenderer(JSONRenderer):
    media_type = FHIR_JSON
    format = "fhir"


class FhirContentNegotiation(BaseContentNegotiation):
    """Bodies are read as JSON of either media type; every answer is application/fhir+json, whatever
    the Accept header asks for (the facade speaks JSON only, and says so in its CapabilityStatement)."""

    def select_parser(self, request, parsers):
        return DefaultContentNegotiation().select_parser(request, parsers)

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class FhirPermission(EncounterUpsertPermission):
    """Reads: view encounters. Writes: add and change them, as a PUT may create the encounter."""

    perms_map = {**EncounterUpsertPermission.perms_map, "PUT": EncounterUpsertPermission.perms_map["POST"]}


# DRF's errors -> FHIR issue types (its only 400 here: a body that is not JSON).
ISSUE_TYPES = {
    400: "structure",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    413: "too-costly",
    415: "not-supported",
    429: "throttled",
    503: "transient",
}


class FhirView(APIView):
    """What every FHIR endpoint shares: media types, permissions, and errors as OperationOutcomes."""

    queryset = Encounter.objects.none()  # the model of the permissions; rows: encounters()
    permission_classes = [FhirPermission]
    parser_classes = [FhirJSONParser, DepthSafeJSONParser]
    renderer_classes = [FhirJSONRenderer]
    content_negotiation_class = FhirContentNegotiation

    def initial(self, request, *args, **kwargs):
        """A method none of these endpoints has is a 405 for everyone, before sign-in and permissions."""
        if request.method.lower() not in self.http_method_names or not hasattr(self, request.method.lower()):
            raise exceptions.MethodNotAllowed(request.method)
        super().initial(request, *args, **kwargs)

    def handle_exception(self, exc):
        """FhirProblem: its issues. DRF's own errors (401, 403, 415, 429...) keep their status and
        headers, with their message as the OperationOutcome's one issue."""
        if isinstance(exc, FhirProblem):
            return Response(operation_outcome(exc.issues), status=exc.status)
        response = super().handle_exception(exc)
        code = ISSUE_TYPES.get(response.status_code, "exception")
        response.data = operation_outcome(Issue(code, message) for message in _messages(response.data))
        return response

    def encounters(self):
        """The encounters the caller may see, with their departments."""
        visible = departments_visible_to(self.request.user)
        return Encounter.objects.filter(department__in=visible).select_related("department")

    def base_url(self) -> str:
        """The absolute URL of the FHIR base (/api/v1/fhir), as this request reached the server."""
        return self.request.build_absolute_uri(reverse("encounters-api:fhir", kwargs={"rest": ""})).rstrip("/")

    def type_url(self) -> str:
        return f"{self.base_url()}/Encounter"

    def stored(self, resource_id: str | None) -> Response:
        """Store the body (services.fhir): 201 with Location when it created the encounter, else 200."""
        written = encounter_fhir_store(
            resource=self.request.data,
            resource_id=resource_id,
            visible_departments=departments_visible_to(self.request.user),
        )
        resource = encounter_resource(written.encounter)
        if not written.created:
            return Response(resource)
        location = f"{self.type_url()}/{fhir_id(written.encounter)}"
        return Response(resource, status=status.HTTP_201_CREATED, headers={"Location": location})


def _messages(data) -> list[str]:
    """The messages of a DRF error body ({"detail": ...} or messages by field), flattened."""
    if isinstance(data, dict):
        return [message for value in data.values() for message in _messages(value)]
    if isinstance(data, list):
        return [message for value in data for message in _messages(value)]
    return [str(data)]


SEARCH_PARAMETERS = [
    OpenApiParameter(
        "patient",
        {"type": "string", "pattern": PATTERNS["patient"]},
        description="The patient's id as your system knows it (abc or Patient/abc); commas separate alternatives.",
    ),
    OpenApiParameter(
        "status",
        {"type": "string", "pattern": PATTERNS["status"]},
        description="Encounter statuses; commas separate alternatives.",
    ),
    OpenApiParameter(
        "class",
        {"type": "string", "pattern": PATTERNS["class"]},
        description="Class code, or system|code (v3 ActCode for encounters written through FHIR).",
    ),
    OpenApiParameter(
        "date",
        {"type": "array", "items": {"type": "string", "pattern": DATE_VALUE}},
        style="form",
        explode=True,
        description="On the period, with a prefix (eq, ne, gt, lt, ge, le, sa, eb); repeat it for a range.",
    ),
    OpenApiParameter(
        "location",
        {"type": "string", "pattern": PATTERNS["location"]},
        description="Location/ED or ED: the department's code ('.' for '_').",
    ),
    OpenApiParameter(
        "_id", {"type": "string", "pattern": PATTERNS["_id"]}, description="Encounter ids, separated by commas."
    ),
    OpenApiParameter(
        "_count",
        {"type": "integer", "minimum": 0},
        description=f"Entries a page (default 20; more than {MAX_COUNT} is read as {MAX_COUNT}; 0: the total only).",
    ),
    OpenApiParameter(
        "_offset", {"type": "integer", "minimum": 0}, description="Where the page starts; follow the Bundle's links."
    ),
    OpenApiParameter(
        "_format",
        {"type": "string", "enum": ["json", "application/json", "application/fhir+json"]},
        description="Accepted for FHIR clients that send it; the answer is JSON either way.",
    ),
]


class FhirMetadataView(FhirView):
    """GET /fhir/metadata: the CapabilityStatement.

    Public, as FHIR servers' metadata usually is: clients read it before they have a token, and it
    describes only the server, never its data.
    """

    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="fhir_metadata",
        responses={200: OpenApiResponse(FHIR_RESOURCE, description="The CapabilityStatement."), **fhir_errors(401)},
    )
    def get(self, request):
        return Response(capability_statement(base_url=self.base_url()))


class FhirEncounterTypeView(FhirView):
    """GET /fhir/Encounter: search (a searchset Bundle); POST /fhir/Encounter: create."""

    @extend_schema(
        operation_id="fhir_encounter_search",
        parameters=SEARCH_PARAMETERS,
        responses={
            200: OpenApiResponse(FHIR_RESOURCE, description="A searchset Bundle: total, links, one page of entries."),
            **fhir_errors(400, 401, 403, 404),
        },
    )
    def get(self, request):
        lenient = "handling=lenient" in request.headers.get("Prefer", "").replace(" ", "")
        params = [(name, value) for name, values in request.query_params.lists() for value in values]
        search = encounter_search_parse(params, lenient=lenient)
        return Response(encounter_search_bundle(self.encounters(), search, type_url=self.type_url()))

    @extend_schema(
        operation_id="fhir_encounter_create",
        request=FHIR_BODY,
        responses={
            200: OpenApiResponse(FHIR_ENCOUNTER_OUT, description="Its id was known: updated, as stored."),
            201: OpenApiResponse(FHIR_ENCOUNTER_OUT, description="Created, as stored; Location names it."),
            **fhir_errors(400, 401, 403, 404, 413, 415, 429),
        },
    )
    @method_decorator(write_limited)
    def post(self, request):
        """Create an Encounter. An id in the body is kept: sent again, it updates that encounter."""
        return self.stored(resource_id=None)


class FhirEncounterInstanceView(FhirView):
    """GET /fhir/Encounter/{id}: read; PUT /fhir/Encounter/{id}: update (or create with this id)."""

    @extend_schema(
        operation_id="fhir_encounter_read",
        responses={
            200: OpenApiResponse(FHIR_ENCOUNTER_OUT, description="The Encounter."),
            **fhir_errors(401, 403, 404),
        },
    )
    def get(self, request, resource_id: str):
        encounter = encounters_with_fhir_ids(self.encounters(), [resource_id]).first()
        if encounter is None:
            why = f"Encounter/{resource_id} is not known, or not in one of your departments."
            raise FhirProblem([Issue("not-found", why)], status=status.HTTP_404_NOT_FOUND)
        return Response(encounter_resource(encounter))

    @extend_schema(
        operation_id="fhir_encounter_update",
        request=FHIR_BODY,
        responses={
            200: OpenApiResponse(FHIR_ENCOUNTER_OUT, description="Updated, as stored."),
            201: OpenApiResponse(FHIR_ENCOUNTER_OUT, description="Created with this id, as stored; Location names it."),
            **fhir_errors(400, 401, 403, 404, 413, 415, 429),
        },
    )
    @method_decorator(write_limited)
    def put(self, request, resource_id: str):
        return self.stored(resource_id=resource_id)


@csrf_exempt
def fhir_not_found(request: HttpRequest, rest: str) -> JsonResponse:
    """Any other path under /fhir/ (another resource type, an id FHIR does not allow): a FHIR 404."""
    why = f"No FHIR endpoint at {request.path}: this server has /fhir/metadata and /fhir/Encounter."
    if rest.startswith("Encounter/") and not FHIR_ID.fullmatch(rest.removeprefix("Encounter/").rstrip("/")):
        why = "Not a FHIR id: an id is 1-64 of A-Z a-z 0-9 - and '.'."
    return JsonResponse(
        operation_outcome([Issue("not-found", why)]), status=status.HTTP_404_NOT_FOUND, content_type=FHIR_JSON
    )
