"""One FHIR R4 Encounter written through the API (POST and PUT /api/v1/fhir/Encounter): checked, then
stored like every ingest, under source "fhir"."""

import uuid
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import QuerySet

from healthcare.encounters.fhir_facade.resources import (
    FHIR_ID,
    PSEUDONYM_SYSTEM,
    FhirProblem,
    Issue,
    encounter_input_issues,
)
from healthcare.encounters.ingest.fhir import parse_encounter_resource
from healthcare.encounters.ingest.mapping import load_mapping
from healthcare.encounters.ingest.records import RecordError
from healthcare.encounters.models import Encounter
from healthcare.encounters.services.ingest import IngestError, encounters_ingest

# Where in the resource each field the ingest service names comes from (its department: the class code).
INGEST_FIELDS = {"department": "class.code", "start": "period.start", "end": "period.end", "id": "id"}


@dataclass(frozen=True)
class FhirWrite:
    """The stored encounter (its department loaded) and whether this write created it."""

    encounter: Encounter
    created: bool


def encounter_fhir_store(*, resource, resource_id: str | None, visible_departments: QuerySet) -> FhirWrite:
    """Create or update the encounter of an R4 Encounter resource (source "fhir", keyed by its id).

    resource_id: the id in the URL of an update; None for a create, which keeps the body's id
    (sending it again updates it) or, without one, gives the resource a new one.
    The resource is checked against the R4 Encounter model, then for what the product needs: a
    status, a subject, a start, and a class code that maps to one of visible_departments.
    Raises FhirProblem listing every problem found; nothing is stored then.
    """
    if not isinstance(resource, dict):
        raise FhirProblem([Issue("structure", "The body must be a JSON object: an Encounter resource.")])
    kind = resource.get("resourceType")
    if kind != "Encounter":
        why = f"resourceType is {kind!r}; this endpoint takes an Encounter."
        raise FhirProblem([Issue("invalid", why, "Encounter.resourceType")])

    issues: list[Issue] = []
    body_id = resource.get("id")
    if resource_id is not None and body_id is not None and body_id != resource_id:
        issues.append(Issue("invalid", "The id differs from the id in the URL.", "Encounter.id"))
    if resource_id is None and body_id is None:
        resource_id = str(uuid.uuid4())
    resource = {**resource, "id": resource_id if resource_id is not None else body_id}
    if isinstance(resource["id"], str) and FHIR_ID.fullmatch(resource["id"]) and resource["id"].isdigit():
        issues.append(
            Issue(
                "business-rule",
                "An id of digits only is the server's (encounters from other sources); give an id with a letter, "
                "'-' or '.', or none and the server assigns one.",
                "Encounter.id",
            )
        )

    model_issues = encounter_input_issues(resource)
    issues += model_issues
    mapping = load_mapping(settings.INGEST_CLASS_MAPPING_FILE)
    parsed = parse_encounter_resource(
        resource,
        mapping=mapping,
        default_tz=ZoneInfo(settings.HOSPITAL_TIME_ZONE),
        every_problem=True,
        patient_key=_kept_patient_key(resource, visible_departments),
    )
    covered = [issue.expression for issue in model_issues if issue.expression]
    for error in parsed.errors:
        issue = _parse_issue(error)
        if not any(_overlaps(issue.expression, expression) for expression in covered):
            issues.append(issue)
    code = resource["class"].get("code") if isinstance(resource.get("class"), dict) else None
    department_code = mapping.department_for("fhir", code) if isinstance(code, str) else None
    if department_code and not visible_departments.filter(code=department_code).exists():
        why = f"class.code '{code}' maps to the department {department_code}, which is not one of yours."
        issues.append(Issue("business-rule", why, "Encounter.class.code"))
    if issues:
        raise FhirProblem(issues)

    (record,) = parsed.records
    try:
        summary = encounters_ingest(records=[record], source="fhir", visible_departments=visible_departments)
    except IngestError as exc:
        raise FhirProblem([_ingest_issue(error) for error in exc.errors]) from None
    encounter = Encounter.objects.select_related("department").get(source="fhir", source_id=record.source_id)
    return FhirWrite(encounter=encounter, created=summary.created > 0)


def _kept_patient_key(resource: dict, visible_departments: QuerySet) -> str:
    """The stored pseudonym, when the subject is the one this server answers (the pseudonym's system,
    no reference): a client that reads an encounter and sends it back changed keeps its patient."""
    subject = resource.get("subject")
    if not isinstance(subject, dict) or "reference" in subject or not isinstance(resource.get("id"), str):
        return ""
    identifier = subject.get("identifier")
    if not isinstance(identifier, dict) or identifier.get("system") != PSEUDONYM_SYSTEM:
        return ""
    rows = Encounter.objects.filter(source="fhir", source_id=resource["id"], department__in=visible_departments)
    return rows.values_list("patient_key", flat=True).first() or ""


def _parse_issue(error: RecordError) -> Issue:
    code = "required" if error.message == "is missing" else "business-rule" if error.field == "class.code" else "value"
    return Issue(code, f"{error.field} {error.message}", f"Encounter.{error.field}")


def _ingest_issue(error: RecordError) -> Issue:
    field = INGEST_FIELDS.get(error.field, error.field)
    return Issue("business-rule", f"{field} {error.message}", f"Encounter.{field}")


def _overlaps(path: str, other: str) -> bool:
    """Whether two FHIRPaths name the same element or one lies inside the other."""
    shorter, longer = sorted((path, other), key=len)
    return longer == shorter or longer.startswith((shorter + ".", shorter + "["))
