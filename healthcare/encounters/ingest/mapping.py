"""Which department an encounter class belongs to, per source format.

The default below is documented in docs/ingestion.md. Replace it with a JSON file of the
same shape (settings.INGEST_CLASS_MAPPING_FILE, or `ingest --mapping FILE`). Classes not
listed are out of scope (counted, not errors). A department the mapping names is created
from its template on first import if it does not exist yet.
"""

import json
from dataclasses import dataclass
from pathlib import Path

DEFAULT_MAPPING: dict = {
    "departments": {
        "ED": {"name": "Emergency Department", "unit_type": "ed"},
        "UC": {"name": "Urgent Care", "unit_type": "ed"},
        "MEDSURG": {"name": "Medical-Surgical Ward", "unit_type": "medsurg"},
    },
    # Synthea ENCOUNTERCLASS values (compared case-insensitively).
    "synthea-csv": {"emergency": "ED", "urgentcare": "UC", "inpatient": "MEDSURG"},
    # HL7 v3 ActCode values of FHIR R4 Encounter.class.code (compared case-insensitively).
    "fhir": {"EMER": "ED", "IMP": "MEDSURG", "ACUTE": "MEDSURG", "NONAC": "MEDSURG"},
    # HL7 v2 ADT: PV1-3.1 point of care first, then PV1-2 patient class (HL7 table 0004), then the
    # default. A point of care equal to a department's code needs no entry; null leaves one out of scope.
    "hl7": {"points_of_care": {}, "patient_classes": {"E": "ED"}, "default_department": None},
}

FORMATS = ("synthea-csv", "fhir")


@dataclass(frozen=True)
class Hl7Mapping:
    """Where an ADT message's patient is: PV1-3 point of care, else PV1-2 patient class, else the default.

    Keys are compared case-insensitively. A key mapped to None is known and out of scope: its
    messages are acknowledged and change nothing.
    """

    points_of_care: dict[str, str | None]
    patient_classes: dict[str, str | None]
    default_department: str | None = None

    @classmethod
    def from_dict(cls, data, origin: str) -> "Hl7Mapping":
        if not isinstance(data, dict):
            raise MappingError(f"{origin}: 'hl7' must be a JSON object")
        tables = {}
        for key in ("points_of_care", "patient_classes"):
            table = data.get(key, {})
            if not isinstance(table, dict) or not all(v is None or isinstance(v, str) for v in table.values()):
                raise MappingError(f"{origin}: hl7.{key} must map codes to department codes (or null)")
            tables[key] = {code.strip().casefold(): (v.upper() if v else None) for code, v in table.items()}
        default = data.get("default_department")
        if default is not None and not isinstance(default, str):
            raise MappingError(f"{origin}: hl7.default_department must be a department code or null")
        return cls(default_department=default.upper() if default else None, **tables)


class MappingError(ValueError):
    """The mapping file is unreadable or malformed."""


@dataclass(frozen=True)
class DepartmentTemplate:
    code: str
    name: str
    unit_type: str


@dataclass(frozen=True)
class ClassMapping:
    """Encounter class -> department code for each format, and templates for new departments."""

    classes: dict[str, dict[str, str]]
    departments: dict[str, DepartmentTemplate]
    hl7: Hl7Mapping

    def department_for(self, fmt: str, encounter_class: str) -> str | None:
        return self.classes[fmt].get(encounter_class.strip().casefold())

    @classmethod
    def from_dict(cls, data: dict, origin: str = "mapping") -> "ClassMapping":
        if not isinstance(data, dict):
            raise MappingError(f"{origin}: expected a JSON object")
        departments = {}
        for code, spec in data.get("departments", {}).items():
            if not isinstance(spec, dict) or not {"name", "unit_type"} <= spec.keys():
                raise MappingError(f"{origin}: departments.{code} needs 'name' and 'unit_type'")
            departments[code.upper()] = DepartmentTemplate(code.upper(), spec["name"], spec["unit_type"])
        classes = {}
        for fmt in FORMATS:
            table = data.get(fmt, {})
            if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
                raise MappingError(f"{origin}: '{fmt}' must map class codes to department codes")
            classes[fmt] = {key.strip().casefold(): value.upper() for key, value in table.items()}
        hl7 = Hl7Mapping.from_dict(data.get("hl7", DEFAULT_MAPPING["hl7"]), origin)
        return cls(classes=classes, departments=departments, hl7=hl7)


def load_mapping(path: str | Path | None) -> ClassMapping:
    """The mapping in the JSON file at path, or the default when path is empty."""
    if not path:
        return ClassMapping.from_dict(DEFAULT_MAPPING, "default mapping")
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise MappingError(f"{path}: cannot read the mapping file ({exc.strerror})") from None
    except json.JSONDecodeError as exc:
        raise MappingError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    return ClassMapping.from_dict(data, str(path))
