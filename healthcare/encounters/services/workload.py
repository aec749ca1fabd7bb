"""The hourly workload: WorkloadHour rows derived from stored encounters and counts.

One module because every way the rows change (a full rebuild, the incremental update of a
live event, the hourly refresh, the current hour computed before its row exists) reads the
same span and derivation and must agree to the patient.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

import numpy as np
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from healthcare.db.statements import Statement
from healthcare.encounters.bulk import BATCH_SIZE, bulk_upsert
from healthcare.encounters.choices import ACTIVE_STATUSES, NOT_PRESENT_STATUSES
from healthcare.encounters.models import ArrivalCount, Department, Encounter, WorkloadHour
from healthcare.encounters.signals import workload_changed
from healthcare.encounters.workload import (
    MAX_DRAWN_STAY_HOURS,
    counted_arrival_stays,
    hourly_workload,
    lognormal_stay_hours,
    text_seed,
    text_uniforms,
)
from healthcare.hours import epoch_hour, hour_start, iso_utc
from healthcare.private_pieces import private_piece_enabled
from healthcare.signals import send_on_commit

# Dashboards draw a department's last 48 hours; changes to them are sent with the event.
LIVE_WINDOW_HOURS = 48


@dataclass
class WorkloadChange:
    """WorkloadHour rows written (created or changed) and deleted.

    live: the changed hours of the last LIVE_WINDOW_HOURS as (hour, arrivals, census), a
    removed hour as zeros; None when some change there cannot be listed (dashboards then
    re-read their snapshot).
    """

    written: int = 0
    deleted: int = 0
    live: list[tuple[datetime, int, int]] | None = field(default_factory=list)

    def add(self, other: "WorkloadChange") -> None:
        self.written += other.written
        self.deleted += other.deleted
        self.live = None if self.live is None or other.live is None else self.live + other.live


def workload_changed_notify(department: Department, change: WorkloadChange) -> None:
    """After commit, tell the other apps (caches, alerts, dashboards) that some hours changed."""
    if not (change.written or change.deleted):
        return
    payload = {"hours_written": change.written, "hours_deleted": change.deleted}
    if change.live is not None:
        # Pages patch these hours in place instead of each re-reading its snapshot.
        payload["hours"] = [
            {"hour": iso_utc(hour), "arrivals": arrivals, "census": census}
            for hour, arrivals, census in sorted(change.live)
        ]
    send_on_commit(
        workload_changed,
        sender=Department,
        department_id=department.id,
        department_code=department.code,
        change=payload,
    )


def department_workload_rebuild(
    *, department_id: int, start: datetime | None = None, end: datetime | None = None, now: datetime | None = None
) -> WorkloadChange | None:
    """Lock the department, rebuild its hours from start to end (default all), tell its dashboards.

    None if the department no longer exists. Safe to repeat: rows are derived from stored data.
    """
    with transaction.atomic():
        department = Department.objects.select_for_update().filter(id=department_id).first()
        if department is None:
            return None
        change = workload_rebuild(department=department, start=start, end=end, now=now)
        workload_changed_notify(department, change)
    return change


def workload_refresh_recent(*, hours: int = 6, now: datetime | None = None) -> WorkloadChange:
    """Rebuild every department's last `hours` hours, so census keeps up as time passes.

    Patients still in a unit count up to the current hour, and stays that were sent
    ahead of time begin to count once their hour comes: both need this hourly refresh.
    """
    now = now or timezone.now()
    total = WorkloadChange()
    for department_id in Department.objects.order_by("id").values_list("id", flat=True):
        change = department_workload_rebuild(
            department_id=department_id, start=now - timedelta(hours=hours), end=now, now=now
        )
        if change is not None:
            total.add(change)
    return total


def workload_rebuild(
    *,
    department: Department,
    start: datetime | None = None,
    end: datetime | None = None,
    now: datetime | None = None,
) -> WorkloadChange:
    """Recompute the department's WorkloadHour rows for the hours from start to end.

    Without bounds, all of its hours are recomputed. Rows outside the span of its data
    are always removed. Only rows whose values change are written; hours that end up
    with no patient lose their row. Call inside the transaction that changed the data,
    with the department locked.
    """
    now = now or timezone.now()
    current_hour = epoch_hour(now)
    change = WorkloadChange()
    rows = WorkloadHour.objects.filter(department=department)
    span = _department_span(department, current_hour)
    if span is None:
        change.deleted, _ = rows.delete()
        change.live = None if change.deleted else []
        return change
    first, last = span.first, span.last
    # The span shrinks when data is corrected (a stay now ends earlier): rows past it go.
    outside = rows.filter(hour__lt=hour_start(first)) | rows.filter(hour__gt=hour_start(last))
    change.deleted, _ = outside.delete()
    if change.deleted:
        change.live = None
    low = first if start is None else max(first, epoch_hour(start))
    high = last if end is None else min(last, epoch_hour(end))
    # The span grows with new data, and a drawn stay or counted arrivals from before may reach into
    # the hours it gained, which lie after the last stored row: those are recomputed too.
    low = min(low, first if span.last_row is None else max(first, span.last_row + 1))
    if low > high:
        return change

    starts, ends, discharged = _stays(department, low, high, with_counts=span.with_counts)
    workload = hourly_workload(first_hour=low, last_hour=high, starts=starts, ends=ends, discharged=discharged)
    computed = np.stack([workload.arrivals, workload.discharges, workload.census], axis=1)
    has_patients = computed.any(axis=1)

    # Compare with what is stored, as arrays aligned on the hours.
    size = high - low + 1
    stored_rows = list(
        rows.filter(hour__gte=hour_start(low), hour__lte=hour_start(high))
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
    change.written += _hours_write(
        department, [(hour_start(low + int(index)), *counts) for index, counts in zip(changed, values, strict=True)]
    )
    change.deleted += _hours_delete(rows, [hour_start(low + int(index)) for index in np.flatnonzero(remove)])

    if change.live is not None:
        window_start = current_hour - LIVE_WINDOW_HOURS + 1
        change.live.extend(
            (hour_start(low + int(index)), arrivals, census)
            for index, (arrivals, _, census) in zip(changed, values, strict=True)
            if low + index >= window_start
        )
        change.live.extend(
            (hour_start(low + int(index)), 0, 0) for index in np.flatnonzero(remove) if low + index >= window_start
        )
    return change


def workload_hour_compute(*, department: Department, hour: datetime) -> tuple[int, int, int] | None:
    """(arrivals, discharges, census) of the hour starting at `hour` as workload_rebuild would store
    them, derived from the department's stays and counts without writing anything; None when its data
    do not reach that hour (none at all, or nobody still here and nothing recorded since).

    A read: what the current hour holds before its row is written, by its first event or the hourly
    refresh. The patients still here are there all the same.
    """
    epoch = epoch_hour(hour)
    span = _department_span(department, epoch)
    if span is None or not span.first <= epoch <= span.last:
        return None
    starts, ends, discharged = _stays(department, epoch, epoch, with_counts=span.with_counts)
    workload = hourly_workload(first_hour=epoch, last_hour=epoch, starts=starts, ends=ends, discharged=discharged)
    return int(workload.arrivals[0]), int(workload.discharges[0]), int(workload.census[0])


def workload_hour_now(department: Department, *, now: datetime) -> tuple[int, int] | None:
    """(arrivals, census) of the hour `now` falls in: its row, or before the row is written (its first
    event or the hourly refresh writes it) the same figures derived from the stays, who are there
    all the same. None when the department's data do not reach this hour. Reads only."""
    hour = now.replace(minute=0, second=0, microsecond=0)
    row = WorkloadHour.objects.filter(department=department, hour=hour).values_list("arrivals", "census").first()
    if row is not None:
        return row
    computed = workload_hour_compute(department=department, hour=hour)
    return None if computed is None else (computed[0], computed[2])


def workload_apply_stays(
    *,
    department: Department,
    removed: list[tuple[datetime, datetime | None]],
    added: list[tuple[datetime, datetime | None]],
    now: datetime | None = None,
) -> WorkloadChange | None:
    """Take the hours of the removed stays away and add those of the added ones, if the department's
    rows are current; None if they may not be (the caller rebuilds instead).

    Stays are (start, end), end None while the patient is still here, and counted as they stand
    (not cancelled, no drawn length). The rows are current when the department's span ends at the
    current hour and that hour has its row: it was computed during this hour, by a rebuild or by
    this function, and every hour before it by the rebuilds and changes before. A change then alters
    each hour by exactly the difference of its own stays. A row that would go negative proves the
    rows were not current after all: None, and the caller's rebuild sets them right. Call inside the
    transaction that changed the data, with the department locked.
    """
    now = now or timezone.now()
    current_hour = epoch_hour(now)
    change = WorkloadChange()
    if not (removed or added):
        return change
    span = _department_span(department, current_hour)
    if span is None or span.last != current_hour or span.last_row != current_hour:
        return None
    first_hour = min(epoch_hour(start) for start, _ in removed + added)
    size = current_hour - first_hour + 1
    if size <= 0:
        return change  # stays sent ahead of time: they count once their hour comes (the hourly refresh)
    delta = _stays_workload(added, first_hour, current_hour) - _stays_workload(removed, first_hour, current_hour)
    changed = np.flatnonzero(delta.any(axis=1))
    if not len(changed):
        return change
    hours = [hour_start(first_hour + int(index)) for index in changed]
    rows = WorkloadHour.objects.filter(department=department)
    stored = np.zeros((size, 3), dtype=np.int64)
    for hour, *counts in rows.filter(hour__in=hours).order_by().values_list("hour", "arrivals", "discharges", "census"):
        stored[epoch_hour(hour) - first_hour] = counts
    updated = stored[changed] + delta[changed]
    if (updated < 0).any():
        return None
    keep = updated.any(axis=1)
    change.written = _hours_write(
        department, [(hour, *counts) for hour, counts, kept in zip(hours, updated.tolist(), keep, strict=True) if kept]
    )
    change.deleted = _hours_delete(rows, [hour for hour, kept in zip(hours, keep, strict=True) if not kept])
    window_start = hour_start(current_hour - LIVE_WINDOW_HOURS + 1)
    change.live = [
        (hour, arrivals, census)
        for hour, (arrivals, _, census) in zip(hours, updated.tolist(), strict=True)
        if hour >= window_start
    ]
    return change


def _hours_write(department: Department, rows: list[tuple]) -> int:
    """Store the department's (hour, arrivals, discharges, census) rows, new or changed; how many."""
    bulk_upsert(
        WorkloadHour,
        [(department.id, *row) for row in rows],
        fields=["department", "hour", "arrivals", "discharges", "census"],
        unique_fields=["department", "hour"],
        update_fields=["arrivals", "discharges", "census"],
    )
    return len(rows)


def _hours_delete(rows: QuerySet, hours: list[datetime]) -> int:
    """Delete the rows (a department's) of these hours, that no longer have a patient; how many."""
    deleted = 0
    for offset in range(0, len(hours), BATCH_SIZE):
        count, _ = rows.filter(hour__in=hours[offset : offset + BATCH_SIZE]).delete()
        deleted += count
    return deleted


def _stays_workload(stays: list[tuple[datetime, datetime | None]], first_hour: int, last_hour: int) -> np.ndarray:
    """(hours, 3) arrivals, discharges and census of counted stays alone; a stay without an end is still here."""
    starts = _epoch_hours(start for start, _ in stays)
    ends = np.array([np.inf if end is None else end.timestamp() / 3600.0 for _, end in stays], dtype=np.float64)
    workload = hourly_workload(
        first_hour=first_hour, last_hour=last_hour, starts=starts, ends=ends, discharged=np.isfinite(ends)
    )
    return np.stack([workload.arrivals, workload.discharges, workload.census], axis=1)


def _epoch_hours(moments: Iterable[datetime]) -> np.ndarray:
    return np.fromiter((moment.timestamp() / 3600.0 for moment in moments), dtype=np.float64)


class _Span(NamedTuple):
    first: int  # epoch hours
    last: int
    with_counts: bool  # the department has arrival counts
    last_row: int | None  # its latest stored WorkloadHour


def _department_bounds(department_pk: int) -> QuerySet:
    """The department's data bounds, one row of named values; each bound is an index lookup."""
    present = Encounter.objects.filter(department=OuterRef("pk")).exclude(status__in=NOT_PRESENT_STATUSES).order_by()
    counts = ArrivalCount.objects.filter(department=OuterRef("pk")).order_by()
    return Department.objects.filter(pk=department_pk).values(
        first_start=Subquery(present.order_by("start").values("start")[:1]),
        last_start=Subquery(present.order_by("-start").values("start")[:1]),
        last_end=Subquery(present.filter(end__isnull=False).order_by("-end").values("end")[:1]),
        first_count=Subquery(counts.order_by("hour").values("hour")[:1]),
        last_count=Subquery(counts.order_by("-hour").values("hour")[:1]),
        # Patients still here (no end, active) are present up to the current hour.
        still_here=Exists(present.filter(end__isnull=True, status__in=ACTIVE_STATUSES)),
        last_row=Subquery(WorkloadHour.objects.filter(department=OuterRef("pk")).order_by("-hour").values("hour")[:1]),
    )


# Every live event reads it, and compiling its seven subqueries costs more than running them.
_department_bounds_statement = Statement(_department_bounds)


def _department_span(department: Department, current_hour: int) -> _Span | None:
    """The first and last epoch hour of the department's data (never past the current hour), None
    without data. One statement (_department_bounds)."""
    if not private_piece_enabled("statements"):
        bounds = _department_bounds(department.pk).get()
    else:
        [row] = _department_bounds_statement.rows(department.pk)
        bounds = dict(zip(_department_bounds_statement.names(), row, strict=True))
    firsts = [moment for moment in (bounds["first_start"], bounds["first_count"]) if moment]
    if not firsts:
        return None
    lasts = [moment for moment in (bounds["last_start"], bounds["last_end"], bounds["last_count"]) if moment]
    first = epoch_hour(min(firsts))
    last = epoch_hour(max(lasts))
    if bounds["still_here"]:
        last = max(last, current_hour)
    last_row = None if bounds["last_row"] is None else epoch_hour(bounds["last_row"])
    return _Span(first, min(last, current_hour), bounds["first_count"] is not None, last_row)


def _stays(
    department: Department, first_hour: int, last_hour: int, *, with_counts: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(starts, ends, discharged) of every stay that may touch the hours, in epoch hours; with_counts:
    the virtual stays behind the department's arrival counts too."""
    window_start, window_end = hour_start(first_hour), hour_start(last_hour + 1)
    present = (
        Encounter.objects.filter(department=department, start__lt=window_end)
        .exclude(status__in=NOT_PRESENT_STATUSES)
        .order_by()
    )

    # end == window_start still matters: its discharge falls in the first hour.
    rows = list(
        present.filter(Q(end__gte=window_start) | Q(end__isnull=True)).values_list(
            "start", "end", "status", "source", "source_id"
        )
    )
    closed = [row for row in rows if row[1] is not None]
    starts = [_epoch_hours(row[0] for row in closed)]
    ends = [_epoch_hours(row[1] for row in closed)]
    discharged = [np.ones(len(closed), dtype=bool)]

    open_rows = [(start, status, source, source_id) for start, end, status, source, source_id in rows if end is None]
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

    if not with_counts:
        return np.concatenate(starts), np.concatenate(ends), np.concatenate(discharged)
    counts = list(
        ArrivalCount.objects.filter(
            department=department,
            hour__gte=hour_start(first_hour - MAX_DRAWN_STAY_HOURS - 1),
            hour__lt=window_end,
            arrivals__gt=0,
        )
        .order_by()
        .values_list("hour", "arrivals")
    )
    if counts:
        count_starts, count_ends = counted_arrival_stays(
            np.array([epoch_hour(row[0]) for row in counts], dtype=np.int64),
            np.array([row[1] for row in counts], dtype=np.int64),
            seed=text_seed(f"department:{department.code}"),
            median_hours=department.los_median_hours,
            sigma=department.los_sigma,
        )
        starts.append(count_starts)
        ends.append(count_ends)
        discharged.append(np.ones(len(count_starts), dtype=bool))

    return np.concatenate(starts), np.concatenate(ends), np.concatenate(discharged)
