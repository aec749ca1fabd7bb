"""FHIR R4 Encounter resources (in Bundles, single resources or NDJSON) -> EncounterRecords."""

import json
from collections.abc import Iterable
from datetime import tzinfo
from pathlib import Path

from healthcare.encounters.ingest.mapping import ClassMapping
from healthcare.encounters.ingest.records import EncounterRecord, ParseResult, RecordError, parse_timestamp

FHIR_STATUSES = frozenset(
    {"planned", "arrived", "triaged", "in-progress", "onleave", "finished", "cancelled", "entered-in-error", "unknown"}
)
FHIR_SUFFIXES = (".json", ".ndjson")


def fhir_files(paths: Iterable[Path]) -> list[Path]:
    """The files named, with folders expanded to the .json/.ndjson files inside them (sorted)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in FHIR_SUFFIXES))
        else:
            files.append(path)
    return files


def parse_fhir_file(path: Path, *, mapping: ClassMapping, default_tz: tzinfo) -> ParseResult[EncounterRecord]:
    """Parse one file: a Bundle, a single Encounter, or NDJSON with one Encounter per line."""
    result: ParseResult[EncounterRecord] = ParseResult()
    name = path.name
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        result.errors.append(RecordError(name, "", f"not UTF-8 text (byte {exc.start})"))
        return result

    if path.suffix.lower() == ".ndjson":
        for line_number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            location = f"{name} line {line_number}"
            try:
                resource = json.loads(line)
            except json.JSONDecodeError as exc:
                result.errors.append(RecordError(location, "", f"not valid JSON (column {exc.colno}: {exc.msg})"))
                continue
            if not isinstance(resource, dict) or resource.get("resourceType") != "Encounter":
                kind = resource.get("resourceType") if isinstance(resource, dict) else type(resource).__name__
                result.errors.append(
                    RecordError(location, "resourceType", f"is {kind!r}; NDJSON files must hold Encounters")
                )
                continue
            _parse_encounter(resource, location, mapping, default_tz, result)
        return result

    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        result.errors.append(
            RecordError(name, "", f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); truncated?")
        )
        return result
    kind = document.get("resourceType") if isinstance(document, dict) else None
    if kind == "Encounter":
        _parse_encounter(document, name, mapping, default_tz, result)
    elif kind == "Bundle":
        entries = document.get("entry", [])
        if not isinstance(entries, list):
            result.errors.append(RecordError(name, "entry", "must be a list"))
            return result
        for position, entry in enumerate(entries):
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if not isinstance(resource, dict):
                result.errors.append(RecordError(f"{name} entry {position}", "resource", "is missing"))
                continue
            resource_type = resource.get("resourceType", "(none)")
            if resource_type != "Encounter":
                result.other_resources[resource_type] += 1
                continue
            location = f"{name} entry {position} (Encounter/{resource.get('id', '?')})"
            _parse_encounter(resource, location, mapping, default_tz, result)
    else:
        result.errors.append(RecordError(name, "resourceType", f"is {kind!r}; expected a Bundle or an Encounter"))
    return result


def _parse_encounter(
    resource: dict,
    location: str,
    mapping: ClassMapping,
    default_tz: tzinfo,
    result,
    *,
    every_problem: bool = False,
    patient_key: str = "",
) -> None:
    """Append the resource's record, or its errors, to result.

    every_problem: a class code that is missing or maps to no department is an error beside the
    others (one resource sent to the API); otherwise it ends the check, and an unmapped class is
    counted out of scope (files hold encounters of every class).
    patient_key: the stored pseudonym a subject without a reference stands for (an encounter read
    through the API and sent back); without it, subject.reference is required.
    """
    errors_before = len(result.errors)
    encounter_class = resource.get("class")
    # R4 Encounter.class is one Coding.
    code = encounter_class.get("code") if isinstance(encounter_class, dict) else None
    department_code = None
    if not isinstance(code, str) or not code.strip():
        result.errors.append(RecordError(location, "class.code", "is missing"))
        if not every_problem:
            return
    else:
        department_code = mapping.department_for("fhir", code)
        if department_code is None and not every_problem:
            result.out_of_scope[code] += 1
            return
        if department_code is None:
            result.errors.append(RecordError(location, "class.code", f"'{code}' maps to no department"))

    source_id = resource.get("id")
    if not isinstance(source_id, str) or not source_id.strip():
        result.errors.append(RecordError(location, "id", "is missing"))
    status = resource.get("status")
    if status is None:
        result.errors.append(RecordError(location, "status", "is missing"))
    elif not isinstance(status, str) or status not in FHIR_STATUSES:
        result.errors.append(RecordError(location, "status", f"{status!r} is not a FHIR Encounter status"))
    patient_id = _patient_id(resource.get("subject"))
    if patient_id is None and patient_key:
        patient_id = ""
    elif patient_id is None:
        result.errors.append(RecordError(location, "subject.reference", "is missing"))
    period = resource.get("period") if isinstance(resource.get("period"), dict) else {}
    start = end = None
    if not period.get("start"):
        result.errors.append(RecordError(location, "period.start", "is missing"))
    else:
        try:
            start = parse_timestamp(str(period["start"]), default_tz)
        except ValueError as exc:
            result.errors.append(RecordError(location, "period.start", str(exc)))
    if period.get("end"):
        try:
            end = parse_timestamp(str(period["end"]), default_tz)
        except ValueError as exc:
            result.errors.append(RecordError(location, "period.end", str(exc)))
    if start and end and end < start:
        result.errors.append(RecordError(location, "period.end", "is before period.start"))
    if len(result.errors) > errors_before:
        return

    result.records.append(
        EncounterRecord(
            source_id=source_id.strip(),
            patient_id=patient_id,
            department_code=department_code,
            encounter_class=code.strip(),
            status=status,
            start=start,
            end=end,
            location=location,
            patient_key=patient_key if not patient_id else "",
        )
    )


def _patient_id(subject) -> str | None:
    return patient_id_of(subject.get("reference") if isinstance(subject, dict) else None)


def patient_id_of(reference) -> str | None:
    """'urn:uuid:abc', 'Patient/abc' or 'abc' -> 'abc' (None when no id is left); the service
    pseudonymizes it, and so does a FHIR search by patient."""
    if not isinstance(reference, str) or not reference.strip():
        return None
    reference = reference.strip()
    for prefix in ("urn:uuid:", "Patient/"):
        if reference.startswith(prefix):
            return reference[len(prefix) :] or None
    return reference


def parse_encounter_resource(
    resource,
    *,
    mapping: ClassMapping,
    default_tz: tzinfo,
    location: str = "Encounter",
    every_problem: bool = False,
    patient_key: str = "",
) -> ParseResult[EncounterRecord]:
    """One Encounter resource (e.g. the body of PUT /fhir/Encounter/{id}).

    every_problem, patient_key: see _parse_encounter.
    """
    result: ParseResult[EncounterRecord] = ParseResult()
    if not isinstance(resource, dict) or resource.get("resourceType") != "Encounter":
        kind = resource.get("resourceType") if isinstance(resource, dict) else type(resource).__name__
        result.errors.append(RecordError(location, "resourceType", f"is {kind!r}; expected an Encounter"))
        return result
    _parse_encounter(
        resource, location, mapping, default_tz, result, every_problem=every_problem, patient_key=patient_key
    )
    return result
