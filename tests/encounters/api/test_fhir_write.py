"""POST /api/v1/fhir/Encounter and PUT /api/v1/fhir/Encounter/{id}: R4 Encounters in, stored as source "fhir"."""

from datetime import timedelta

import pytest

from healthcare.encounters import services
from healthcare.encounters.models import Encounter
from tests.encounters.api.conftest import NOW, at, fhir_encounter, issues
from tests.factories import encounter_record

URL = "http://testserver/api/v1/fhir/Encounter"


@pytest.fixture
def writer(fhir, integrator):
    fhir.client.force_authenticate(integrator)
    return fhir


def test_create_keeps_the_clients_id_and_answers_201_with_a_location(writer, ed):
    response = writer.post("/Encounter", fhir_encounter("F1"))
    assert response.status_code == 201
    assert response["Location"] == f"{URL}/F1"
    assert response.fhir["id"] == "F1"
    assert response.fhir["location"][0]["location"]["reference"] == "Location/ED"
    stay = Encounter.objects.get(source="fhir", source_id="F1")
    assert stay.department == ed and stay.status == "in-progress"


def test_create_without_an_id_is_given_one_by_the_server(writer, ed):
    response = writer.post("/Encounter", fhir_encounter(None))
    assert response.status_code == 201
    new_id = response.fhir["id"]
    assert response["Location"] == f"{URL}/{new_id}"
    assert Encounter.objects.get(source="fhir").source_id == new_id
    assert writer.get(f"/Encounter/{new_id}").fhir["id"] == new_id


def test_create_with_a_known_id_updates_that_encounter(writer, ed):
    writer.post("/Encounter", fhir_encounter("F1"))
    again = writer.post("/Encounter", fhir_encounter("F1", status="finished", end=at(1)))
    assert again.status_code == 200 and "Location" not in again
    assert Encounter.objects.get(source_id="F1").status == "finished"


def test_update_of_a_new_id_creates_it_with_a_location(writer, ed):
    response = writer.put("/Encounter/F2", fhir_encounter("F2"))
    assert response.status_code == 201
    assert response["Location"] == f"{URL}/F2"


def test_update_changes_the_stored_encounter_and_answers_it_as_stored(writer, ed):
    writer.post("/Encounter", fhir_encounter("F1"))
    updated = writer.put("/Encounter/F1", fhir_encounter("F1", status="finished", end=at(1)))
    assert updated.status_code == 200 and "Location" not in updated
    stay = Encounter.objects.get(source="fhir", source_id="F1")
    assert stay.status == "finished" and stay.end == NOW - timedelta(hours=1)
    assert updated.fhir["status"] == "finished"
    assert updated.fhir["period"]["end"] == (NOW - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_update_may_leave_the_id_out_of_the_body(writer, ed):
    response = writer.put("/Encounter/F3", fhir_encounter(None))
    assert response.status_code == 201 and response.fhir["id"] == "F3"


def test_every_problem_of_a_resource_is_listed_with_where_it_is(writer, ed):
    body = {
        "resourceType": "Encounter",
        "id": "F1",
        "class": {"code": "AMB"},
        "subject": {"display": "no reference"},
        "period": {"start": "2024-01-05T10:00:00", "end": "not a date"},
        "priority": "urgent",
        "colour": "blue",
    }
    response = writer.post("/Encounter", body)
    assert response.status_code == 400
    found = issues(response)
    expressions = [expression for _, expression in found]
    assert ["Encounter.period.start"] in expressions  # a time without a time zone
    assert ["Encounter.period.end"] in expressions
    assert ["Encounter.priority"] in expressions  # a CodeableConcept, not a string
    assert ("structure", ["Encounter.colour"]) in found  # no such element
    assert ("required", ["Encounter.status"]) in found
    assert ("business-rule", ["Encounter.class.code"]) in found  # AMB maps to no department
    assert ("required", ["Encounter.subject.reference"]) in found
    for issue in response.fhir["issue"]:
        assert issue["severity"] == "error" and issue["diagnostics"]
    assert not Encounter.objects.exists()


@pytest.mark.parametrize(
    ("body", "expression"),
    [
        ({"resourceType": "Patient", "id": "x"}, "Encounter.resourceType"),
        ({**fhir_encounter(), "period": {}}, "Encounter.period.start"),
        (fhir_encounter(code="AMB"), "Encounter.class.code"),
        (fhir_encounter(status="paused"), "Encounter.status"),
        (fhir_encounter(end=at(5)), "Encounter.period.end"),  # before its start
        (fhir_encounter(patient=" "), "Encounter.subject.reference"),
        (fhir_encounter("12345"), "Encounter.id"),  # digits only: the server's ids
        (fhir_encounter("a_b"), "Encounter.id"),
    ],
)
def test_a_bad_encounter_gets_an_operation_outcome_naming_the_element(writer, ed, body, expression):
    response = writer.post("/Encounter", body)
    assert response.status_code == 400
    assert [expression] in [found for _, found in issues(response)]
    assert not Encounter.objects.exists()


def test_an_id_in_the_body_that_differs_from_the_url_is_refused(writer, ed):
    response = writer.put("/Encounter/F1", fhir_encounter("F2"))
    assert response.status_code == 400
    assert issues(response) == [("invalid", ["Encounter.id"])]


def test_an_id_of_digits_only_cannot_be_written_as_it_names_another_sources_encounter(writer, ed):
    response = writer.put("/Encounter/42", fhir_encounter("42"))
    assert response.status_code == 400
    assert issues(response) == [("business-rule", ["Encounter.id"])]


def test_a_class_of_a_department_that_is_not_yours_is_refused(writer, ed, icu):
    response = writer.post("/Encounter", fhir_encounter(code="IMP"))  # IMP -> MEDSURG, not the integrator's
    assert response.status_code == 400
    assert issues(response) == [("business-rule", ["Encounter.class.code"])]


def test_an_id_taken_in_a_department_that_is_not_yours_is_refused(writer, ed, icu):
    services.encounters_ingest(records=[encounter_record("F1", start=NOW, department="ICU")], source="fhir")
    response = writer.put("/Encounter/F1", fhir_encounter("F1"))
    assert response.status_code == 400
    assert issues(response) == [("business-rule", ["Encounter.id"])]
    assert Encounter.objects.get(source_id="F1").department == icu


def test_a_body_that_is_not_json_is_an_operation_outcome(writer, ed):
    response = writer.post("/Encounter", "{not json")
    assert response.status_code == 400
    assert issues(response) == [("structure", [])]


@pytest.mark.parametrize("body", ["[]", "null", '"Encounter"'])
def test_a_body_that_is_not_a_resource_is_an_operation_outcome(writer, ed, body):
    response = writer.post("/Encounter", body)
    assert response.status_code == 400
    assert issues(response)[0][0] == "structure"


def test_plain_json_is_read_like_fhir_json(writer, ed):
    response = writer.post("/Encounter", fhir_encounter(), content_type="application/json")
    assert response.status_code == 201


def test_a_wrong_content_type_is_a_415_operation_outcome(writer, ed):
    response = writer.post("/Encounter", "<Encounter/>", content_type="application/fhir+xml")
    assert response.status_code == 415
    assert issues(response) == [("not-supported", [])]


def test_staff_may_read_but_not_write(fhir, ed_staff, ed):
    fhir.client.force_authenticate(ed_staff)
    response = fhir.post("/Encounter", fhir_encounter())
    assert response.status_code == 403
    assert issues(response) == [("forbidden", [])]


def test_without_a_token_a_write_is_a_401_operation_outcome(fhir, ed):
    response = fhir.put("/Encounter/F1", fhir_encounter())
    assert response.status_code == 401
    assert issues(response) == [("login", [])]


def test_an_encounter_read_and_sent_back_changed_keeps_its_patient(writer, ed):
    writer.post("/Encounter", fhir_encounter("F1", patient="Patient/MRN-5"))
    key = Encounter.objects.get(source_id="F1").patient_key
    read = writer.get("/Encounter/F1").fhir
    read["status"] = "finished"
    read["period"]["end"] = at(1)
    assert writer.put("/Encounter/F1", read).status_code == 200
    stay = Encounter.objects.get(source_id="F1")
    assert (stay.status, stay.patient_key) == ("finished", key)
    # The masked subject stands for a stored encounter's patient only: a new id needs a reference.
    read["id"] = "F9"
    response = writer.put("/Encounter/F9", read)
    assert response.status_code == 400
    assert issues(response) == [("required", ["Encounter.subject.reference"])]


def test_media_type_parameters_such_as_the_fhir_version_are_accepted(writer, ed):
    content_type = "application/fhir+json; fhirVersion=4.0; charset=utf-8"
    assert writer.post("/Encounter", fhir_encounter(), content_type=content_type).status_code == 201


@pytest.mark.parametrize(
    "body",
    [
        '{"resourceType": "Encounter", "extension": '
        + '[{"url": "http://x", "extension": ' * 5000
        + "[]"
        + "}]" * 5000
        + "}",
        '{"resourceType": "Encounter", "contained": [{"resourceType": "Nope"}]}',
        '{"resourceType": "Encounter", "contained": [{"resourceType": 5}]}',
    ],
    ids=["nested-too-deep", "unknown-contained-type", "contained-type-not-text"],
)
def test_bodies_the_r4_models_cannot_read_are_operation_outcomes_not_errors(writer, ed, body):
    response = writer.post("/Encounter", body)
    assert response.status_code == 400
    assert issues(response)[0][0] == "structure"
