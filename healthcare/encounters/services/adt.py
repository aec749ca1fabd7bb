"""HL7 v2 ADT messages applied to the stays: admits, transfers, discharges, their cancels, and merges.

A visit (PV1-19) is one encounter id, as with live events: its first stay has the visit number as its
source id, and each transfer closes the open stay and opens one in the new department (source id
"<visit>/<control id>"). The stays go through encounters_ingest, so the hourly workload, the caches
and the dashboards follow as they do for every other source.

A message is applied whole or not at all, with its log row; an accepted control id is never applied
twice. Messages about one visit are applied one at a time (a PostgreSQL advisory lock), whichever
listener received them. The messages a sender has already sent when one is read are applied as a
batch in one transaction (adt_apply_batch): each sees what the ones before it did, a refused one
changes nothing, and the stays they touched are stored with one workload update, one commit and one
dashboard push, which is what lets a listener keep up with a busy feed.
"""

from dataclasses import dataclass, replace
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
    return adt_apply_batch(messages=[message], source=source, mapping=mapping, now=now)[0]


def adt_apply_batch(
    *, messages: list[AdtMessage], source: str, mapping: ClassMapping, now: datetime | None = None
) -> list[AdtOutcome]:
    """Apply messages in their order in one transaction; one outcome each, as adt_apply's.

    When storing the batch's stays is refused as a whole (a stay the ingest rejects) or another
    listener stored one of its control ids meanwhile, the messages are applied again one at a time,
    so that each gets its own answer.
    """
    now = now or timezone.now()
    try:
        with transaction.atomic():
            return _Batch(source, mapping, now).run(messages)
    except _StoreRefused as refused:
        if len(messages) > 1:
            return [adt_apply(message=message, source=source, mapping=mapping, now=now) for message in messages]
        (message,) = messages
        _log(source, message, Hl7Outcome.ERROR, problem=refused.problem).save()
        return [AdtOutcome(Hl7Outcome.ERROR, problem=refused.problem)]
    except IntegrityError:
        if len(messages) > 1:
            return [adt_apply(message=message, source=source, mapping=mapping, now=now) for message in messages]
        if not _accepted_before(source, [messages[0].control_id]):
            raise
        return [AdtOutcome(Hl7Outcome.ACCEPTED, "duplicate")]  # another listener applied the same message


def adt_log_unread(*, header: Header, source: str, outcome: str, problem: Problem) -> None:
    """Log a message that was rejected before it could be applied (AR, or an AE of the parser)."""
    _log(source, header, outcome, problem=problem).save()


def _accepted_before(source: str, control_ids: list[str]) -> set[str]:
    """Which of these control ids this source had accepted already."""
    accepted = Hl7Message.objects.filter(source=source, control_id__in=control_ids, outcome=Hl7Outcome.ACCEPTED)
    return set(accepted.values_list("control_id", flat=True))


def _visits_lock(source: str, visits: list[str]) -> None:
    """Serialise the messages of these visits across listeners until this transaction ends.

    One statement for a batch; the locks are taken in one order, so two listeners never deadlock.
    """
    if connection.vendor != "postgresql" or not visits:
        return
    keys = sorted({f"adt:{source}:{visit}" for visit in visits})
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtext(key)) FROM unnest(%s::text[]) AS key ORDER BY key", [keys]
        )


def _log(source: str, message: AdtMessage | Header, outcome: str, *, note: str = "", problem=None) -> Hl7Message:
    """The log row of a message, or of the header of one that could not be read (unsaved)."""
    return Hl7Message(
        source=source,
        control_id=message.control_id[:64],
        message_type=message.message_type[:16],
        version=message.version[:8],
        sender=message.sender[:128],
        visit=getattr(message, "visit", "")[:128],
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


class _StoreRefused(Exception):
    """The ingest refused a stay of the batch: nothing of the batch is stored."""

    def __init__(self, problem: Problem):
        self.problem = problem


class _Batch:
    """Messages applied in order in one transaction: the stays they change are kept here, so that each
    message sees the ones before it, and stored together at the end (store)."""

    def __init__(self, source: str, mapping: ClassMapping, now: datetime):
        self.source, self.mapping, self.now = source, mapping, now
        self.departments = {department.code: department for department in Department.objects.all()}
        self.visits: dict[str, list[Encounter]] = {}
        self.held_visits: set[str] = set()  # visits that have (or may have) a held discharge
        self.staged: dict[str, EncounterRecord] = {}
        self.logs: list[Hl7Message] = []
        self.pseudonymize = patient_pseudonymizer(settings.PSEUDONYM_KEY)

    def run(self, messages: list[AdtMessage]) -> list[AdtOutcome]:
        accepted = _accepted_before(self.source, [message.control_id for message in messages])
        visits = [m.visit for m in messages if m.visit and m.trigger in HANDLERS]
        _visits_lock(self.source, visits)
        self._visits_load(visits)
        outcomes = []
        for message in messages:
            if message.control_id in accepted:
                outcomes.append(AdtOutcome(Hl7Outcome.ACCEPTED, "duplicate"))
                continue
            saved = ({number: list(stays) for number, stays in self.visits.items()}, dict(self.staged))
            try:
                note = self._apply(message)
            except Hl7Refusal as refusal:
                self.visits, self.staged = saved
                self.logs.append(_log(self.source, message, Hl7Outcome.ERROR, problem=refusal.problem))
                outcomes.append(AdtOutcome(Hl7Outcome.ERROR, problem=refusal.problem))
                continue
            accepted.add(message.control_id)
            self.logs.append(_log(self.source, message, Hl7Outcome.ACCEPTED, note=note))
            outcomes.append(AdtOutcome(Hl7Outcome.ACCEPTED, note))
        self.store()
        Hl7Message.objects.bulk_create(self.logs)
        return outcomes

    def _apply(self, message: AdtMessage) -> str:
        """Apply one message; what it did, in a word or two. Raises Hl7Refusal, having changed nothing
        (every handler refuses before it stages a stay or writes a held event)."""
        if message.trigger == "A40":
            self.store()  # the merge rewrites stored stays: those staged go first
            self.visits.clear()
            return _merge(message, self.now)
        if not message.applied:
            return "ignored"
        if not message.visit:
            raise Hl7Refusal(Problem("PV1", 19, REQUIRED_FIELD_MISSING, "the visit number is empty (and PID-18 too)"))
        if message.visit not in self.visits:  # after a merge cleared them
            _visits_lock(self.source, [message.visit])
            self._visits_load([message.visit])
        visit = _Visit(self.source, message.visit, self.visits[message.visit])
        return HANDLERS[message.trigger](message, visit, self)

    def _visits_load(self, numbers: list[str]) -> None:
        """The stored stays of these visits (one query), oldest first."""
        numbers = sorted({number for number in numbers if number not in self.visits})
        if not numbers:
            return
        matches = Q(source_id__in=numbers)
        for number in numbers:
            matches |= Q(source_id__startswith=f"{number}/")
        for number in numbers:
            self.visits[number] = []
        held = HeldAdtEvent.objects.filter(source=self.source, visit__in=numbers)
        self.held_visits.update(held.values_list("visit", flat=True))
        rows = Encounter.objects.filter(source=self.source).filter(matches).select_related("department")
        for stay in rows.order_by("start", "id"):
            number = stay.source_id.split("/", 1)[0]
            if number in self.visits:
                self.visits[number].append(stay)

    def stage(self, records: list[EncounterRecord], visit: "_Visit") -> None:
        """Keep the records to store, and show them to the messages after this one."""
        stays = self.visits[visit.number]
        for record in records:
            key = record.patient_key or self.pseudonymize(record.patient_id)
            record = replace(record, patient_key=key, patient_id="")
            self.staged[record.source_id] = record
            stay = next((stay for stay in stays if stay.source_id == record.source_id), None)
            if stay is None:
                stay = Encounter(source=self.source, source_id=record.source_id)
                stays.append(stay)
            else:
                stays[stays.index(stay)] = stay = _copy(stay)
            stay.department = self.departments[record.department_code]
            stay.patient_key, stay.encounter_class = key, record.encounter_class
            stay.status, stay.start, stay.end = record.status, record.start, record.end
        stays.sort(key=lambda stay: (stay.start, stay.pk or 0))

    def store(self) -> None:
        """Store the staged stays (one ingest: one workload update and push per department)."""
        if not self.staged:
            return
        try:
            encounters_ingest(records=list(self.staged.values()), source=self.source, now=self.now)
        except IngestError as exc:
            error = exc.errors[0]
            field = {"start": ("PV1", 44), "end": ("PV1", 45)}.get(error.field, ("PV1", 19))
            raise _StoreRefused(Problem(*field, REQUIRED_FIELD_MISSING, error.message)) from None
        self.staged = {}

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
                return self._department_named(table.points_of_care[key], 3)
            if point.upper() not in self.departments:
                raise Hl7Refusal(
                    Problem("PV1", 3, TABLE_VALUE_NOT_FOUND, f"point of care '{point}' maps to no department")
                )
            return self.departments[point.upper()]
        patient_class = message.patient_class.strip().casefold()
        if patient_class and patient_class in table.patient_classes:
            return self._department_named(table.patient_classes[patient_class], 2)
        if table.default_department:
            return self._department_named(table.default_department, 3)
        raise Hl7Refusal(
            Problem(
                "PV1",
                3,
                TABLE_VALUE_NOT_FOUND,
                f"no point of care, and patient class '{message.patient_class}' maps to no department",
            )
        )

    def _department_named(self, code: str | None, field: int) -> Department | None:
        if code is None:
            return None
        if code not in self.departments:
            problem = Problem("PV1", field, TABLE_VALUE_NOT_FOUND, f"maps to department '{code}', which is not set up")
            raise Hl7Refusal(problem)
        return self.departments[code]


def _copy(stay: Encounter) -> Encounter:
    """A copy of a stay to change, so that a refused message's changes can be dropped with it."""
    copy = Encounter(
        pk=stay.pk,
        source=stay.source,
        source_id=stay.source_id,
        patient_key=stay.patient_key,
        encounter_class=stay.encounter_class,
        status=stay.status,
        start=stay.start,
        end=stay.end,
    )
    copy.department = stay.department
    return copy


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


def _store(records: list[EncounterRecord], visit: _Visit, batch: _Batch) -> None:
    batch.stage(records, visit)


def _admit(message: AdtMessage, visit: _Visit, batch: _Batch) -> str:
    """A01 admit, A04 register: open a stay (an open one is updated as A08 would)."""
    department = batch.department(message)
    if department is None:
        return "out of scope"
    if visit.open_stay is not None:
        return _update(message, visit, batch)
    if visit.present:
        return "already discharged"  # its discharge came first and was reconciled from PV1-44
    start = _local(message.admitted_at, department, ("PV1", 44))
    source_id = visit.number  # a cancelled admission's row is reused
    record = _new_record(message, source_id, department, start)
    held = []
    if visit.number in batch.held_visits:
        held = list(HeldAdtEvent.objects.filter(source=visit.source, visit=visit.number).order_by("occurred_at"))
    if held:
        record = replace(record, status="finished", end=max(held[0].occurred_at, start))
        HeldAdtEvent.objects.filter(id__in=[event.id for event in held]).delete()
    _store([record], visit, batch)
    return "admitted, held discharge applied" if held else "admitted"


def _transfer(message: AdtMessage, visit: _Visit, batch: _Batch) -> str:
    """A02: close the open stay and open one in the new department (from an untracked unit: an admit)."""
    department = batch.department(message)
    current = visit.open_stay
    if current is None:
        if department is None:
            return "out of scope"
        start = _local(message.event_at, department, ("EVN", 6))
        _store([_new_record(message, _next_id(visit, message), department, start)], visit, batch)
        return "admitted by transfer"
    moment = _local(message.event_at, current.department, ("EVN", 6))
    if moment < current.start:
        raise Hl7Refusal(Problem("EVN", 6, UNKNOWN_KEY_IDENTIFIER, "the transfer is before the stay began"))
    if department is not None and department.id == current.department_id:
        return "same department"
    records = [_record(current, message, status="finished", end=moment)]
    if department is not None:
        records.append(_new_record(message, _next_id(visit, message), department, moment))
        records[-1] = replace(records[-1], patient_key=current.patient_key)
    _store(records, visit, batch)
    return "transferred" if department is not None else "transferred out of scope"


def _next_id(visit: _Visit, message: AdtMessage) -> str:
    return visit.number if not visit.stays else f"{visit.number}/{message.control_id}"


def _discharge(message: AdtMessage, visit: _Visit, batch: _Batch) -> str:
    """A03: close the open stay. Before any admission: reconciled from PV1-44, or held for the admission."""
    current = visit.open_stay
    if current is not None:
        end = _local(message.discharged_at, current.department, ("PV1", 45))
        if end < current.start:
            raise Hl7Refusal(Problem("PV1", 45, UNKNOWN_KEY_IDENTIFIER, "the discharge is before the stay began"))
        _store([_record(current, message, status="finished", end=end)], visit, batch)
        return "discharged"
    if visit.present:
        raise Hl7Refusal(Problem("PV1", 19, UNKNOWN_KEY_IDENTIFIER, "the visit has no open stay to discharge"))
    department = batch.department(message)
    if department is None:
        return "out of scope"
    end = _local(message.discharged_at, department, ("PV1", 45))
    if message.admit_at is not None:
        start = _local(message.admit_at, department, ("PV1", 44))
        if end < start:
            raise Hl7Refusal(Problem("PV1", 45, UNKNOWN_KEY_IDENTIFIER, "the discharge is before the admission"))
        _store([_new_record(message, visit.number, department, start, end)], visit, batch)
        return "reconciled"
    if not message.patient_id:
        raise Hl7Refusal(Problem("PID", 3, REQUIRED_FIELD_MISSING, "the patient id is empty"))
    batch.held_visits.add(visit.number)
    HeldAdtEvent.objects.create(
        source=visit.source,
        visit=visit.number,
        control_id=message.control_id,
        trigger=message.trigger,
        occurred_at=end,
        patient_key=patient_pseudonymizer(settings.PSEUDONYM_KEY)(message.patient_id),
    )
    return "held"


def _update(message: AdtMessage, visit: _Visit, batch: _Batch) -> str:
    """A08: correct the open stay's department and admission time; an unknown visit is admitted."""
    current = visit.open_stay
    if current is None:
        if visit.present:
            return "no open stay"  # demographics of a finished visit: nothing the census reads
        department = batch.department(message)
        if department is None:
            return "out of scope"
        start = _local(message.admitted_at, department, ("PV1", 44))
        end = _local(message.discharge_at, department, ("PV1", 45)) if message.discharge_at else None
        _store([_new_record(message, _next_id(visit, message), department, start, end)], visit, batch)
        return "reconciled"
    department = batch.department(message) or current.department
    start = _local(message.admit_at, department, ("PV1", 44)) if message.admit_at else current.start
    if department.id == current.department_id and start == current.start:
        return "unchanged"
    _store([_record(current, message, department_code=department.code, start=start)], visit, batch)
    return "updated"


def _cancel_admit(message: AdtMessage, visit: _Visit, batch: _Batch) -> str:
    """A11: the visit never was; its stays stop counting and a held discharge is dropped."""
    held = HeldAdtEvent.objects.filter(source=visit.source, visit=visit.number)
    if not visit.present:
        if held.delete()[0]:
            return "held discharge dropped"
        raise Hl7Refusal(Problem("PV1", 19, UNKNOWN_KEY_IDENTIFIER, "the visit has no admission to cancel"))
    held.delete()
    _store([_record(stay, message, status="cancelled") for stay in visit.present], visit, batch)
    return "admission cancelled"


def _cancel_transfer(message: AdtMessage, visit: _Visit, batch: _Batch) -> str:
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
    _store(records, visit, batch)
    return "transfer cancelled"


def _cancel_discharge(message: AdtMessage, visit: _Visit, batch: _Batch) -> str:
    """A13: the discharge never was; the last stay is open again (or a held discharge is dropped)."""
    if HeldAdtEvent.objects.filter(source=visit.source, visit=visit.number).delete()[0]:
        return "held discharge dropped"
    present = visit.present
    if not present or present[-1].end is None:
        raise Hl7Refusal(Problem("PV1", 19, UNKNOWN_KEY_IDENTIFIER, "the visit has no discharge to cancel"))
    _store([_record(present[-1], message, status="in-progress", end=None)], visit, batch)
    return "discharge cancelled"


def _merge(message: AdtMessage, now: datetime) -> str:
    """A40: the prior patient's stays (any source) and held events belong to the surviving patient."""
    pseudonymize = patient_pseudonymizer(settings.PSEUDONYM_KEY)
    moved = 0
    for merge in message.merges:
        prior, surviving = pseudonymize(merge.prior_patient_id), pseudonymize(merge.patient_id)
        moved += Encounter.objects.filter(patient_key=prior).update(patient_key=surviving, updated_at=now)
        HeldAdtEvent.objects.filter(patient_key=prior).update(patient_key=surviving)
    return f"merged {moved} stays"[:32]


# The events that change a visit's stays (A40 merges patients instead), and what applies each.
HANDLERS = {
    "A01": _admit,
    "A04": _admit,
    "A02": _transfer,
    "A03": _discharge,
    "A08": _update,
    "A11": _cancel_admit,
    "A12": _cancel_transfer,
    "A13": _cancel_discharge,
}
