"""The FHIR tests' client: every answer it gets must be application/fhir+json and a valid R4 resource."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.encounter import Encounter
from fhir.resources.R4B.operationoutcome import OperationOutcome

FHIR_JSON = "application/fhir+json"
R4_MODELS = {
    "Bundle": Bundle,
    "CapabilityStatement": CapabilityStatement,
    "Encounter": Encounter,
    "OperationOutcome": OperationOutcome,
}
NOW = timezone.now().replace(minute=0, second=0, microsecond=0)


def at(hours_ago: float) -> str:
    return (NOW - timedelta(hours=hours_ago)).isoformat()


def fhir_encounter(resource_id="F1", status="in-progress", end=None, code="EMER", patient="Patient/p1", start=3):
    """An R4 Encounter as a client sends it; None leaves the id out."""
    period = {"start": at(start)} | ({"end": end} if end else {})
    resource = {
        "resourceType": "Encounter",
        "id": resource_id,
        "status": status,
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": code},
        "subject": {"reference": patient},
        "period": period,
    }
    return {key: value for key, value in resource.items() if value is not None}


def fhir_resource(response) -> dict:
    """The response's body, once checked: application/fhir+json, and valid as the R4 resource it says it is."""
    assert response["Content-Type"] == FHIR_JSON, response["Content-Type"]
    body = json.loads(response.content)
    R4_MODELS[body["resourceType"]].model_validate(body)
    return body


def issues(response) -> list[tuple[str, list[str]]]:
    """(code, expression) of each issue of an OperationOutcome answer."""
    outcome = fhir_resource(response)
    assert outcome["resourceType"] == "OperationOutcome"
    return [(issue["code"], issue.get("expression", [])) for issue in outcome["issue"]]


class FhirClient:
    """Requests to /api/v1/fhir/...; each response carries .fhir, its checked resource."""

    base = "/api/v1/fhir"

    def __init__(self, client):
        self.client = client

    def get(self, path: str, data=None, **headers):
        return self._checked(self.client.get(self.base + path, data, **headers))

    def post(self, path: str, body, content_type=FHIR_JSON, **headers):
        return self._write("post", path, body, content_type, headers)

    def put(self, path: str, body, content_type=FHIR_JSON, **headers):
        return self._write("put", path, body, content_type, headers)

    def _write(self, method, path, body, content_type, headers):
        data = body if isinstance(body, str | bytes) else json.dumps(body)
        send = getattr(self.client, method)
        return self._checked(send(self.base + path, data, content_type=content_type, **headers))

    @staticmethod
    def _checked(response):
        response.fhir = fhir_resource(response)
        return response


@pytest.fixture
def fhir(api_client):
    """A FhirClient, not signed in: sign in with fhir.client.force_authenticate(user)."""
    return FhirClient(api_client)
