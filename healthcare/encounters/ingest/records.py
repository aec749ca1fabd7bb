"""What the parsers produce: normalised records and precise errors."""

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Generic, TypeVar


@dataclass(frozen=True, slots=True)
class EncounterRecord:
    """One encounter as a source reported it. patient_id is raw: the service pseudonymizes it,
    unless patient_key already holds the pseudonym (a stored encounter being updated)."""

    source_id: str
    patient_id: str
    department_code: str
    encounter_class: str
    status: str
    start: datetime
    end: datetime | None
    location: str
    patient_key: str = ""


@dataclass(frozen=True, slots=True)
class ArrivalRecord:
    """Arrivals counted in the hour that begins at `hour` (UTC)."""

    hour: datetime
    arrivals: int
    location: str


@dataclass(frozen=True, slots=True)
class RecordError:
    """Why one record (or a whole file) was rejected."""

    location: str
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.location}, field {self.field}" if self.field else self.location
        return f"{where}: {self.message}"


R = TypeVar("R")


@dataclass
class ParseResult(Generic[R]):
    records: list[R] = field(default_factory=list)
    errors: list[RecordError] = field(default_factory=list)
    # Encounter classes the mapping leaves out (wellness, ambulatory...): class -> count.
    out_of_scope: Counter = field(default_factory=Counter)
    # Resources of other types in FHIR bundles (Patient, Claim...): type -> count.
    other_resources: Counter = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)

    def extend(self, other: "ParseResult[R]") -> None:
        self.records.extend(other.records)
        self.errors.extend(other.errors)
        self.out_of_scope.update(other.out_of_scope)
        self.other_resources.update(other.other_resources)
        self.notes.extend(other.notes)


def parse_timestamp(text: str, default_tz: tzinfo) -> datetime:
    """ISO 8601 date or date-time -> aware datetime in UTC.

    A timestamp without an offset is local time in default_tz. Raises ValueError with a
    message fit for the user.
    """
    text = text.strip()
    if not text:
        raise ValueError("is empty")
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"'{text}' is not an ISO 8601 date-time (e.g. 2024-03-01T14:00:00Z)") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=default_tz)
    return value.astimezone(UTC)
