"""Synthea encounters.csv -> EncounterRecords."""

import csv
from collections.abc import Callable
from datetime import tzinfo
from pathlib import Path

from healthcare.encounters.ingest.mapping import ClassMapping
from healthcare.encounters.ingest.records import EncounterRecord, ParseResult, RecordError, parse_timestamp

REQUIRED_COLUMNS = ("Id", "START", "STOP", "PATIENT", "ENCOUNTERCLASS")
PROGRESS_EVERY = 50_000


def parse_synthea_csv(
    path: Path,
    *,
    mapping: ClassMapping,
    default_tz: tzinfo,
    progress: Callable[[str], None] | None = None,
) -> ParseResult[EncounterRecord]:
    """Parse a Synthea encounters.csv. Every error names the file, the line and the column."""
    result: ParseResult[EncounterRecord] = ParseResult()
    name = path.name
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                result.errors.append(RecordError(name, "", "the file is empty (expected a header line)"))
                return result
            missing = [column for column in REQUIRED_COLUMNS if column not in header]
            if missing:
                result.errors.append(RecordError(f"{name} line 1", "", f"missing column(s) {', '.join(missing)}"))
                return result
            index = {column: header.index(column) for column in REQUIRED_COLUMNS}
            width = len(header)
            for row in reader:
                line = reader.line_num
                if not row:
                    continue
                if progress and line % PROGRESS_EVERY == 0:
                    progress(f"{name}: read {line:,} lines")
                location = f"{name} line {line}"
                if len(row) != width:
                    result.errors.append(
                        RecordError(location, "", f"expected {width} columns, found {len(row)} (truncated row?)")
                    )
                    continue
                _parse_row(row, index, location, mapping, default_tz, result)
    except UnicodeDecodeError as exc:
        result.errors.append(RecordError(name, "", f"not UTF-8 text (byte {exc.start})"))
    except csv.Error as exc:
        result.errors.append(RecordError(f"{name} line {reader.line_num}", "", f"malformed CSV ({exc})"))
    return result


def _parse_row(row, index, location, mapping, default_tz, result) -> None:
    encounter_class = row[index["ENCOUNTERCLASS"]].strip()
    department_code = mapping.department_for("synthea-csv", encounter_class)
    if department_code is None:
        result.out_of_scope[encounter_class or "(empty)"] += 1
        return

    errors_before = len(result.errors)
    source_id = row[index["Id"]].strip()
    if not source_id:
        result.errors.append(RecordError(location, "Id", "is empty"))
    patient_id = row[index["PATIENT"]].strip()
    if not patient_id:
        result.errors.append(RecordError(location, "PATIENT", "is empty"))
    start = end = None
    try:
        start = parse_timestamp(row[index["START"]], default_tz)
    except ValueError as exc:
        result.errors.append(RecordError(location, "START", str(exc)))
    stop_text = row[index["STOP"]].strip()
    if stop_text:
        try:
            end = parse_timestamp(stop_text, default_tz)
        except ValueError as exc:
            result.errors.append(RecordError(location, "STOP", str(exc)))
    if start and end and end < start:
        result.errors.append(RecordError(location, "STOP", f"{stop_text} is before START"))
    if len(result.errors) > errors_before:
        return

    result.records.append(
        EncounterRecord(
            source_id=source_id,
            patient_id=patient_id,
            department_code=department_code,
            encounter_class=encounter_class,
            status="finished" if end else "in-progress",
            start=start,
            end=end,
            location=location,
        )
    )
