"""FHIR ids, Encounter and OperationOutcome resources, and checks against the R4 models.

fhir.resources' default models are R5. Its R4B package has the R4 structure of every resource the
facade reads or writes (Encounter.class is one Coding, as in R4, not R5's list of CodeableConcepts),
so both what clients send and what the server answers are checked against fhir.resources.R4B.

Ids. An encounter stored from FHIR (source "fhir") keeps the id its client gave it. Every other
encounter (Synthea files, live events, HL7 ADT, batches) is read at the number of its row, the id
/api/v1/encounters/{id}/ shows too. A client-given id therefore needs a character besides digits:
ids of digits only belong to the server, as in HAPI FHIR's default client id strategy. A FHIR
import whose id is not a valid FHIR id is read at its number too.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from fhir.resources.R4B.encounter import Encounter as R4Encounter
from fhir.resources.R4B.fhirresourcemodel import FHIRResourceModel
from fhir.resources.R4B.operationoutcome import OperationOutcome as R4OperationOutcome
from pydantic import ValidationError

from healthcare.encounters.models import Encounter
from healthcare.hours import iso_utc

FHIR_VERSION = "4.0.1"
FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
ACT_CODE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
# Systems this server names: which source an encounter came from (its identifier), the class codes
# of that source, the departments, and the keyed pseudonym that is all it knows of a patient.
SOURCE_SYSTEM = "urn:hospital-workload:encounter-source:"
CLASS_SYSTEM = "urn:hospital-workload:encounter-class:"
DEPARTMENT_SYSTEM = "urn:hospital-workload:department"
PSEUDONYM_SYSTEM = "urn:hospital-workload:patient-pseudonym"
DATA_ABSENT_REASON = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"

# The stored pseudonym stays in the database, as in the rest of the API: the subject says how the
# patient is known and that the value is withheld ("masked"). Search by patient with the raw id.
SUBJECT = {
    "identifier": {
        "system": PSEUDONYM_SYSTEM,
        "_value": {"extension": [{"url": DATA_ABSENT_REASON, "valueCode": "masked"}]},
    },
    "display": "Pseudonymised patient",
}

# Rows whose FHIR id is their source id (is_client_id, as a query).
HAS_CLIENT_ID = Q(source="fhir", source_id__regex=r"^[A-Za-z0-9.-]{1,64}$") & ~Q(source_id__regex=r"^[0-9]+$")
LARGEST_ROW_NUMBER = 2**63 - 1
# An OperationOutcome lists at most this many issues (a body of thousands of bad elements has one more, saying so).
MAX_ISSUES = 100
# FHIR strings may hold any character but control characters other than tab, CR and LF.
NOT_FHIR_TEXT = re.compile(r"[^\S \r\n\t]")
CODE = re.compile(r"[^\s]+( [^\s]+)*")


@dataclass(frozen=True)
class Issue:
    """One OperationOutcome issue: an issue type code (http://hl7.org/fhir/issue-type), what is wrong,
    and where, as FHIRPath (e.g. Encounter.period.start; None for the request as a whole)."""

    code: str
    diagnostics: str
    expression: str | None = None
    severity: str = "error"

    def as_fhir(self) -> dict:
        issue = {"severity": self.severity, "code": self.code, "diagnostics": fhir_text(self.diagnostics)}
        if self.expression:
            issue["expression"] = [fhir_text(self.expression)]
        return issue


class FhirProblem(Exception):
    """The request cannot be served as sent: answered with an OperationOutcome of its issues."""

    def __init__(self, issues: list[Issue], status: int = 400):
        self.issues = issues
        self.status = status
        super().__init__("; ".join(issue.diagnostics for issue in issues))


def fhir_text(text: str) -> str:
    """text with the control characters a FHIR string may not hold replaced by U+FFFD."""
    return NOT_FHIR_TEXT.sub("\ufffd", text) or "\ufffd"


def validated(model: type[FHIRResourceModel], data: dict) -> dict:
    """data checked against the R4 model, as the model writes it: what is answered is what was checked.

    Raises pydantic.ValidationError when the server built an invalid resource (a bug, answered 500).
    """
    return model.model_validate(data).model_dump(mode="json", by_alias=True, exclude_none=True)


def operation_outcome(issues: Iterable[Issue]) -> dict:
    """An OperationOutcome listing the issues (at least one)."""
    issues = list(issues) or [Issue("exception", "The request failed.")]
    listed = issues[:MAX_ISSUES]
    if len(issues) > MAX_ISSUES:
        listed.append(Issue("too-costly", f"{len(issues) - MAX_ISSUES} more problems are not listed."))
    body = {"resourceType": "OperationOutcome", "issue": [issue.as_fhir() for issue in listed]}
    return validated(R4OperationOutcome, body)


def is_client_id(text: str) -> bool:
    """A valid FHIR id with a character besides digits: one a client may give an encounter."""
    return FHIR_ID.fullmatch(text) is not None and not text.isdigit()


def fhir_id(encounter: Encounter) -> str:
    """The encounter's FHIR id: its source id if it came from FHIR with a client id, else its row number."""
    if encounter.source == "fhir" and is_client_id(encounter.source_id):
        return encounter.source_id
    return str(encounter.pk)


def encounters_with_fhir_ids(rows: QuerySet, ids: Iterable[str]) -> QuerySet:
    """The rows whose FHIR id (fhir_id) is one of ids."""
    ids = list(ids)
    client_ids = [i for i in ids if is_client_id(i)]
    numbers = [int(i) for i in ids if i.isascii() and i.isdigit() and int(i) <= LARGEST_ROW_NUMBER]
    return rows.filter(Q(source="fhir", source_id__in=client_ids) | (Q(pk__in=numbers) & ~HAS_CLIENT_ID))


def location_id(department_code: str) -> str:
    """The FHIR id of a department's Location: its code, with '.' for '_' (no FHIR id holds '_'; no code holds '.')."""
    return department_code.replace("_", ".")


def department_code_of(location: str) -> str:
    """The department code a Location id names (location_id reversed)."""
    return location.replace(".", "_")


def class_coding(encounter: Encounter) -> dict:
    """Encounter.class: the class code as its source gave it, in v3 ActCode for FHIR's, else in a
    system naming the source."""
    system = ACT_CODE_SYSTEM if encounter.source == "fhir" else CLASS_SYSTEM + encounter.source
    code = " ".join(encounter.encounter_class.split())
    if not CODE.fullmatch(code):
        return {"system": system, "extension": [{"url": DATA_ABSENT_REASON, "valueCode": "unknown"}]}
    return {"system": system, "code": code}


def encounter_resource(encounter: Encounter) -> dict:
    """The stored encounter as an R4 Encounter, checked against the R4 model.

    encounter.department must be loaded (select_related) for the Location's name.
    """
    department = encounter.department
    period = {"start": iso_utc(encounter.start)}
    if encounter.end is not None:
        period["end"] = iso_utc(encounter.end)
    resource = {
        "resourceType": "Encounter",
        "id": fhir_id(encounter),
        "meta": {"lastUpdated": iso_utc(encounter.updated_at)},
        "identifier": [{"system": SOURCE_SYSTEM + encounter.source, "value": fhir_text(encounter.source_id)}],
        "status": encounter.status,
        "class": class_coding(encounter),
        "subject": SUBJECT,
        "period": period,
        "location": [
            {
                "location": {
                    "reference": f"Location/{location_id(department.code)}",
                    "identifier": {"system": DEPARTMENT_SYSTEM, "value": department.code},
                    "display": fhir_text(department.name),
                }
            }
        ],
    }
    return validated(R4Encounter, resource)


def encounter_input_issues(resource: dict) -> list[Issue]:
    """Every way resource breaks the R4 Encounter model (types, formats, cardinality, unknown elements)."""
    try:
        R4Encounter.model_validate(resource)
    except ValidationError as exc:
        return [_issue_of(error) for error in exc.errors(include_url=False, include_input=False)]
    # fhir.resources fails these ways, not with a ValidationError, on a contained resource whose
    # resourceType names no R4 type or is not text, and on elements nested deeper than Python recurses.
    except KeyError:
        return [Issue("structure", "A contained resource's resourceType names no R4 resource type.")]
    except TypeError:
        return [Issue("structure", "A contained resource's resourceType is not text.")]
    except RecursionError:
        return [Issue("structure", "Elements are nested too deeply to be checked.")]
    return []


# pydantic error types -> FHIR issue types; any other is a value that breaks its type's rules ("value").
ISSUE_TYPES = {
    "missing": "required",
    "model_field_validation.missing": "required",
    "extra_forbidden": "structure",
    "model_type": "structure",
    "model_validation_format": "structure",
    "json_invalid": "structure",
    "list_type": "structure",
    "dict_type": "structure",
    "string_type": "structure",
    "bool_type": "structure",
    "int_type": "structure",
    "float_type": "structure",
    "decimal_type": "structure",
}
MESSAGES = {
    "extra_forbidden": "Not an element of an R4 Encounter.",
    "missing": "Required, and missing.",
    "model_field_validation.missing": "Required, and missing.",
    "json_invalid": "Expected a JSON object here.",
}
DATE_TIME_MESSAGE = (
    "Not a FHIR dateTime: YYYY, YYYY-MM, YYYY-MM-DD, or YYYY-MM-DDThh:mm:ss with a time zone (Z or +hh:mm)."
)
EXPECTED_TYPE = re.compile(r"instance of (\w+), but got type <class '(\w+)'>")
ELEMENT = re.compile(r"_?([A-Za-z][A-Za-z0-9]*)")


def _issue_of(error: dict) -> Issue:
    kind = error["type"]
    message = MESSAGES.get(kind) or error["msg"].removeprefix("Value error, ")
    if "DateTime value string" in message or "timezone aware" in message:
        message = DATE_TIME_MESSAGE
    elif expected := EXPECTED_TYPE.search(message):
        message = f"Expected a {expected[1]} (one JSON object), not a {expected[2]}."
    return Issue(ISSUE_TYPES.get(kind, "value"), message, _fhirpath(error["loc"]))


def _fhirpath(loc: tuple) -> str:
    """pydantic's location of an error -> FHIRPath: ("location", 0, "location", "reference") ->
    Encounter.location[0].location.reference. Parts naming pydantic's own layers are left out."""
    path = "Encounter"
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part == "resource_type":
            path += ".resourceType"
        elif part != "root" and (element := ELEMENT.fullmatch(part)):
            # _status holds status's extensions: the problem is with the element status.
            path += "." + element.group(1)
    return path
