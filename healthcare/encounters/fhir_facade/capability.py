"""The CapabilityStatement (GET /fhir/metadata): what this FHIR server does, for clients to read first."""

from importlib.metadata import PackageNotFoundError, version

from django.conf import settings
from fhir.resources.R4B.capabilitystatement import CapabilityStatement

from healthcare.encounters.fhir_facade.resources import FHIR_VERSION, validated

# The day the statement last changed; change it with the statement.
STATEMENT_DATE = "2026-12-07"
SOFTWARE_NAME = "Hospital Workload"
SEARCH_PARAMETERS = [
    {
        "name": "patient",
        "definition": "http://hl7.org/fhir/SearchParameter/clinical-patient",
        "type": "reference",
        "documentation": "The patient's id as the sending system knows it (abc or Patient/abc); it is "
        "pseudonymised as on ingest and matched on the stored pseudonym. Commas separate alternatives.",
    },
    {
        "name": "status",
        "definition": "http://hl7.org/fhir/SearchParameter/Encounter-status",
        "type": "token",
        "documentation": "Encounter statuses; commas separate alternatives.",
    },
    {
        "name": "class",
        "definition": "http://hl7.org/fhir/SearchParameter/Encounter-class",
        "type": "token",
        "documentation": "code or system|code: v3 ActCode for encounters from FHIR, "
        "urn:hospital-workload:encounter-class:<source> for other sources.",
    },
    {
        "name": "date",
        "definition": "http://hl7.org/fhir/SearchParameter/clinical-date",
        "type": "date",
        "documentation": "On Encounter.period (no end: ongoing). Prefixes eq, ne, gt, lt, ge, le, sa, eb; "
        "repeat it for a range. Values without a time zone are in the hospital's.",
    },
    {
        "name": "location",
        "definition": "http://hl7.org/fhir/SearchParameter/Encounter-location",
        "type": "reference",
        "documentation": "Location/<id> or <id>: the department's code, with '.' for '_'.",
    },
    {
        "name": "_id",
        "definition": "http://hl7.org/fhir/SearchParameter/Resource-id",
        "type": "token",
        "documentation": "Encounter ids; commas separate alternatives.",
    },
]


def capability_statement(*, base_url: str) -> dict:
    """The server's CapabilityStatement, checked against the R4 model. base_url: the FHIR base (…/api/v1/fhir)."""
    try:
        software_version = version("hospital-workload")
    except PackageNotFoundError:  # run from a checkout that was not installed
        software_version = "unknown"
    statement = {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": STATEMENT_DATE,
        "publisher": SOFTWARE_NAME,
        "kind": "instance",
        "software": {"name": SOFTWARE_NAME, "version": software_version},
        "implementation": {
            "description": "Encounters of the hospital's departments (patient flow), patients pseudonymised",
            "url": base_url,
        },
        "fhirVersion": FHIR_VERSION,
        "format": ["json", "application/fhir+json"],
        "rest": [
            {
                "mode": "server",
                "documentation": "Sign in with POST /api/v1/auth/token/ and send Authorization: Bearer <access>. "
                "You see and write the encounters of your departments only. Search is strict: an "
                "unknown parameter is a 400 unless the request says Prefer: handling=lenient.",
                "security": {
                    # Browsers' cross-origin requests are answered only from the origins configured.
                    "cors": bool(settings.CORS_ALLOWED_ORIGINS),
                    "description": "JWT bearer tokens from POST /api/v1/auth/token/ (or a Django session).",
                },
                "resource": [
                    {
                        "type": "Encounter",
                        "profile": "http://hl7.org/fhir/StructureDefinition/Encounter",
                        "documentation": "Ids: a client's own for encounters written here (they need a "
                        "character besides digits); the stored row's number for encounters from other "
                        "sources. The department comes from class.code. The subject is a masked "
                        "pseudonym identifier.",
                        "interaction": [
                            {"code": "read"},
                            {"code": "search-type"},
                            {
                                "code": "create",
                                "documentation": "An id in the body is kept (the create is "
                                "then idempotent); without one the server assigns it.",
                            },
                            {"code": "update", "documentation": "Creates the encounter when the id is new."},
                        ],
                        "versioning": "no-version",
                        "readHistory": False,
                        "updateCreate": True,
                        "conditionalCreate": False,
                        "conditionalRead": "not-supported",
                        "conditionalUpdate": False,
                        "conditionalDelete": "not-supported",
                        "searchParam": SEARCH_PARAMETERS,
                    }
                ],
            }
        ],
    }
    return validated(CapabilityStatement, statement)
