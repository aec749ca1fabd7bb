"""Storing parsed records: encounters and hourly arrival counts.

Every ingest is all or nothing: the records are checked, then the encounters (or
counts) and the WorkloadHour rows they change are written in one transaction, so a
failure leaves the database exactly as it was.

One module because encounters and counts share that whole path (checking, the batch
write, the workload rebuild, the summary and its progress), and splitting it would split
the one transaction each ingest is.
"""

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from healthcare.encounters.bulk import bulk_upsert
from healthcare.encounters.choices import ACTIVE_STATUSES, NOT_PRESENT_STATUSES
from healthcare.encounters.ingest.mapping import ClassMapping
from healthcare.encounters.ingest.records import ArrivalRecord, EncounterRecord, RecordError
from healthcare.encounters.metrics import INGEST_ROWS
from healthcare.encounters.models import ArrivalCount, Department, Encounter
from healthcare.encounters.pseudonym import patient_pseudonymizer
from healthcare.encounters.selectors import encounters_generation
from healthcare.encounters.services.departments import department_create
from healthcare.encounters.services.workload import (
    WorkloadChange,
    workload_apply_stays,
    workload_changed_notify,
    workload_rebuild,
)
from healthcare.encounters.workload import MAX_DRAWN_STAY_HOURS

LOOKUP_CHUNK = 5000
# Encounters are stored in chunks of this size, with a progress line after each.
UPSERT_CHUNK = 25_000
# No acute-care stay lasts longer; a longer one is a data error (and would fill years of hours).
MAX_STAY = timedelta(days=365)
ENCOUNTER_FIELDS = [
    "source",
    "source_id",
    "patient_key",
    "department",
    "encounter_class",
    "status",
    "start",
    "end",
    "created_at",
    "updated_at",
]

Progress = Callable[[str], None]


class Stay(NamedTuple):
    """An encounter's stored columns besides its keys (source, source_id) and timestamps, in
    ENCOUNTER_FIELDS order: what a record is compared with and what the workload is counted from."""

    patient_key: str
    department_id: int
    encounter_class: str
    status: str
    start: datetime
    end: datetime | None


class IngestError(Exception):
    """Records were rejected and nothing was stored."""

    def __init__(self, errors: list[RecordError]):
        self.errors = errors
        super().__init__(f"{len(errors)} invalid record(s); nothing was imported")


@dataclass
class IngestSummary:
    """What one import did. Skipped records are those rejected under skip_invalid."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: list[RecordError] = field(default_factory=list)
    out_of_scope: Counter = field(default_factory=Counter)
    other_resources: Counter = field(default_factory=Counter)
    departments_created: list[str] = field(default_factory=list)
    workload: WorkloadChange = field(default_factory=WorkloadChange)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "skipped": [str(error) for error in self.skipped],
            "out_of_scope": dict(self.out_of_scope),
            "departments_created": self.departments_created,
            "workload_hours_written": self.workload.written,
            "workload_hours_deleted": self.workload.deleted,
            "notes": self.notes,
        }


def encounters_ingest(
    *,
    records: list[EncounterRecord],
    source: str,
    mapping: ClassMapping | None = None,
    visible_departments: QuerySet | None = None,
    skip_invalid: bool = False,
    summary: IngestSummary | None = None,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> IngestSummary:
    """Upsert encounters on (source, source_id) and bring the hourly workload up to date.

    mapping: create the departments it has templates for (file imports); None for the API.
    visible_departments: the caller may only write to these (and only change encounters
    stored in them); others count as unknown.
    A later record with the same source id replaces an earlier one, in the batch and in
    the database. Records equal to what is stored are left untouched (counted unchanged).
    Raises IngestError (nothing written) if a record is rejected, unless skip_invalid, in
    which case the rejected records are listed in summary.skipped.
    """
    summary = summary or IngestSummary()
    now = now or timezone.now()
    pseudonymize = patient_pseudonymizer(settings.PSEUDONYM_KEY)
    before = (summary.created, summary.updated, summary.unchanged)

    with transaction.atomic():
        departments = _departments_for_codes(
            (r.department_code for r in records), mapping=mapping, visible=visible_departments, summary=summary
        )
        errors = []
        accepted = []
        for record in records:
            problem = _record_problem(record, departments, now)
            if problem:
                errors.append(problem)
            else:
                accepted.append(record)
        latest = {r.source_id: r for r in accepted}
        if len(accepted) > len(latest):
            summary.notes.append(
                f"{len(accepted) - len(latest)} record(s) repeated an earlier source id; the last one was kept"
            )

        # The departments written to are locked (_departments_for_codes), so two imports do not
        # rebuild the same hours at once; so are those the stored encounters are moved from, below.
        locked = {department.id: department for department in departments.values()}
        existing = _existing_encounters(source, list(latest))
        if visible_departments is not None:
            errors += _foreign_encounters_withdraw(latest, existing, departments, visible_departments)
        if errors and not skip_invalid:
            raise IngestError(errors)
        summary.skipped.extend(errors)
        locked.update(_departments_lock(s.department_id for s in existing.values() if s.department_id not in locked))

        to_write: list[tuple] = []
        affected: dict[int, _WorkloadChanges] = {}
        for source_id, record in latest.items():
            department = departments[record.department_code]
            stay = Stay(
                patient_key=record.patient_key or pseudonymize(record.patient_id),
                department_id=department.id,
                encounter_class=record.encounter_class,
                status=record.status,
                start=record.start,
                end=record.end,
            )
            stored = existing.get(source_id)
            if stay == stored:
                summary.unchanged += 1
                continue
            if stored is None:
                summary.created += 1
            else:
                summary.updated += 1
            _workload_changes_add(affected, stored, stay, now)
            to_write.append((source, source_id, *stay, now, now))

        if to_write:
            encounters_generation.replace()
        for offset in range(0, len(to_write), UPSERT_CHUNK):
            bulk_upsert(
                Encounter,
                to_write[offset : offset + UPSERT_CHUNK],
                fields=ENCOUNTER_FIELDS,
                unique_fields=["source", "source_id"],
                # created_at is left as it was on rows that already exist.
                update_fields=ENCOUNTER_FIELDS[2:-2] + ["updated_at"],
            )
            if progress and len(to_write) > UPSERT_CHUNK:
                progress(f"stored {min(offset + UPSERT_CHUNK, len(to_write)):,}/{len(to_write):,} encounters")

        for department_id, changes in affected.items():
            department = locked[department_id]
            change = None
            if changes.countable:
                change = workload_apply_stays(
                    department=department, removed=changes.removed, added=changes.added, now=now
                )
            if change is None:
                change = workload_rebuild(
                    department=department, start=min(changes.moments), end=max(changes.moments), now=now
                )
            summary.workload.add(change)
            workload_changed_notify(department, change)
    _rows_count("encounters", summary, before)
    return summary


def _foreign_encounters_withdraw(
    latest: dict[str, EncounterRecord],
    existing: dict[str, Stay],
    departments: dict[str, Department],
    visible: QuerySet,
) -> list[RecordError]:
    """Take out of `latest` and `existing` the records whose source id is stored in a department
    the caller does not see; one error each."""
    allowed = {department.id for department in departments.values()}
    if any(stored.department_id not in allowed for stored in existing.values()):
        # Some are stored elsewhere (a transfer's earlier stay): in a department this user sees?
        allowed = set(visible.values_list("id", flat=True))
    errors = []
    for source_id, stored in list(existing.items()):
        if stored.department_id not in allowed:
            record = latest.pop(source_id)
            del existing[source_id]
            errors.append(
                RecordError(record.location, "id", f"'{source_id}' is taken by an encounter you may not change")
            )
    return errors


def _rows_count(kind: str, summary: IngestSummary, before: tuple[int, int, int]) -> None:
    """Add this call's stored rows to the ingest metric (after its own transaction block succeeded)."""
    for result, total, earlier in zip(
        ("created", "updated", "unchanged"), (summary.created, summary.updated, summary.unchanged), before, strict=True
    ):
        if total > earlier:
            INGEST_ROWS.labels(kind=kind, result=result).inc(total - earlier)


@dataclass
class _WorkloadChanges:
    """What the changed stays of one department do to its hours, both ways it can be brought up to date."""

    moments: list[datetime] = field(default_factory=list)  # a rebuild from the first to the last covers it
    removed: list[tuple[datetime, datetime | None]] = field(default_factory=list)  # counted stays, as they were
    added: list[tuple[datetime, datetime | None]] = field(default_factory=list)  # and as they are now
    countable: bool = True  # no drawn stay length: the difference of removed and added is exact


def _stay_kind(status: str, end: datetime | None) -> str:
    """absent (adds no workload), counted (from start to end, or still here) or drawn (a length from the model)."""
    if status in NOT_PRESENT_STATUSES:
        return "absent"
    return "counted" if end is not None or status in ACTIVE_STATUSES else "drawn"


def _workload_changes_add(affected: dict[int, _WorkloadChanges], stored: Stay | None, new: Stay, now: datetime) -> None:
    """Add one stay's change, from stored (None: a new one) to new, to its departments' changes."""
    moments = _workload_moments(stored, new, now)
    if not moments:
        return  # no hour changes
    for department_id, moment in moments:
        affected.setdefault(department_id, _WorkloadChanges()).moments.append(moment)
    for stay, side in ((stored, "removed"), (new, "added")):
        if stay is None:
            continue
        kind = _stay_kind(stay.status, stay.end)
        changes = affected.setdefault(stay.department_id, _WorkloadChanges())
        if kind == "drawn":
            changes.countable = False
        elif kind == "counted":
            getattr(changes, side).append((stay.start, stay.end))


def _workload_moments(stored: Stay | None, new: Stay, now: datetime) -> list[tuple[int, datetime]]:
    """(department id, moment) pairs: the hours between a department's earliest and latest moment hold
    every hour whose workload the change alters.

    A discharge alters only the hours from its end on, not the whole stay: a live event then
    recomputes the last hour or two instead of every hour since the admission.
    """

    def footprint(stay: Stay) -> list[tuple[int, datetime]]:
        return [(stay.department_id, stay.start), (stay.department_id, stay.end or now)]

    if stored is None:
        return footprint(new)
    old_kind, new_kind = _stay_kind(stored.status, stored.end), _stay_kind(new.status, new.end)
    if stored.department_id != new.department_id or old_kind != new_kind or old_kind == "drawn":
        # Moved, appeared or vanished, or a drawn stay length: all of both stays' hours.
        return footprint(stored) + footprint(new)
    if old_kind == "absent":
        return []
    # Counted both times, in the same department: only what lies between the old and new bounds.
    # A stay still open counts through the current hour, the last one rebuilt: now stands for its end.
    moments = []
    if stored.start != new.start:
        moments += [stored.start, new.start]
    if stored.end != new.end:
        moments += [stored.end or now, new.end or now]
    return [(new.department_id, moment) for moment in moments]


def _record_problem(record: EncounterRecord, departments: dict[str, Department], now: datetime) -> RecordError | None:
    """Why a parsed record cannot be stored, if it cannot."""
    if record.department_code not in departments:
        return RecordError(record.location, "department", f"unknown department '{record.department_code}'")
    if record.end is not None and record.end - record.start > MAX_STAY:
        return RecordError(record.location, "end", f"makes a stay longer than {MAX_STAY.days} days")
    if record.end is None and record.status in ACTIVE_STATUSES and now - record.start > MAX_STAY:
        return RecordError(
            record.location,
            "start",
            f"still {record.status} more than {MAX_STAY.days} days after it; send its end or final status",
        )
    return None


def _departments_for_codes(
    codes: Iterable[str], *, mapping: ClassMapping | None, visible: QuerySet | None, summary: IngestSummary
) -> dict[str, Department]:
    """Departments by code, locked (in id order, so imports never deadlock); codes the mapping has
    templates for are created if missing (new rows no other transaction sees until commit)."""
    codes = set(codes)
    queryset = visible if visible is not None else Department.objects.all()
    rows = queryset.filter(code__in=codes).select_for_update(of=("self",)).order_by("id")
    departments = {d.code: d for d in rows}
    if mapping is None:
        return departments
    for code in sorted(codes - departments.keys()):
        template = mapping.departments.get(code)
        if template is None or Department.objects.filter(code=code).exists():
            continue
        departments[code] = department_create(code=code, name=template.name, unit_type=template.unit_type)
        summary.departments_created.append(code)
    return departments


def _departments_lock(department_ids: Iterable[int]) -> dict[int, Department]:
    """Row locks on the departments, taken in id order; the rows as they are once locked, by id."""
    ids = sorted(set(department_ids))
    if not ids:
        return {}
    rows = Department.objects.select_for_update().filter(id__in=ids).order_by("id")
    return {department.id: department for department in rows}


def _existing_encounters(source: str, source_ids: list[str]) -> dict[str, Stay]:
    """The stored stays of these source ids, by source id."""
    existing = {}
    if len(source_ids) > LOOKUP_CHUNK and not Encounter.objects.filter(source=source).exists():
        return existing  # a first large import from this source: nothing to compare with
    for offset in range(0, len(source_ids), LOOKUP_CHUNK):
        rows = Encounter.objects.filter(source=source, source_id__in=source_ids[offset : offset + LOOKUP_CHUNK])
        for source_id, *columns in rows.values_list("source_id", *ENCOUNTER_FIELDS[2:-2]):
            existing[source_id] = Stay(*columns)
    return existing


def arrivals_ingest(
    *,
    department: Department,
    records: list[ArrivalRecord],
    source: str,
    summary: IngestSummary | None = None,
    now: datetime | None = None,
) -> IngestSummary:
    """Upsert hourly arrival counts of one department and bring its workload up to date.

    The census behind counts comes from the department's length-of-stay model.
    """
    summary = summary or IngestSummary()
    if not records:
        return summary
    now = now or timezone.now()
    before = (summary.created, summary.updated, summary.unchanged)
    with transaction.atomic():
        _departments_lock([department.id])
        first, last = records[0].hour, records[-1].hour
        stored = dict(
            ArrivalCount.objects.filter(department=department, hour__gte=first, hour__lte=last).values_list(
                "hour", "arrivals"
            )
        )
        to_write = []
        for record in records:
            previous = stored.get(record.hour)
            if previous == record.arrivals:
                summary.unchanged += 1
                continue
            if previous is None:
                summary.created += 1
            else:
                summary.updated += 1
            to_write.append((department.id, record.hour, record.arrivals, source))
        bulk_upsert(
            ArrivalCount,
            to_write,
            fields=["department", "hour", "arrivals", "source"],
            unique_fields=["department", "hour"],
            update_fields=["arrivals", "source"],
        )
        if to_write:
            # Stays that began in the imported hours reach at most MAX_DRAWN_STAY_HOURS later.
            change = workload_rebuild(
                department=department,
                start=to_write[0][1],
                end=to_write[-1][1] + timedelta(hours=MAX_DRAWN_STAY_HOURS + 1),
                now=now,
            )
            summary.workload.add(change)
            workload_changed_notify(department, change)
    _rows_count("arrivals", summary, before)
    return summary
