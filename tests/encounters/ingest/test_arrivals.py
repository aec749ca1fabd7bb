from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from healthcare.encounters.ingest.arrivals import parse_arrivals_csv

CHICAGO = ZoneInfo("America/Chicago")


def write(tmp_path: Path, *rows: str, header="timestamp,arrivals") -> Path:
    path = tmp_path / "arrivals.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def test_parse_arrivals_csv_reads_the_uihc_file_and_keeps_every_arrival(shared_data):
    path = shared_data / "uihc_ed_hourly_train.csv"
    result = parse_arrivals_csv(path, default_tz=CHICAGO)
    assert result.errors == []
    file_total = sum(int(line.split(",")[1]) for line in path.read_text().splitlines()[1:])
    assert sum(r.arrivals for r in result.records) == file_total
    # 37,476 local hours; the four spring-forward hours that do not exist fold onto the next.
    assert len(result.records) == 37_472
    assert "daylight-saving" in result.notes[0]
    assert result.records[0].hour == datetime(2013, 7, 1, 5, tzinfo=UTC)  # 00:00 CDT


def test_parse_arrivals_csv_rejects_bad_rows_naming_line_and_field(tmp_path):
    result = parse_arrivals_csv(
        write(
            tmp_path,
            "2024-01-01T00:00,5",
            "2024-01-01T01:00,-2",
            "2024-01-01T02:00,many",
            "yesterday,3",
            "2024-01-01T03:30,1",
            "2024-01-01T00:00,4",
        ),
        default_tz=CHICAGO,
    )
    assert [r.arrivals for r in result.records] == [5]
    assert [(e.location, e.field) for e in result.errors] == [
        ("arrivals.csv line 3", "arrivals"),
        ("arrivals.csv line 4", "arrivals"),
        ("arrivals.csv line 5", "timestamp"),
        ("arrivals.csv line 6", "timestamp"),
        ("arrivals.csv line 7", "timestamp"),
    ]
    assert "negative" in result.errors[0].message
    assert "repeats line 2" in result.errors[4].message


def test_parse_arrivals_csv_reports_missing_columns(tmp_path):
    (error,) = parse_arrivals_csv(write(tmp_path, "2024-01-01T00:00", header="timestamp"), default_tz=CHICAGO).errors
    assert "arrivals" in error.message


def test_parse_arrivals_csv_honours_explicit_offsets(tmp_path):
    (record,) = parse_arrivals_csv(write(tmp_path, "2024-01-01T00:00+00:00,2"), default_tz=CHICAGO).records
    assert record.hour == datetime(2024, 1, 1, tzinfo=UTC)


def test_parse_arrivals_csv_treats_two_spellings_of_one_time_as_a_repeat(tmp_path):
    result = parse_arrivals_csv(write(tmp_path, "2024-01-01T00:00,5", "2024-01-01 00:00,4"), default_tz=CHICAGO)
    assert [r.arrivals for r in result.records] == [5]
    assert "repeats line 2" in result.errors[0].message
    assert result.notes == []


def test_parse_arrivals_csv_places_half_hour_zones_in_the_utc_hour_they_begin_in(tmp_path):
    path = write(tmp_path, "2024-01-01T00:00,5", "2024-01-01T01:00,2")
    result = parse_arrivals_csv(path, default_tz=ZoneInfo("Asia/Kolkata"))
    assert result.errors == []
    assert [r.hour for r in result.records] == [
        datetime(2023, 12, 31, 18, tzinfo=UTC),
        datetime(2023, 12, 31, 19, tzinfo=UTC),
    ]
    assert "fraction of an hour" in result.notes[0]
