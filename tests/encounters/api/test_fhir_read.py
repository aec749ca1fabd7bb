"""GET /api/v1/fhir/metadata and /api/v1/fhir/Encounter/{id}: the stored encounters as R4 Encounters."""

from datetime import timedelta

import pytest

from healthcare.encounters import services
from healthcare.encounters.models import Encounter
from tests.encounters.api.conftest import NOW, fhir_encounter, issues
from tests.factories import department_make, encounter_record


@pytest.fixture
def reader(fhir, ed_staff):
    fhir.client.force_authenticate(ed_staff)
    return fhir


def stored(source: str, source_id: str, **fields) -> Encounter:
    record = encounter_record(source_id, start=fields.pop("start", NOW - timedelta(hours=5)), **fields)
    services.encounters_ingest(records=[record], source=source)
    return Encounter.objects.get(source=source, source_id=source_id)


def test_metadata_is_a_capability_statement_that_needs_no_sign_in(fhir, db):
    response = fhir.get("/metadata")
    assert response.status_code == 200
    statement = response.fhir
    assert statement["resourceType"] == "CapabilityStatement"
    assert (statement["fhirVersion"], statement["kind"], statement["status"]) == ("4.0.1", "instance", "active")
    assert set(statement["format"]) == {"json", "application/fhir+json"}
    assert statement["implementation"]["url"] == "http://testserver/api/v1/fhir"
    assert statement["software"]["name"] and statement["software"]["version"] and statement["date"]
    (rest,) = statement["rest"]
    assert rest["mode"] == "server"
    (encounter,) = rest["resource"]
    assert encounter["type"] == "Encounter"
    assert {i["code"] for i in encounter["interaction"]} == {"read", "search-type", "create", "update"}
    assert {p["name"] for p in encounter["searchParam"]} == {"patient", "status", "class", "date", "location", "_id"}


def test_an_encounter_written_through_fhir_reads_back_at_its_own_id(fhir, integrator, ed):
    fhir.client.force_authenticate(integrator)
    fhir.post("/Encounter", fhir_encounter("visit-7.a"))
    response = fhir.get("/Encounter/visit-7.a")
    assert response.status_code == 200
    assert response.fhir["id"] == "visit-7.a"
    assert response.fhir["class"] == {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "EMER"}


def test_an_encounter_is_an_r4_encounter_with_its_department_as_location(reader, ed):
    stay = stored("synthea-csv", "abc-123", hours=2, encounter_class="emergency")
    response = reader.get(f"/Encounter/{stay.pk}")
    resource = response.fhir
    assert resource["id"] == str(stay.pk)
    assert resource["meta"]["lastUpdated"] == stay.updated_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert resource["status"] == "finished"
    assert resource["class"] == {"system": "urn:hospital-workload:encounter-class:synthea-csv", "code": "emergency"}
    assert resource["identifier"] == [
        {"system": "urn:hospital-workload:encounter-source:synthea-csv", "value": "abc-123"}
    ]
    assert resource["period"] == {
        "start": (NOW - timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "end": (NOW - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    assert resource["location"] == [
        {
            "location": {
                "reference": "Location/ED",
                "identifier": {"system": "urn:hospital-workload:department", "value": "ED"},
                "display": "ED unit",
            }
        }
    ]


def test_the_subject_names_the_pseudonym_and_withholds_it(reader, ed):
    stay = stored("fhir", "F1", patient="MRN-77")
    response = reader.get("/Encounter/F1")
    subject = response.fhir["subject"]
    assert subject["identifier"]["system"] == "urn:hospital-workload:patient-pseudonym"
    assert "value" not in subject["identifier"]
    assert subject["identifier"]["_value"]["extension"][0]["valueCode"] == "masked"
    assert b"MRN-77" not in response.content and stay.patient_key.encode() not in response.content


@pytest.mark.parametrize(
    ("source", "source_id"),
    [
        ("synthea-csv", "abc-123"),
        ("hl7-stmarys", "V100/e2"),  # an HL7 transfer's second stay
        ("adt", "V1"),  # live events
        ("fhir", "12345"),  # a FHIR import with an id of digits only
        ("fhir", "x" * 65),  # a FHIR import whose id is too long to be a FHIR id
    ],
)
def test_encounters_from_other_sources_read_at_their_row_number(reader, ed, source, source_id):
    stay = stored(source, source_id)
    response = reader.get(f"/Encounter/{stay.pk}")
    assert response.status_code == 200 and response.fhir["id"] == str(stay.pk)


def test_a_row_number_does_not_reach_an_encounter_that_has_an_id_of_its_own(reader, ed):
    stay = stored("fhir", "F1")
    response = reader.get(f"/Encounter/{stay.pk}")
    assert response.status_code == 404


def test_an_unknown_id_is_a_404_operation_outcome(reader, ed):
    for resource_id in ("nope", "999999", "99999999999999999999999"):
        response = reader.get(f"/Encounter/{resource_id}")
        assert response.status_code == 404
        assert issues(response) == [("not-found", [])]


def test_an_encounter_of_another_department_is_a_404(reader, ed, icu):
    theirs = stored("fhir", "ICU-1", department="ICU")
    mine = stored("fhir", "ED-1")
    assert reader.get("/Encounter/ICU-1").status_code == 404
    assert reader.get(f"/Encounter/{theirs.pk}").status_code == 404
    assert reader.get(f"/Encounter/{mine.source_id}").status_code == 200


@pytest.mark.parametrize("path", ["/Encounter/a_b", "/Patient/1", "/Encounter/F1/_history/1", "/"])
def test_paths_the_facade_does_not_serve_are_fhir_404s(reader, ed, path):
    response = reader.get(path)
    assert response.status_code == 404
    assert issues(response) == [("not-found", [])]


def test_a_department_code_with_an_underscore_is_a_location_id_with_a_dot(reader, ed_staff):
    ward = department_make(code="MED_4", unit_type="medsurg")
    ward.members.add(ed_staff)
    stay = stored("synthea-csv", "w1", department="MED_4")
    location = reader.get(f"/Encounter/{stay.pk}").fhir["location"][0]["location"]
    assert location["reference"] == "Location/MED.4" and location["identifier"]["value"] == "MED_4"


def test_without_a_token_a_read_is_a_401_operation_outcome(fhir, ed):
    stored("fhir", "F1")
    response = fhir.get("/Encounter/F1")
    assert response.status_code == 401
    assert issues(response) == [("login", [])]
    assert response["WWW-Authenticate"]


@pytest.mark.parametrize("accept", ["application/fhir+json", "application/json", "text/html", "application/fhir+xml"])
def test_every_answer_is_fhir_json_whatever_the_accept_header_asks(reader, ed, accept):
    stored("fhir", "F1")
    assert reader.get("/Encounter/F1", HTTP_ACCEPT=accept).status_code == 200
    assert reader.get("/Encounter/nope", HTTP_ACCEPT=accept).status_code == 404


def test_a_method_the_endpoint_lacks_is_a_405_operation_outcome(reader, ed):
    response = reader._checked(reader.client.delete("/api/v1/fhir/Encounter/F1"))
    assert response.status_code == 405
    assert issues(response) == [("not-supported", [])]
    assert set(response["Allow"].replace(" ", "").split(",")) >= {"GET", "PUT"}
