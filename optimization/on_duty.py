"""Who is on duty, as recorded: putting a plan in force, and recording call-ins, releases and absences.

A plan request only proposes a roster; nothing here changes the shift already on duty unless
someone records it. Every write names who made it and when, and announces itself with
optimization.signals.staffing_changed after commit (alerts and dashboards react).
"""

from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from healthcare.encounters.models import Department
from healthcare.hours import epoch_hour, hour_start
from healthcare.signals import send_on_commit
from optimization.models import DutyChange, DutyChangeKind, OptimizationRun, RunStatus
from optimization.plan_result import Plan
from optimization.policies import staffing_rules_for
from optimization.roster_in_force import nurses_on_duty, rostered_nurses
from optimization.rules import shift_instances_around
from optimization.signals import staffing_changed


def _announce(department: Department) -> None:
    send_on_commit(staffing_changed, sender=Department, department_id=department.id)


def _hour_floor(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def _hour_ceil(moment: datetime) -> datetime:
    floor = _hour_floor(moment)
    return floor if floor == moment else floor + timedelta(hours=1)


def running_shift_end(department: Department, *, now: datetime) -> datetime:
    """When the latest-ending shift running at the hour `now` ends (the next hour if none runs)."""
    rules = staffing_rules_for(department)
    hour = epoch_hour(_hour_floor(now))
    instances, _ = shift_instances_around(rules, start_hour=hour, horizon=24, timezone=department.timezone)
    end = max((instance.end for instance in instances if instance.start <= 0 < instance.end), default=1)
    return hour_start(hour + end)


def next_shift_start(department: Department, *, now: datetime) -> datetime:
    """The start of the first shift that begins after the hour `now` (a later hour than now)."""
    rules = staffing_rules_for(department)
    hour = epoch_hour(_hour_floor(now))
    instances, _ = shift_instances_around(rules, start_hour=hour, horizon=48, timezone=department.timezone)
    start = min(instance.start for instance in instances if instance.start > 0)
    return hour_start(hour + start)


def plan_put_in_force(*, run: OptimizationRun, by, now: datetime | None = None) -> OptimizationRun:
    """Make a succeeded plan the roster for its hours from the next shift start on (the shift on
    duty keeps its nurses), or from the current hour when no roster is in force for it yet.

    Raises ValidationError when the plan did not succeed or has no hour left to put in force.
    """
    now = now or timezone.now()
    with transaction.atomic():
        run = OptimizationRun.objects.select_for_update().select_related("department").get(pk=run.pk)
        if run.status != RunStatus.SUCCEEDED:
            raise ValidationError({"status": "only a plan that succeeded can be put in force"})
        department, hour = run.department, _hour_floor(now)
        covered_now = bool(rostered_nurses(department, first=hour, last=hour))
        start = next_shift_start(department, now=now) if covered_now else hour
        start = max(start, run.planned_from)
        hours = Plan.from_json(run.result).hours
        if not hours or hours[-1].hour < start:
            raise ValidationError({"in_force_from": f"the plan has no hour left from {start:%Y-%m-%d %H:00} UTC on"})
        run.in_force_from, run.put_in_force_at, run.put_in_force_by = start, now, by
        run.save(update_fields=["in_force_from", "put_in_force_at", "put_in_force_by"])
        _announce(department)
    return run


def duty_change_record(
    *,
    department: Department,
    kind: str,
    nurses: int,
    by,
    starts_at: datetime | None = None,
    hours: int | None = None,
    note: str = "",
    nurse=None,
    now: datetime | None = None,
) -> DutyChange:
    """Record nurses called in (confirmed), released or absent, for whole hours; `nurse` names the
    one nurse concerned (then `nurses` is 1).

    Defaults: a call-in starts after the department's on-call lead time and lasts its block; a
    release or an absence starts this hour and lasts until the running shift ends. Hours are
    counted the safe way: a call-in from the first whole hour the nurse is there, a release or an
    absence from the hour it happens in. Raises ValidationError naming the field.
    """
    now = now or timezone.now()
    rules = staffing_rules_for(department)
    if kind not in DutyChangeKind.values:
        raise ValidationError({"kind": f"one of {', '.join(DutyChangeKind.values)}"})
    if kind == DutyChangeKind.CALL_IN:
        start = _hour_ceil(starts_at or now + timedelta(hours=rules.oncall_lead_hours))
        end = start + timedelta(hours=hours or rules.oncall_block_hours)
    else:
        start = _hour_floor(starts_at or now)
        end = start + timedelta(hours=hours) if hours else running_shift_end(department, now=start)
    change = DutyChange(
        department=department,
        kind=kind,
        nurses=nurses,
        nurse=nurse,
        starts_at=start,
        ends_at=end,
        note=note,
        recorded_by=by,
    )
    change.full_clean()
    with transaction.atomic():
        change.save()
        _announce(department)
    return change


def duty_change_cancel(*, change: DutyChange, by, now: datetime | None = None) -> DutyChange:
    """Take back a change recorded by mistake; the row stays, with who cancelled it and when.

    Cancelling twice keeps the first cancellation.
    """
    with transaction.atomic():
        change = DutyChange.objects.select_for_update().select_related("department").get(pk=change.pk)
        if change.cancelled_at is None:
            change.cancelled_at, change.cancelled_by = now or timezone.now(), by
            change.save(update_fields=["cancelled_at", "cancelled_by"])
            _announce(change.department)
    return change


def on_duty_at_start(department: Department, *, first: datetime) -> int | None:
    """Nurses recorded on duty at the hour `first` (roster in force and duty changes), if any."""
    return nurses_on_duty(department, first=first, last=first).get(first)
