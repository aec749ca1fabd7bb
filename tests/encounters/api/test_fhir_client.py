"""A FHIR client library (fhirpy's SyncFHIRClient) against the running server: create, read, search, update."""

import pytest
import requests
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.encounter import Encounter as R4Encounter
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import OperationOutcome, ResourceNotFound

from healthcare.encounters.models import Encounter
from tests.encounters.api.conftest import at, fhir_encounter
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def signed_in_client(base: str, username: str) -> SyncFHIRClient:
    """A fhirpy client with an access token got as any client gets one: POST /api/v1/auth/token/."""
    tokens = requests.post(f"{base}/api/v1/auth/token/", json={"username": username, "password": PASSWORD}, timeout=10)
    tokens.raise_for_status()
    return SyncFHIRClient(f"{base}/api/v1/fhir", authorization=f"Bearer {tokens.json()['access']}")


def test_a_fhir_client_creates_reads_searches_and_updates_an_encounter(live_server, ed, integrator):
    client = signed_in_client(live_server.url, "integrator")
    metadata = client.execute("metadata", method="get")
    CapabilityStatement.model_validate(metadata)
    assert metadata["fhirVersion"] == "4.0.1"

    # fhirpy sends a resource with an id as PUT /Encounter/{id}: an update that creates it.
    encounter = client.resource("Encounter", **fhir_encounter("rt-1", patient="Patient/MRN-9"))
    encounter.save()
    assert encounter["meta"]["lastUpdated"] and encounter["location"][0]["location"]["reference"] == "Location/ED"

    read = client.reference("Encounter", "rt-1").to_resource()
    R4Encounter.model_validate(read.serialize())
    assert (read.id, read["status"]) == ("rt-1", "in-progress")

    found = client.resources("Encounter").search(patient="Patient/MRN-9", status="in-progress").fetch()
    assert [resource.id for resource in found] == ["rt-1"]
    bundle = client.resources("Encounter").search(location="Location/ED").fetch_raw()
    Bundle.model_validate(bundle.serialize() if hasattr(bundle, "serialize") else bundle)

    read["status"] = "finished"
    read["period"]["end"] = at(1)
    read.save()
    stored = Encounter.objects.get(source="fhir", source_id="rt-1")
    assert stored.status == "finished" and stored.end is not None
    assert client.resources("Encounter").search(status="in-progress").fetch() == []


def test_a_fhir_client_created_without_an_id_reads_at_the_id_the_server_gave(live_server, ed, integrator):
    client = signed_in_client(live_server.url, "integrator")
    encounter = client.resource("Encounter", **fhir_encounter(None))
    encounter.save()  # POST /Encounter
    assert encounter.id
    assert client.reference("Encounter", encounter.id).to_resource()["status"] == "in-progress"


def test_a_fhir_client_pages_through_a_search_by_the_next_links(live_server, ed, integrator):
    client = signed_in_client(live_server.url, "integrator")
    for number in range(5):
        client.resource("Encounter", **fhir_encounter(f"page-{number}", start=3 + number)).save()
    everything = client.resources("Encounter").search(status="in-progress").limit(2).fetch_all()
    assert [resource.id for resource in everything] == [f"page-{number}" for number in range(5)]


def test_a_fhir_client_sees_operation_outcomes_for_refusals_and_404s(live_server, ed, integrator):
    client = signed_in_client(live_server.url, "integrator")
    with pytest.raises(OperationOutcome) as refused:
        client.resource("Encounter", **fhir_encounter("bad", code="AMB")).save()
    assert refused.value.resource["issue"][0]["expression"] == ["Encounter.class.code"]
    with pytest.raises(ResourceNotFound):
        client.reference("Encounter", "missing").to_resource()
