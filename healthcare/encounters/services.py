"""Writes of the patient-flow data: departments, ingestion, and the derived hourly workload.

Every ingest is all-or-nothing: records are validated before the transaction opens, and
the encounters (or counts) and the WorkloadHour rows they change are written in one
transaction, so a failure leaves the database exactly as it was.
"""

import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Max, Min, QuerySet
from django.utils import timezone

from dashboard.broadcast import broadcast_department_event
from healthcare.encounters.bulk import bulk_upsert
from healthcare.encounters.choices import ACTIVE_STATUSES, NOT_PRESENT_STATUSES, UNIT_DEFAULTS
from healthcare.encounters.ingest.mapping import ClassMapping
from healthcare.encounters.ingest.records import ArrivalRecord, EncounterRecord, RecordError
from healthcare.encounters.models import ArrivalCount, Department, Encounter, WorkloadHour
from healthcare.encounters.pseudonym import patient_pseudonymizer
from healthcare.encounters.workload import (
    MAX_DRAWN_STAY_HOURS,
    counted_arrival_stays,
    hourly_workload,
    lognormal_stay_hours,
    text_seed,
    text_uniforms,
)

logger = logging.getLogger(__name__)

WRITE_BATCH = 2000
LOOKUP_CHUNK = 5000
# Encounters are stored in chunks of this size, with a progress line after each.
UPSERT_CHUNK = 25_000
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
# Fields the derived census depends on: changing one rebuilds the department's workload.
WORKLOAD_FIELDS = ("code", "los_median_hours", "los_sigma")

Progress = Callable[[str], None]


class IngestError(Exception):
    """Records were rejected and nothing was stored."""

    def __init__(self, errors: list[RecordError]):
        self.errors = errors
        super().__init__(f"{len(errors)} invalid record(s); nothing was imported")


@dataclass
class WorkloadChange:
    written: int = 0
    deleted: int = 0


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


# --- Departments ----------------------------------------------------------------------------


def department_create(*, code: str, name: str, unit_type: str, **overrides) -> Department:
    """A new department with its unit type's defaults, overridden by any field given."""
    defaults = UNIT_DEFAULTS.get(unit_type)
    values = vars(defaults).copy() if defaults else {}
    values.update({key: value for key, value in overrides.items() if value is not None})
    department = Department(code=code.strip().upper(), name=name, unit_type=unit_type, **values)
    department.full_clean()
    department.save()
    return department


def department_update(*, department: Department, **changes) -> Department:
    """Change a department's fields; a new length-of-stay model rebuilds its workload (Celery)."""
    from healthcare.encounters.tasks import workload_rebuild_task

    before = tuple(getattr(department, name) for name in WORKLOAD_FIELDS)
    for name, value in changes.items():
        setattr(department, name, value)
    department.full_clean()
    department.save()
    if tuple(getattr(department, name) for name in WORKLOAD_FIELDS) != before:
        workload_rebuild_task.delay_on_commit(department.id)
    return department


def _departments_for_codes(
    codes: Iterable[str], *, mapping: ClassMapping | None, visible: QuerySet | None, summary: IngestSummary
) -> dict[str, Department]:
    """Departments by code; codes the mapping has templates for are created if missing."""
    codes = set(codes)
    queryset = visible if visible is not None else Department.objects.all()
    departments = {d.code: d for d in queryset.filter(code__in=codes)}
    if mapping is None:
        return departments
    for code in sorted(codes - departments.keys()):
        template = mapping.departments.get(code)
        if template is None or Department.objects.filter(code=code).exists():
            continue
        departments[code] = department_create(code=code, name=template.name, unit_type=template.unit_type)
        summary.departments_created.append(code)
    return departments


# --- Encounters ----------------------------------------------------------------------------


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

    mapping: create departments it has templates for (file imports); None for the API.
    visible_departments: restrict to these (the caller's); others count as unknown.
    A later record with the same source id replaces an earlier one, in the batch and in
    the database. Records equal to what is stored are left untouched (counted unchanged).
    Raises IngestError (nothing written) if a record names an unknown department, unless
    skip_invalid, in which case those records are reported in summary.skipped.
    """
    summary = summary or IngestSummary()
    now = now or timezone.now()
    pseudonymize = patient_pseudonymizer(settings.PSEUDONYM_KEY)

    with transaction.atomic():
        departments = _departments_for_codes(
            (r.department_code for r in records), mapping=mapping, visible=visible_departments, summary=summary
        )
        errors = [
            RecordError(r.location, "department", f"unknown department '{r.department_code}'")
            for r in records
            if r.department_code not in departments
        ]
        if errors and not skip_invalid:
            raise IngestError(errors)
        summary.skipped.extend(errors)

        latest = {r.source_id: r for r in records if r.department_code in departments}
        repeated = sum(1 for r in records if r.department_code in departments) - len(latest)
        if repeated:
            summary.notes.append(f"{repeated} record(s) repeated an earlier source id; the last one was kept")
        # Lock the departments touched so two imports do not rebuild the same hours at once.
        locked = Department.objects.select_for_update().filter(id__in=[d.id for d in departments.values()])
        list(locked.order_by("id"))

        existing = _existing_encounters(source, list(latest))
        to_write: list[tuple] = []
        affected: dict[int, list[datetime]] = {}
        for source_id, record in latest.items():
            department = departments[record.department_code]
            row = (
                pseudonymize(record.patient_id),
                department.id,
                record.encounter_class,
                record.status,
                record.start,
                record.end,
            )
            old = existing.get(source_id)
            if old is not None and old[1:] == row:
                summary.unchanged += 1
                continue
            if old is None:
                summary.created += 1
            else:
                summary.updated += 1
                affected.setdefault(old[2], []).extend((old[5], old[6] or now))
            affected.setdefault(department.id, []).extend((record.start, record.end or now))
            to_write.append((source, source_id, *row, now, now))

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

        for department_id, moments in affected.items():
            department = Department.objects.get(id=department_id)
            change = workload_rebuild(department=department, start=min(moments), end=max(moments), now=now)
            _record_workload_change(department, change, summary)
    return summary


def _record_workload_change(department: Department, change: "WorkloadChange", summary: IngestSummary) -> None:
    """Add the change to the summary and tell the department's dashboards after commit."""
    summary.workload.written += change.written
    summary.workload.deleted += change.deleted
    if change.written or change.deleted:
        broadcast_department_event(
            department.code, "workload.changed", {"hours_written": change.written, "hours_deleted": change.deleted}
        )


def _existing_encounters(source: str, source_ids: list[str]) -> dict[str, tuple]:
    """source_id -> (id, patient_key, department_id, class, status, start, end) of stored rows."""
    existing = {}
    if not Encounter.objects.filter(source=source).exists():
        return existing  # a first import from this source: nothing to compare with
    for offset in range(0, len(source_ids), LOOKUP_CHUNK):
        rows = Encounter.objects.filter(source=source, source_id__in=source_ids[offset : offset + LOOKUP_CHUNK])
        for row in rows.values_list(
            "source_id", "id", "patient_key", "department_id", "encounter_class", "status", "start", "end"
        ):
            existing[row[0]] = row[1:]
    return existing


# --- Hourly arrival counts -----------------------------------------------------------------


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
    with transaction.atomic():
        Department.objects.select_for_update().filter(id=department.id).first()
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
            _record_workload_change(department, change, summary)
    return summary


# --- Hourly workload -----------------------------------------------------------------------


def _epoch_hours(moments: Iterable[datetime]) -> np.ndarray:
    return np.fromiter((moment.timestamp() / 3600.0 for moment in moments), dtype=np.float64)


def _hour_start(epoch_hour: int) -> datetime:
    return datetime.fromtimestamp(epoch_hour * 3600, tz=UTC)


def _department_span(department: Department, current_hour: int) -> tuple[int, int] | None:
    """(first, last) epoch hour of the department's data, never past the current hour."""
    present = Encounter.objects.filter(department=department).exclude(status__in=NOT_PRESENT_STATUSES)
    encounter_bounds = present.aggregate(first=Min("start"), last_start=Max("start"), last_end=Max("end"))
    count_bounds = ArrivalCount.objects.filter(department=department).aggregate(first=Min("hour"), last=Max("hour"))
    firsts = [moment for moment in (encounter_bounds["first"], count_bounds["first"]) if moment]
    if not firsts:
        return None
    lasts = [
        moment
        for moment in (encounter_bounds["last_start"], encounter_bounds["last_end"], count_bounds["last"])
        if moment
    ]
    first = int(min(firsts).timestamp() // 3600)
    last = int(max(lasts).timestamp() // 3600)
    # Patients still here (no end, active) are present up to the current hour.
    if present.filter(end__isnull=True, status__in=ACTIVE_STATUSES).exists():
        last = max(last, current_hour)
    return first, min(last, current_hour)


def _stays(department: Department, first_hour: int, last_hour: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(starts, ends, discharged) of every stay that may overlap the hours, in epoch hours."""
    window_start, window_end = _hour_start(first_hour), _hour_start(last_hour + 1)
    present = (
        Encounter.objects.filter(department=department, start__lt=window_end)
        .exclude(status__in=NOT_PRESENT_STATUSES)
        .order_by()
    )

    closed = list(present.filter(end__gt=window_start).values_list("start", "end"))
    starts = [_epoch_hours(row[0] for row in closed)]
    ends = [_epoch_hours(row[1] for row in closed)]
    discharged = [np.ones(len(closed), dtype=bool)]

    open_rows = list(present.filter(end__isnull=True).values_list("start", "status", "source", "source_id"))
    if open_rows:
        open_starts = _epoch_hours(row[0] for row in open_rows)
        active = np.array([row[1] in ACTIVE_STATUSES for row in open_rows])
        # An open stay that is not active (finished without an end time, unknown) gets a
        # length drawn from the department's model, keyed on its identity.
        drawn = lognormal_stay_hours(
            text_uniforms([f"{row[2]}:{row[3]}" for row in open_rows]),
            median_hours=department.los_median_hours,
            sigma=department.los_sigma,
        )
        starts.append(open_starts)
        ends.append(np.where(active, np.inf, open_starts + drawn))
        discharged.append(~active)

    counts = list(
        ArrivalCount.objects.filter(
            department=department,
            hour__gte=_hour_start(first_hour - MAX_DRAWN_STAY_HOURS - 1),
            hour__lt=window_end,
            arrivals__gt=0,
        )
        .order_by()
        .values_list("hour", "arrivals")
    )
    if counts:
        count_starts, count_ends = counted_arrival_stays(
            np.array([int(row[0].timestamp() // 3600) for row in counts], dtype=np.int64),
            np.array([row[1] for row in counts], dtype=np.int64),
            seed=text_seed(f"department:{department.code}"),
            median_hours=department.los_median_hours,
            sigma=department.los_sigma,
        )
        starts.append(count_starts)
        ends.append(count_ends)
        discharged.append(np.ones(len(count_starts), dtype=bool))

    return np.concatenate(starts), np.concatenate(ends), np.concatenate(discharged)


def workload_rebuild(
    *,
    department: Department,
    start: datetime | None = None,
    end: datetime | None = None,
    now: datetime | None = None,
) -> WorkloadChange:
    """Recompute the department's WorkloadHour rows for the hours from start to end.

    Without bounds, all of its hours are recomputed. Rows outside the span of its data
    are always removed. Only rows whose values change are written; hours that end up with no patient lose their
    row. Call inside the transaction that changed the data.
    """
    now = now or timezone.now()
    current_hour = int(now.timestamp() // 3600)
    change = WorkloadChange()
    rows = WorkloadHour.objects.filter(department=department)
    span = _department_span(department, current_hour)
    if span is None:
        change.deleted, _ = rows.delete()
        return change
    first, last = span
    # The span shrinks when data is corrected (a stay now ends earlier): rows past it go.
    outside = rows.filter(hour__lt=_hour_start(first)) | rows.filter(hour__gt=_hour_start(last))
    change.deleted, _ = outside.delete()
    low = first if start is None else max(first, int(start.timestamp() // 3600))
    high = last if end is None else min(last, int(end.timestamp() // 3600))
    if low > high:
        return change

    starts, ends, discharged = _stays(department, low, high)
    workload = hourly_workload(first_hour=low, last_hour=high, starts=starts, ends=ends, discharged=discharged)
    computed = np.stack([workload.arrivals, workload.discharges, workload.census], axis=1)
    has_patients = computed.any(axis=1)

    # Compare with what is stored, as arrays aligned on the hours.
    size = high - low + 1
    stored_rows = list(
        rows.filter(hour__gte=_hour_start(low), hour__lte=_hour_start(high))
        .order_by()
        .values_list("hour", "arrivals", "discharges", "census")
    )
    stored_index = _epoch_hours(row[0] for row in stored_rows).astype(np.int64) - low
    stored = np.zeros(size, dtype=bool)
    stored[stored_index] = True
    stored_values = np.zeros((size, 3), dtype=np.int64)
    if stored_rows:
        stored_values[stored_index] = np.array([row[1:] for row in stored_rows], dtype=np.int64)

    write = has_patients & (~stored | (stored_values != computed).any(axis=1))
    remove = stored & ~has_patients

    changed = np.flatnonzero(write)
    values = computed[changed].tolist()
    rows_to_write = [
        (department.id, _hour_start(low + int(index)), *counts) for index, counts in zip(changed, values, strict=True)
    ]
    bulk_upsert(
        WorkloadHour,
        rows_to_write,
        fields=["department", "hour", "arrivals", "discharges", "census"],
        unique_fields=["department", "hour"],
        update_fields=["arrivals", "discharges", "census"],
    )
    change.written += len(rows_to_write)

    stale_hours = [_hour_start(low + int(index)) for index in np.flatnonzero(remove)]
    for offset in range(0, len(stale_hours), WRITE_BATCH):
        deleted, _ = rows.filter(hour__in=stale_hours[offset : offset + WRITE_BATCH]).delete()
        change.deleted += deleted
    return change


def workload_refresh_recent(*, hours: int = 6, now: datetime | None = None) -> WorkloadChange:
    """Rebuild every department's last `hours` hours, so census keeps up as time passes.

    Patients still in a unit count up to the current hour, and stays that were sent
    ahead of time begin to count once their hour comes: both need this hourly refresh.
    """
    now = now or timezone.now()
    total = WorkloadChange()
    for department_id in Department.objects.order_by("id").values_list("id", flat=True):
        with transaction.atomic():
            department = Department.objects.select_for_update().get(id=department_id)
            change = workload_rebuild(department=department, start=now - timedelta(hours=hours), end=now, now=now)
        total.written += change.written
        total.deleted += change.deleted
        if change.written or change.deleted:
            broadcast_department_event(
                department.code, "workload.changed", {"hours_written": change.written, "hours_deleted": change.deleted}
            )
    return total
