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
}

FORMATS = ("synthea-csv", "fhir")


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
        return cls(classes=classes, departments=departments)


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
