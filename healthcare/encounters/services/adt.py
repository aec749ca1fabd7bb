"""HL7 v2 ADT messages applied to the stays: admits, transfers, discharges, their cancels, and merges.

A visit (PV1-19) is one encounter id, as with live events: its first stay has the visit number as its
source id, and each transfer closes the open stay and opens one in the new department (source id
"<visit>/<control id>"). The stays go through encounters_ingest, so the hourly workload, the caches
and the dashboards follow as they do for every other source.

A message is applied whole or not at all, in one transaction with its log row; an accepted control
id is never applied twice. Messages about one visit are applied one at a time (a PostgreSQL advisory
lock), whichever listener received them.
"""

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from healthcare.encounters.choices import ACTIVE_STATUSES, NOT_PRESENT_STATUSES
from healthcare.encounters.ingest.hl7 import (
    REQUIRED_FIELD_MISSING,
    TABLE_VALUE_NOT_FOUND,
    UNKNOWN_KEY_IDENTIFIER,
    AdtMessage,
    Header,
    Hl7Refusal,
    Problem,
)
from healthcare.encounters.ingest.mapping import ClassMapping
from healthcare.encounters.ingest.records import EncounterRecord
from healthcare.encounters.models import Department, Encounter, HeldAdtEvent, Hl7Message, Hl7Outcome
from healthcare.encounters.pseudonym import patient_pseudonymizer
from healthcare.encounters.services.ingest import IngestError, encounters_ingest


@dataclass(frozen=True)
class AdtOutcome:
    """How a message was answered: code AA/AE/AR, what it did (note), and the problem of an AE or AR."""

    code: str
    note: str = ""
    problem: Problem | None = None


def adt_apply(*, message: AdtMessage, source: str, mapping: ClassMapping, now: datetime | None = None) -> AdtOutcome:
    """Apply one ADT message and log it; AA with what it did, or AE naming the segment and field.

    Database errors propagate (the caller answers AE without logging: nothing was stored).
    """
    now = now or timezone.now()
    try:
        with transaction.atomic():
            if _accepted_before(source, message.control_id):
                return AdtOutcome(Hl7Outcome.ACCEPTED, "duplicate")
            if message.visit:
                _visit_lock(source, message.visit)
            note = _apply(message, source, mapping, now)
            _log(source, message, Hl7Outcome.ACCEPTED, note=note, visit=message.visit)
    except Hl7Refusal as refusal:
        _log(source, message, Hl7Outcome.ERROR, problem=refusal.problem, visit=message.visit)
        return AdtOutcome(Hl7Outcome.ERROR, problem=refusal.problem)
    except IntegrityError:
        if not _accepted_before(source, message.control_id):
            raise
        return AdtOutcome(Hl7Outcome.ACCEPTED, "duplicate")  # another listener applied the same message
    return AdtOutcome(Hl7Outcome.ACCEPTED, note)


def adt_log_unread(*, header: Header, source: str, outcome: str, problem: Problem) -> None:
    """Log a message that was rejected before it could be applied (AR, or an AE of the parser)."""
    Hl7Message.objects.create(
        source=source,
        control_id=header.control_id[:64],
        message_type=header.message_type[:16],
        version=header.version[:8],
        sender=header.sender[:128],
        outcome=outcome,
        error=str(problem)[:300],
    )


def _accepted_before(source: str, control_id: str) -> bool:
    return Hl7Message.objects.filter(source=source, control_id=control_id, outcome=Hl7Outcome.ACCEPTED).exists()


def _visit_lock(source: str, visit: str) -> None:
    """Serialise the messages of one visit across listeners until this transaction ends."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"adt:{source}:{visit}"])


def _log(source: str, message: AdtMessage, outcome: str, *, note: str = "", problem=None, visit: str = "") -> None:
    Hl7Message.objects.create(
        source=source,
        control_id=message.control_id[:64],
        message_type=message.message_type[:16],
        version=message.version[:8],
        sender=message.sender[:128],
        visit=visit[:128],
        outcome=outcome,
        note=note,
        error=str(problem)[:300] if problem else "",
    )


@dataclass
class _Visit:
    """The stays of one visit, oldest first, and what the message makes of them."""

    source: str
    number: str
    stays: list[Encounter]

    @property
    def present(self) -> list[Encounter]:
        return [stay for stay in self.stays if stay.status not in NOT_PRESENT_STATUSES]

    @property
    def open_stay(self) -> Encounter | None:
        present = self.present
        if present and present[-1].end is None and present[-1].status in ACTIVE_STATUSES:
            return present[-1]
        return None


def _apply(message: AdtMessage, source: str, mapping: ClassMapping, now: datetime) -> str:
    """Apply the message; what it did, in a word or two. Raises Hl7Refusal (nothing applied)."""
    if message.trigger == "A40":
        return _merge(message, source, now)
    if not message.applied:
        return "ignored"
    if not message.visit:
        raise Hl7Refusal(Problem("PV1", 19, REQUIRED_FIELD_MISSING, "the visit number is empty (and PID-18 too)"))
    visit = _Visit(source, message.visit, _stays(source, message.visit))
    handler = {
        "A01": _admit,
        "A04": _admit,
        "A02": _transfer,
        "A03": _discharge,
        "A08": _update,
        "A11": _cancel_admit,
        "A12": _cancel_transfer,
        "A13": _cancel_discharge,
    }[message.trigger]
    return handler(message, visit, _Context(mapping, now))


@dataclass
class _Context:
    mapping: ClassMapping
    now: datetime

    def department(self, message: AdtMessage) -> Department | None:
        """The department the message puts the patient in; None when the mapping leaves it out of scope.

        PV1-3 point of care decides when it is sent (an unknown one is refused); PV1-2 patient class
        and then the mapping's default only when it is empty.
        """
        table = self.mapping.hl7
        point = message.point_of_care.strip()
        if point:
            key = point.casefold()
            if key in table.points_of_care:
                return _department_named(table.points_of_care[key], message, 3)
            department = Department.objects.filter(code=point.upper()).first()
            if department is None:
                raise Hl7Refusal(
                    Problem("PV1", 3, TABLE_VALUE_NOT_FOUND, f"point of care '{point}' maps to no department")
                )
            return department
        patient_class = message.patient_class.strip().casefold()
        if patient_class and patient_class in table.patient_classes:
            return _department_named(table.patient_classes[patient_class], message, 2)
        if table.default_department:
            return _department_named(table.default_department, message, 3)
        raise Hl7Refusal(
            Problem(
                "PV1",
                3,
                TABLE_VALUE_NOT_FOUND,
                f"no point of care, and patient class '{message.patient_class}' maps to no department",
            )
        )


def _department_named(code: str | None, message: AdtMessage, field: int) -> Department | None:
    if code is None:
        return None
    department = Department.objects.filter(code=code).first()
    if department is None:
        problem = Problem("PV1", field, TABLE_VALUE_NOT_FOUND, f"maps to department '{code}', which is not set up")
        raise Hl7Refusal(problem)
    return department


def _stays(source: str, visit: str) -> list[Encounter]:
    return list(
        Encounter.objects.filter(source=source)
        .filter(Q(source_id=visit) | Q(source_id__startswith=f"{visit}/"))
        .select_related("department")
        .order_by("start", "id")
    )


def _local(moment: datetime | None, department: Department, field: tuple[str, int]) -> datetime:
    """A message time in UTC; a time without an offset is the department's local time."""
    if moment is None:
        raise Hl7Refusal(Problem(*field, REQUIRED_FIELD_MISSING, "no time is given (nor EVN-6, EVN-2 or MSH-7)"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(department.timezone))
    return moment.astimezone(ZoneInfo("UTC"))


def _record(stay: Encounter, message: AdtMessage, **changes) -> EncounterRecord:
    """A stored stay as a record, with changes (department_code, status, start, end, ...)."""
    values = {
        "source_id": stay.source_id,
        "patient_id": "",
        "patient_key": stay.patient_key,
        "department_code": stay.department.code,
        "encounter_class": stay.encounter_class,
        "status": stay.status,
        "start": stay.start,
        "end": stay.end,
        "location": f"{message.message_type} {message.control_id}",
    }
    values.update(changes)
    return EncounterRecord(**values)


def _new_record(message: AdtMessage, source_id: str, department: Department, start: datetime, end=None):
    if not message.patient_id:
        raise Hl7Refusal(Problem("PID", 3, REQUIRED_FIELD_MISSING, "the patient id is empty"))
    return EncounterRecord(
        source_id=source_id,
        patient_id=message.patient_id,
        department_code=department.code,
        encounter_class=message.patient_class or "hl7",
        status="finished" if end else "in-progress",
        start=start,
        end=end,
        location=f"{message.message_type} {message.control_id}",
    )


def _store(records: list[EncounterRecord], visit: _Visit, context: _Context) -> None:
    try:
        encounters_ingest(records=records, source=visit.source, now=context.now)
    except IngestError as exc:
        error = exc.errors[0]
        field = {"start": ("PV1", 44), "end": ("PV1", 45)}.get(error.field, ("PV1", 19))
        raise Hl7Refusal(Problem(*field, REQUIRED_FIELD_MISSING, error.message)) from None


def _admit(message: AdtMessage, visit: _Visit, context: _Context) -> str:
    """A01 admit, A04 register: open a stay (an open one is updated as A08 would)."""
    department = context.department(message)
    if department is None:
        return "out of scope"
    if visit.open_stay is not None:
        return _update(message, visit, context)
    if visit.present:
        return "already discharged"  # its discharge came first and was reconciled from PV1-44
    start = _local(message.admitted_at, department, ("PV1", 44))
    source_id = visit.number  # a cancelled admission's row is reused
    record = _new_record(message, source_id, department, start)
    held = list(HeldAdtEvent.objects.filter(source=visit.source, visit=visit.number).order_by("occurred_at"))
    if held:
        record = EncounterRecord(**{**_fields(record), "status": "finished", "end": max(held[0].occurred_at, start)})
        HeldAdtEvent.objects.filter(id__in=[event.id for event in held]).delete()
    _store([record], visit, context)
    return "admitted, held discharge applied" if held else "admitted"


def _fields(record: EncounterRecord) -> dict:
    return {name: getattr(record, name) for name in record.__dataclass_fields__}


def _transfer(message: AdtMessage, visit: _Visit, context: _Context) -> str:
    """A02: close the open stay and open one in the new department (from an untracked unit: an admit)."""
    department = context.department(message)
    current = visit.open_stay
    if current is None:
        if department is None:
            return "out of scope"
        start = _local(message.event_at, department, ("EVN", 6))
        _store([_new_record(message, _next_id(visit, message), department, start)], visit, context)
        return "admitted by transfer"
    moment = _local(message.event_at, current.department, ("EVN", 6))
    if moment < current.start:
        raise Hl7Refusal(Problem("EVN", 6, UNKNOWN_KEY_IDENTIFIER, "the transfer is before the stay began"))
    if department is not None and department.id == current.department_id:
        return "same department"
    records = [_record(current, message, status="finished", end=moment)]
    if department is not None:
        records.append(_new_record(message, _next_id(visit, message), department, moment))
        records[-1] = EncounterRecord(**{**_fields(records[-1]), "patient_key": current.patient_key})
    _store(records, visit, context)
    return "transferred" if department is not None else "transferred out of scope"


def _next_id(visit: _Visit, message: AdtMessage) -> str:
    return visit.number if not visit.stays else f"{visit.number}/{message.control_id}"


def _discharge(message: AdtMessage, visit: _Visit, context: _Context) -> str:
    """A03: close the open stay. Before any admission: reconciled from PV1-44, or held for the admission."""
    current = visit.open_stay
    if current is not None:
        end = _local(message.discharged_at, current.department, ("PV1", 45))
        if end < current.start:
            raise Hl7Refusal(Problem("PV1", 45, UNKNOWN_KEY_IDENTIFIER, "the discharge is before the stay began"))
        _store([_record(current, message, status="finished", end=end)], visit, context)
        return "discharged"
    if visit.present:
        raise Hl7Refusal(Problem("PV1", 19, UNKNOWN_KEY_IDENTIFIER, "the visit has no open stay to discharge"))
    department = context.department(message)
    if department is None:
        return "out of scope"
    end = _local(message.discharged_at, department, ("PV1", 45))
    if message.admit_at is not None:
        start = _local(message.admit_at, department, ("PV1", 44))
        if end < start:
            raise Hl7Refusal(Problem("PV1", 45, UNKNOWN_KEY_IDENTIFIER, "the discharge is before the admission"))
        _store([_new_record(message, visit.number, department, start, end)], visit, context)
        return "reconciled"
    if not message.patient_id:
        raise Hl7Refusal(Problem("PID", 3, REQUIRED_FIELD_MISSING, "the patient id is empty"))
    HeldAdtEvent.objects.create(
        source=visit.source,
        visit=visit.number,
        control_id=message.control_id,
        trigger=message.trigger,
        occurred_at=end,
        patient_key=patient_pseudonymizer(settings.PSEUDONYM_KEY)(message.patient_id),
    )
    return "held"


def _update(message: AdtMessage, visit: _Visit, context: _Context) -> str:
    """A08: correct the open stay's department and admission time; an unknown visit is admitted."""
    current = visit.open_stay
    if current is None:
        if visit.present:
            return "no open stay"  # demographics of a finished visit: nothing the census reads
        department = context.department(message)
        if department is None:
            return "out of scope"
        start = _local(message.admitted_at, department, ("PV1", 44))
        end = _local(message.discharge_at, department, ("PV1", 45)) if message.discharge_at else None
        _store([_new_record(message, _next_id(visit, message), department, start, end)], visit, context)
        return "reconciled"
    department = context.department(message) or current.department
    start = _local(message.admit_at, department, ("PV1", 44)) if message.admit_at else current.start
    if department.id == current.department_id and start == current.start:
        return "unchanged"
    _store([_record(current, message, department_code=department.code, start=start)], visit, context)
    return "updated"


def _cancel_admit(message: AdtMessage, visit: _Visit, context: _Context) -> str:
    """A11: the visit never was; its stays stop counting and a held discharge is dropped."""
    held = HeldAdtEvent.objects.filter(source=visit.source, visit=visit.number)
    if not visit.present:
        if held.delete()[0]:
            return "held discharge dropped"
        raise Hl7Refusal(Problem("PV1", 19, UNKNOWN_KEY_IDENTIFIER, "the visit has no admission to cancel"))
    held.delete()
    _store([_record(stay, message, status="cancelled") for stay in visit.present], visit, context)
    return "admission cancelled"


def _cancel_transfer(message: AdtMessage, visit: _Visit, context: _Context) -> str:
    """A12: the last transfer never was; its stay stops counting and the stay before it is open again."""
    present = visit.present
    current = visit.open_stay
    if current is None or len(present) < 2 or "/" not in current.source_id:
        raise Hl7Refusal(Problem("PV1", 19, UNKNOWN_KEY_IDENTIFIER, "the visit has no transfer to cancel"))
    previous = present[-2]
    records = [
        _record(current, message, status="cancelled"),
        _record(previous, message, status="in-progress", end=None),
    ]
    _store(records, visit, context)
    return "transfer cancelled"


def _cancel_discharge(message: AdtMessage, visit: _Visit, context: _Context) -> str:
    """A13: the discharge never was; the last stay is open again (or a held discharge is dropped)."""
    if HeldAdtEvent.objects.filter(source=visit.source, visit=visit.number).delete()[0]:
        return "held discharge dropped"
    present = visit.present
    if not present or present[-1].end is None:
        raise Hl7Refusal(Problem("PV1", 19, UNKNOWN_KEY_IDENTIFIER, "the visit has no discharge to cancel"))
    _store([_record(present[-1], message, status="in-progress", end=None)], visit, context)
    return "discharge cancelled"


def _merge(message: AdtMessage, source: str, now: datetime) -> str:
    """A40: the prior patient's stays (any source) and held events belong to the surviving patient."""
    pseudonymize = patient_pseudonymizer(settings.PSEUDONYM_KEY)
    moved = 0
    for merge in message.merges:
        prior, surviving = pseudonymize(merge.prior_patient_id), pseudonymize(merge.patient_id)
        moved += Encounter.objects.filter(patient_key=prior).update(patient_key=surviving, updated_at=now)
        HeldAdtEvent.objects.filter(patient_key=prior).update(patient_key=surviving)
    return f"merged {moved} stays"[:32]
