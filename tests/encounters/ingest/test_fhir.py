import json
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from healthcare.encounters.ingest.fhir import fhir_files, parse_fhir_file
from healthcare.encounters.ingest.mapping import load_mapping

UTC_ZONE = ZoneInfo("UTC")


def parse(path: Path):
    return parse_fhir_file(path, mapping=load_mapping(None), default_tz=UTC_ZONE)


def encounter(
    id_="enc-1",
    code="EMER",
    status="finished",
    start="2020-01-01T10:00:00+00:00",
    end="2020-01-01T14:30:00+00:00",
    subject="urn:uuid:pat-1",
):
    resource = {
        "resourceType": "Encounter",
        "id": id_,
        "status": status,
        "class": {"code": code},
        "subject": {"reference": subject},
        "period": {},
    }
    if start:
        resource["period"]["start"] = start
    if end:
        resource["period"]["end"] = end
    return resource


def bundle(*resources):
    return {"resourceType": "Bundle", "type": "batch", "entry": [{"resource": r} for r in resources]}


def write_json(tmp_path: Path, document, name="bundle.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document))
    return path


def test_parse_fhir_file_reads_real_synthea_bundles(shared_data):
    files = fhir_files([shared_data / "synthea_fhir"])
    assert len(files) == 5
    out_of_scope = 0
    for path in files:
        result = parse(path)
        assert result.errors == []
        out_of_scope += sum(result.out_of_scope.values())
    # The sample patients only have ambulatory (AMB) encounters: out of scope, not errors.
    assert out_of_scope == 50


def test_parse_fhir_file_maps_emergency_and_inpatient_classes_of_a_real_bundle(shared_data, tmp_path):
    path = next(p for p in (shared_data / "synthea_fhir").iterdir() if p.name.startswith("Bibi"))
    document = json.loads(path.read_text())
    encounters = [e["resource"] for e in document["entry"] if e["resource"]["resourceType"] == "Encounter"]
    encounters[0]["class"]["code"] = "EMER"
    encounters[1]["class"]["code"] = "IMP"
    result = parse(write_json(tmp_path, document))
    assert result.errors == []
    assert sorted(r.department_code for r in result.records) == ["ED", "MEDSURG"]
    assert result.other_resources["Patient"] == 1
    # The patient id is the Patient's uuid, the same as in the Synthea CSV.
    assert result.records[0].patient_id == encounters[0]["subject"]["reference"].removeprefix("urn:uuid:")


def test_parse_fhir_file_reads_a_single_encounter_and_ndjson(tmp_path):
    (record,) = parse(write_json(tmp_path, encounter(subject="Patient/abc"))).records
    assert record.patient_id == "abc"
    assert record.start == datetime(2020, 1, 1, 10, tzinfo=UTC)
    ndjson = tmp_path / "encounters.ndjson"
    ndjson.write_text("\n".join(json.dumps(encounter(id_=f"e{i}")) for i in range(3)) + "\n\n")
    assert [r.source_id for r in parse(ndjson).records] == ["e0", "e1", "e2"]


def test_parse_fhir_file_reports_truncated_json_with_its_position(tmp_path):
    path = tmp_path / "cut.json"
    path.write_text(json.dumps(bundle(encounter()))[:60])
    (error,) = parse(path).errors
    assert error.location == "cut.json" and "not valid JSON" in error.message and "line 1" in error.message


def test_parse_fhir_file_rejects_wrong_resource_types(tmp_path):
    (error,) = parse(write_json(tmp_path, {"resourceType": "Patient", "id": "x"})).errors
    assert error.field == "resourceType" and "'Patient'" in error.message
    ndjson = tmp_path / "mixed.ndjson"
    ndjson.write_text(json.dumps(encounter()) + "\n" + json.dumps({"resourceType": "Patient"}) + "\n")
    result = parse(ndjson)
    assert len(result.records) == 1
    assert result.errors[0].location == "mixed.ndjson line 2"


def test_parse_fhir_file_names_the_resource_and_field_of_each_problem(tmp_path):
    document = bundle(
        encounter(id_="ok"),
        encounter(id_="no-start", start=None),
        encounter(id_="bad-status", status="done"),
        encounter(id_="list-status", status=["finished"]),
        encounter(id_="backwards", end="2019-12-31T00:00:00Z"),
        encounter(id_="no-subject", subject=""),
        {"resourceType": "Encounter", "id": "no-class", "status": "finished"},
    )
    result = parse(write_json(tmp_path, document))
    assert [r.source_id for r in result.records] == ["ok"]
    problems = {(e.location, e.field) for e in result.errors}
    assert problems == {
        ("bundle.json entry 1 (Encounter/no-start)", "period.start"),
        ("bundle.json entry 2 (Encounter/bad-status)", "status"),
        ("bundle.json entry 3 (Encounter/list-status)", "status"),
        ("bundle.json entry 4 (Encounter/backwards)", "period.end"),
        ("bundle.json entry 5 (Encounter/no-subject)", "subject.reference"),
        ("bundle.json entry 6 (Encounter/no-class)", "class.code"),
    }


def test_fhir_files_expands_folders_recursively_in_order(tmp_path):
    (tmp_path / "b").mkdir()
    for name in ("b/2.json", "1.ndjson", "notes.txt"):
        (tmp_path / name).write_text("{}")
    assert [p.name for p in fhir_files([tmp_path])] == ["1.ndjson", "2.json"]
