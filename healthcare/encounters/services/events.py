"""Live admit, discharge and transfer events: they become encounter upserts, then the usual workload update.

A stay is one encounter row per department: an admit opens one (its source id is the
encounter id), a transfer closes the open stay and opens another in the new department
(source id "<encounter id>/<event id>"), a discharge closes the open stay.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from healthcare.encounters.choices import ACTIVE_STATUSES
from healthcare.encounters.ingest.records import EncounterRecord, RecordError
from healthcare.encounters.models import Encounter, PatientEvent
from healthcare.encounters.services.ingest import IngestError, IngestSummary, encounters_ingest

# Clocks of sending systems drift a little; events from further in the future are refused.
FUTURE_TOLERANCE = timedelta(minutes=5)


@dataclass(frozen=True)
class EventRecord:
    event_id: str
    kind: str  # admit, discharge, transfer
    encounter_id: str
    occurred_at: datetime
    location: str
    department_code: str = ""  # admit and transfer: where the patient is now
    patient_id: str = ""  # admit: the source's patient id (pseudonymized before it is stored)
    encounter_class: str = "live"


@dataclass
class EventSummary:
    applied: int = 0
    duplicates: int = 0
    ingest: IngestSummary = field(default_factory=IngestSummary)


@dataclass
class _Stay:
    source_id: str
    department_code: str
    start: datetime
    encounter_class: str
    patient_id: str = ""
    patient_key: str = ""
    end: datetime | None = None

    def record(self, location: str) -> EncounterRecord:
        return EncounterRecord(
            source_id=self.source_id,
            patient_id=self.patient_id,
            patient_key=self.patient_key,
            department_code=self.department_code,
            encounter_class=self.encounter_class,
            status="finished" if self.end else "in-progress",
            start=self.start,
            end=self.end,
            location=location,
        )


def events_apply(
    *, source: str, events: list[EventRecord], visible_departments: QuerySet, now: datetime | None = None
) -> EventSummary:
    """Apply events in the order they happened; all or nothing; an event id seen before is skipped.

    Raises IngestError naming each event that cannot apply (unknown department or encounter,
    a discharge before the admission, an event from the future).
    """
    now = now or timezone.now()
    summary = EventSummary()
    known = set(
        PatientEvent.objects.filter(source=source, event_id__in=[e.event_id for e in events]).values_list(
            "event_id", flat=True
        )
    )
    fresh, seen = [], set()
    for event in events:
        if event.event_id in known or event.event_id in seen:
            summary.duplicates += 1
            continue
        seen.add(event.event_id)
        fresh.append(event)
    fresh.sort(key=lambda event: event.occurred_at)

    codes = {department.code: department for department in visible_departments}
    open_stays: dict[str, _Stay] = {}  # encounter id -> its open stay, as the batch changes it
    touched: list[tuple[_Stay, str]] = []
    rows, errors = [], []

    def open_stay(encounter_id: str) -> _Stay | None:
        if encounter_id not in open_stays:
            open_stays[encounter_id] = _stored_open_stay(source, encounter_id)
        return open_stays[encounter_id]

    for event in fresh:
        problem = _check(event, codes, now)
        if problem:
            errors.append(problem)
            continue
        current = open_stay(event.encounter_id)
        if event.kind == "admit":
            if current is not None:
                errors.append(RecordError(event.location, "encounter_id", "is already admitted and not discharged"))
                continue
            stay = _Stay(
                event.encounter_id, event.department_code, event.occurred_at, event.encounter_class, event.patient_id
            )
            open_stays[event.encounter_id] = stay
            touched.append((stay, event.location))
            department_code = event.department_code
        else:
            if current is None:
                errors.append(RecordError(event.location, "encounter_id", "has no open stay to end"))
                continue
            if event.occurred_at < current.start:
                errors.append(RecordError(event.location, "occurred_at", "is before the stay began"))
                continue
            current.end = event.occurred_at
            touched.append((current, event.location))
            open_stays[event.encounter_id] = None
            department_code = current.department_code
            if event.kind == "transfer":
                stay = _Stay(
                    f"{event.encounter_id}/{event.event_id}",
                    event.department_code,
                    event.occurred_at,
                    current.encounter_class,
                    current.patient_id,
                    current.patient_key,
                )
                open_stays[event.encounter_id] = stay
                touched.append((stay, event.location))
                department_code = event.department_code
        rows.append((event, department_code))
    if errors:
        raise IngestError(errors)

    latest = {stay.source_id: (stay, location) for stay, location in touched}
    with transaction.atomic():
        summary.ingest = encounters_ingest(
            records=[stay.record(location) for stay, location in latest.values()],
            source=source,
            visible_departments=visible_departments,
            now=now,
        )
        PatientEvent.objects.bulk_create(
            PatientEvent(
                source=source,
                event_id=event.event_id,
                kind=event.kind,
                encounter_id=event.encounter_id,
                department=codes[code],
                occurred_at=event.occurred_at,
            )
            for event, code in rows
        )
    summary.applied = len(rows)
    return summary


def _check(event: EventRecord, departments: dict, now: datetime) -> RecordError | None:
    if event.occurred_at > now + FUTURE_TOLERANCE:
        return RecordError(event.location, "occurred_at", "is in the future")
    if event.kind in ("admit", "transfer") and event.department_code not in departments:
        return RecordError(event.location, "department", f"unknown department '{event.department_code}'")
    if event.kind == "admit" and not event.patient_id:
        return RecordError(event.location, "patient", "is required to admit")
    return None


def _stored_open_stay(source: str, encounter_id: str) -> _Stay | None:
    """The encounter's stay still open in the database (no end, active), if any."""
    stay = (
        Encounter.objects.filter(source=source, end__isnull=True, status__in=ACTIVE_STATUSES)
        .filter(Q(source_id=encounter_id) | Q(source_id__startswith=f"{encounter_id}/"))
        .select_related("department")
        .order_by("-start")
        .first()
    )
    if stay is None:
        return None
    return _Stay(
        stay.source_id,
        stay.department.code,
        stay.start,
        stay.encounter_class,
        patient_key=stay.patient_key,
    )
