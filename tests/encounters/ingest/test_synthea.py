from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from healthcare.encounters.ingest.mapping import load_mapping
from healthcare.encounters.ingest.synthea import parse_synthea_csv

HEADER = "Id,START,STOP,PATIENT,ORGANIZATION,PROVIDER,PAYER,ENCOUNTERCLASS,CODE,DESCRIPTION"
CHICAGO = ZoneInfo("America/Chicago")


def parse(path: Path):
    return parse_synthea_csv(path, mapping=load_mapping(None), default_tz=CHICAGO)


def write(tmp_path: Path, *rows: str, header: str = HEADER) -> Path:
    path = tmp_path / "encounters.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def row(id_="e1", start="2022-04-19T00:36:40Z", stop="2022-04-19T02:51:40Z", patient="p1", cls="emergency"):
    return f"{id_},{start},{stop},{patient},org,prov,payer,{cls},1,Visit"


def test_parse_synthea_csv_maps_the_real_export_by_class(shared_data):
    result = parse(shared_data / "synthea_csv" / "encounters.csv")
    assert result.errors == []
    by_department = {}
    for record in result.records:
        by_department[record.department_code] = by_department.get(record.department_code, 0) + 1
    assert by_department == {"ED": 342, "UC": 628, "MEDSURG": 94}
    assert result.out_of_scope == {
        "ambulatory": 7296,
        "wellness": 1697,
        "outpatient": 1226,
        "home": 143,
        "hospice": 39,
        "snf": 18,
        "virtual": 18,
    }
    first = next(r for r in result.records if r.department_code == "ED")
    assert first.start.tzinfo is not None and first.status == "finished"


def test_parse_synthea_csv_reads_times_in_utc_and_marks_rows_without_stop_in_progress(tmp_path):
    result = parse(write(tmp_path, row(stop="")))
    (record,) = result.records
    assert record.start == datetime(2022, 4, 19, 0, 36, 40, tzinfo=UTC)
    assert record.end is None and record.status == "in-progress"


def test_parse_synthea_csv_reads_naive_times_in_the_default_zone(tmp_path):
    (record,) = parse(write(tmp_path, row(start="2022-01-10T08:00:00", stop="2022-01-10T09:00:00"))).records
    assert record.start == datetime(2022, 1, 10, 14, 0, tzinfo=UTC)


def test_parse_synthea_csv_names_line_and_column_of_a_bad_date(tmp_path):
    result = parse(write(tmp_path, row(), row(id_="e2", start="19/04/2022")))
    assert len(result.records) == 1
    (error,) = result.errors
    assert (error.location, error.field) == ("encounters.csv line 3", "START")
    assert "19/04/2022" in error.message


def test_parse_synthea_csv_rejects_stop_before_start(tmp_path):
    (error,) = parse(write(tmp_path, row(stop="2022-04-18T00:00:00Z"))).errors
    assert error.field == "STOP" and "before START" in error.message


def test_parse_synthea_csv_rejects_empty_id_and_patient(tmp_path):
    errors = parse(write(tmp_path, row(id_="", patient=""))).errors
    assert {(e.field, e.message) for e in errors} == {("Id", "is empty"), ("PATIENT", "is empty")}


def test_parse_synthea_csv_reports_missing_columns(tmp_path):
    (error,) = parse(write(tmp_path, "e1,2022-01-01,p1", header="Id,START,PATIENT")).errors
    assert "STOP" in error.message and "ENCOUNTERCLASS" in error.message and error.location.endswith("line 1")


def test_parse_synthea_csv_reports_a_truncated_row(tmp_path):
    path = write(tmp_path, row())
    path.write_text(path.read_text() + "e2,2022-04-19T00:36:40Z,2022-04\n")
    (error,) = parse(path).errors
    assert error.location == "encounters.csv line 3" and "truncated" in error.message


def test_parse_synthea_csv_reports_an_empty_file_and_bad_encoding(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert "empty" in parse(empty).errors[0].message
    binary = tmp_path / "binary.csv"
    binary.write_bytes(HEADER.encode() + b"\n\xff\xfe\x00bad")
    assert "UTF-8" in parse(binary).errors[0].message


def test_parse_synthea_csv_counts_unmapped_classes_without_validating_them(tmp_path):
    result = parse(write(tmp_path, row(cls="wellness", start="garbage")))
    assert result.errors == [] and result.records == []
    assert result.out_of_scope == {"wellness": 1}
