"""HL7 v2 ADT messages -> AdtMessage, and their acknowledgements (original mode).

Parsing uses python-hl7 (escape sequences, repetitions, components). What the product reads:

- MSH-9 type and trigger, MSH-10 control id (a resend is a no-op), MSH-3/4 sender, MSH-12 version;
- PID-3 patient id (the MR identifier among repetitions, else the first), pseudonymised by the service;
- PV1-19 visit number (PID-18 account number when it is empty): the encounter id;
- PV1-3.1 point of care and PV1-2 patient class: the department, through the mapping;
- PV1-44 admit and PV1-45 discharge time, falling back to EVN-6 then EVN-2 (then MSH-7);
- MRG-1 prior patient id (A40 merge), one per PID/MRG pair.

A message that cannot be read raises Hl7Reject (answered AR). Refusals of a message that was read
(an unknown point of care, no stay to discharge) are raised by the service as Hl7Refusal (AE).
Nothing here touches the database, and the raw text is never kept: it holds names and addresses.
"""

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone

import hl7

# HL7 table 0076/0003: the ADT events the product applies; any other ADT event is acknowledged and ignored.
APPLIED_TRIGGERS = frozenset({"A01", "A02", "A03", "A04", "A08", "A11", "A12", "A13", "A40"})
# Table 0357 message error condition codes used in ERR segments.
SEGMENT_SEQUENCE_ERROR = "100"
REQUIRED_FIELD_MISSING = "101"
DATA_TYPE_ERROR = "102"
TABLE_VALUE_NOT_FOUND = "103"
UNSUPPORTED_MESSAGE_TYPE = "200"
UNKNOWN_KEY_IDENTIFIER = "204"
APPLICATION_INTERNAL_ERROR = "207"
ERROR_NAMES = {
    SEGMENT_SEQUENCE_ERROR: "Segment sequence error",
    REQUIRED_FIELD_MISSING: "Required field missing",
    DATA_TYPE_ERROR: "Data type error",
    TABLE_VALUE_NOT_FOUND: "Table value not found",
    UNSUPPORTED_MESSAGE_TYPE: "Unsupported message type",
    UNKNOWN_KEY_IDENTIFIER: "Unknown key identifier",
    APPLICATION_INTERNAL_ERROR: "Application internal error",
}
# Segments each applied event needs besides MSH.
REQUIRED_SEGMENTS = {
    "A01": ("PID", "PV1"),
    "A02": ("PID", "PV1"),
    "A03": ("PID", "PV1"),
    "A04": ("PID", "PV1"),
    "A08": ("PID", "PV1"),
    "A11": ("PID", "PV1"),
    "A12": ("PID", "PV1"),
    "A13": ("PID", "PV1"),
    "A40": ("PID", "MRG"),
}
_TIMESTAMP = re.compile(r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.\d{1,4})?([+-]\d{4})?$")


@dataclass(frozen=True)
class Problem:
    """Where a message went wrong: segment and field (e.g. PV1, 3), an HL7 table 0357 code, and why."""

    segment: str
    field: int | None
    code: str
    message: str

    def __str__(self) -> str:
        where = f"{self.segment}-{self.field}" if self.field else self.segment
        return f"{where}: {self.message}"


class Hl7Reject(Exception):
    """The message cannot be read as an ADT message: answered AR.

    message is the parsed message when its MSH could be read (the acknowledgement echoes it).
    """

    code = "AR"

    def __init__(self, problem: Problem, message: hl7.Message | None = None):
        self.problem = problem
        self.message = message
        super().__init__(str(problem))


class Hl7Refusal(Hl7Reject):
    """The message was read and is refused, and nothing of it applied: answered AE."""

    code = "AE"


@dataclass(frozen=True)
class Merge:
    """A40: the stays of prior_patient_id now belong to patient_id."""

    patient_id: str
    prior_patient_id: str


@dataclass(frozen=True)
class AdtMessage:
    """What the product reads of one ADT message. Times without an offset are naive: the service
    reads them in the department's zone."""

    control_id: str
    message_type: str  # e.g. ADT^A01
    trigger: str  # e.g. A01
    version: str
    sender: str  # MSH-3^MSH-4, for the log
    patient_id: str
    visit: str
    point_of_care: str
    patient_class: str
    event_at: datetime | None  # EVN-6, else EVN-2, else MSH-7
    admit_at: datetime | None  # PV1-44 as sent
    discharge_at: datetime | None  # PV1-45 as sent
    merges: tuple[Merge, ...] = field(default_factory=tuple)

    @property
    def applied(self) -> bool:
        return self.trigger in APPLIED_TRIGGERS

    @property
    def admitted_at(self) -> datetime | None:
        """When the stay began: PV1-44, else the event time."""
        return self.admit_at or self.event_at

    @property
    def discharged_at(self) -> datetime | None:
        """When the stay ended: PV1-45, else the event time."""
        return self.discharge_at or self.event_at


@dataclass(frozen=True)
class Header:
    """MSH of a message, as far as it could be read (what an acknowledgement needs)."""

    control_id: str = ""
    message_type: str = ""
    trigger: str = ""
    version: str = ""
    sender: str = ""


def normalise(raw: bytes) -> str:
    """Bytes of one MLLP block -> text with CR segment separators (LF and CRLF are common in practice).

    UTF-8 is tried first; ISO 8859-1 (which many feeds declare in MSH-18) decodes anything else.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    text = text.replace("\r\n", "\r").replace("\n", "\r")
    return text.strip("\r\x00 \t\x0b\x1c")


def parse_adt(text: str) -> tuple[AdtMessage, hl7.Message]:
    """One message's text (CR separators) -> (AdtMessage, the parsed message for its acknowledgement).

    Raises Hl7Reject naming the segment and field when the text is not an ADT message that can be read.
    """
    _check_header(text)
    try:
        message = hl7.parse(text)
    except Exception as exc:  # noqa: BLE001 - the library raises plain errors on malformed text
        raise Hl7Reject(Problem("MSH", None, SEGMENT_SEQUENCE_ERROR, f"cannot be parsed ({exc})")) from None
    try:
        return _read_adt(message), message
    except Hl7Reject as exc:
        exc.message = message
        raise


def _read_adt(message: hl7.Message) -> AdtMessage:
    header = read_header(message)
    if not header.control_id:
        raise Hl7Reject(Problem("MSH", 10, REQUIRED_FIELD_MISSING, "message control id is empty"))
    kind = header.message_type.split("^", 1)[0]
    if kind != "ADT":
        raise Hl7Reject(Problem("MSH", 9, UNSUPPORTED_MESSAGE_TYPE, f"'{kind or '(empty)'}' is not an ADT message"))
    trigger = header.trigger
    if not trigger:
        raise Hl7Reject(Problem("MSH", 9, REQUIRED_FIELD_MISSING, "the trigger event (MSH-9.2) is empty"))
    for segment in REQUIRED_SEGMENTS.get(trigger, ()):
        if not _has(message, segment):
            raise Hl7Reject(Problem(segment, None, SEGMENT_SEQUENCE_ERROR, f"segment is missing from ADT^{trigger}"))

    event_at = _timestamp(message, "EVN.F6") or _timestamp(message, "EVN.F2") or _timestamp(message, "MSH.F7")
    return AdtMessage(
        control_id=header.control_id,
        message_type=header.message_type,
        trigger=trigger,
        version=header.version,
        sender=header.sender,
        patient_id=_patient_id(message, 1),
        visit=_value(message, "PV1.F19.R1.C1") or _value(message, "PID.F18.R1.C1"),
        point_of_care=_value(message, "PV1.F3.R1.C1"),
        patient_class=_value(message, "PV1.F2.R1.C1"),
        event_at=event_at,
        admit_at=_timestamp(message, "PV1.F44"),
        discharge_at=_timestamp(message, "PV1.F45"),
        merges=_merges(message) if trigger == "A40" else (),
    )


def read_header(message: hl7.Message) -> Header:
    """The MSH fields an acknowledgement and the log need; empty strings where they are missing."""
    kind = _value(message, "MSH.F9.R1.C1").upper()
    trigger = _value(message, "MSH.F9.R1.C2").upper()
    return Header(
        control_id=_value(message, "MSH.F10"),
        message_type=f"{kind}^{trigger}" if trigger else kind,
        trigger=trigger,
        version=_value(message, "MSH.F12.R1.C1"),
        sender="^".join(part for part in (_value(message, "MSH.F3.R1.C1"), _value(message, "MSH.F4.R1.C1")) if part),
    )


def ack(message: hl7.Message | None, code: str, *, problem: Problem | None = None) -> str:
    """An original-mode acknowledgement (MSH, MSA and, for AE/AR, ERR) as text with CR separators.

    message is the parsed message being answered (None when even its MSH could not be read). The ERR
    segment carries the location both ways: ERR-1 for 2.3/2.4 readers, ERR-2/3/4/8 for 2.5 and later.
    """
    if message is not None:
        separator, encoding = str(message.segment("MSH")[1]), str(message.segment("MSH")[2])
        lines = str(message.create_ack(code)).strip("\r").split("\r")
    else:
        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
        separator, encoding = "|", "^~\\&"
        lines = [f"MSH|^~\\&|||||{stamp}||ACK|{hl7.generate_message_control_id()}|P|2.5", f"MSA|{code}|"]
    if problem is not None:
        delimiters = _Delimiters(separator, *encoding[:4])
        lines[1] += separator + delimiters.escape(str(problem))
        lines.append(_err_segment(problem, delimiters))
    return "\r".join(lines) + "\r"


@dataclass(frozen=True)
class _Delimiters:
    """A message's field separator and encoding characters (MSH-1, MSH-2): its acknowledgement uses them."""

    field: str
    component: str
    repetition: str
    escape_character: str
    subcomponent: str

    def escape(self, text: str) -> str:
        """Text with every delimiter escaped, so that a diagnostic never breaks the acknowledgement's structure."""
        e = self.escape_character
        text = text.replace(e, f"{e}E{e}").replace(self.field, f"{e}F{e}").replace(self.component, f"{e}S{e}")
        text = text.replace(self.subcomponent, f"{e}T{e}").replace(self.repetition, f"{e}R{e}")
        return text.replace("\r", " ")


def _err_segment(problem: Problem, delimiters: _Delimiters) -> str:
    name = ERROR_NAMES.get(problem.code, "")
    component, subcomponent = delimiters.component, delimiters.subcomponent
    field = str(problem.field or "")
    eld = component.join([problem.segment, "1", field, subcomponent.join([problem.code, name, "HL70357"])])
    erl = component.join([problem.segment, "1", field] if field else [problem.segment, "1"])
    code = component.join([problem.code, name, "HL70357"])
    text = delimiters.escape(str(problem))
    return delimiters.field.join(["ERR", eld, erl, code, "E", "", "", "", text])


def _check_header(text: str) -> None:
    """MSH first, then the field separator and four encoding characters (MSH-1, MSH-2)."""
    if not text.startswith("MSH"):
        found = text[:3] if text else "(nothing)"
        raise Hl7Reject(Problem("MSH", None, SEGMENT_SEQUENCE_ERROR, f"the message must begin with MSH, not {found!r}"))
    if len(text) < 9:
        raise Hl7Reject(Problem("MSH", None, SEGMENT_SEQUENCE_ERROR, "the message is truncated in MSH"))
    separator, encoding = text[3], text[4:8]
    if separator.isalnum() or separator.isspace():
        raise Hl7Reject(Problem("MSH", 1, DATA_TYPE_ERROR, f"{separator!r} cannot be the field separator"))
    characters = set(encoding) | {separator}
    if len(characters) != 5 or any(c.isalnum() or c.isspace() for c in encoding) or text[8] != separator:
        raise Hl7Reject(
            Problem("MSH", 2, DATA_TYPE_ERROR, f"encoding characters {encoding!r} are not four distinct delimiters")
        )
    if text.split("\r", 1)[0].count(separator) < 11:
        raise Hl7Reject(Problem("MSH", 12, REQUIRED_FIELD_MISSING, "MSH is truncated before the version id"))


def _value(message: hl7.Message, key: str) -> str:
    """One value by accessor key (e.g. 'PV1.F3.R1.C1', 'PID2.F3.R1.C1'), unescaped; '' when absent.

    HL7's explicit null ("") reads as empty.
    """
    try:
        value = message[key]
    except (KeyError, IndexError):
        return ""
    value = str(value) if value is not None else ""
    text = message.unescape(value) if "\\" in value else value
    return "" if text == '""' else text.strip()


def _has(message: hl7.Message, name: str) -> int:
    """How many segments of this name the message holds."""
    return sum(1 for segment in message if str(segment[0]) == name)


def _count(message: hl7.Message, key: str, limit: int = 100) -> int:
    """How many repetitions the field at key ('PID1.F3') has."""
    for repetition in range(1, limit + 1):
        try:
            message[f"{key}.R{repetition}"]
        except (KeyError, IndexError):
            return repetition - 1
    return limit


def _patient_id(message: hl7.Message, number: int) -> str:
    """PID-3 of the number-th PID: the repetition whose identifier type (CX.5) is MR, else the first."""
    first = ""
    for repetition in range(1, _count(message, f"PID{number}.F3") + 1):
        value = _value(message, f"PID{number}.F3.R{repetition}.C1")
        if value and _value(message, f"PID{number}.F3.R{repetition}.C5").upper() == "MR":
            return value
        first = first or value
    return first


def _merges(message: hl7.Message) -> tuple[Merge, ...]:
    """Each PID with its MRG (A40 may repeat the pair): MRG-1, the first repetition with a value."""
    merges = []
    pairs = min(_has(message, "PID"), _has(message, "MRG"))
    for number in range(1, pairs + 1):
        patient_id = _patient_id(message, number)
        prior = ""
        for repetition in range(1, _count(message, f"MRG{number}.F1") + 1):
            prior = prior or _value(message, f"MRG{number}.F1.R{repetition}.C1")
        if not patient_id:
            raise Hl7Reject(Problem("PID", 3, REQUIRED_FIELD_MISSING, "a merge needs the surviving patient id"))
        if not prior:
            raise Hl7Reject(Problem("MRG", 1, REQUIRED_FIELD_MISSING, "a merge needs the prior patient id"))
        merges.append(Merge(patient_id=patient_id, prior_patient_id=prior))
    return tuple(merges)


def _timestamp(message: hl7.Message, key: str) -> datetime | None:
    """An HL7 DTM/TS (YYYY[MM[DD[HH[MM[SS[.S]]]]]][+/-ZZZZ]) at key -> datetime, naive without an offset.

    Raises Hl7Refusal naming the field when the value is not a timestamp.
    """
    text = _value(message, f"{key}.R1.C1")
    if not text:
        return None
    where = (key[:3], int(key.split(".F")[1]))
    match = _TIMESTAMP.match(text)
    if not match:
        raise Hl7Refusal(Problem(*where, DATA_TYPE_ERROR, f"'{text}' is not an HL7 timestamp (YYYYMMDDHHMM[SS])"))
    year, month, day, hour, minute, second, offset = match.groups()
    try:
        value = datetime(int(year), int(month or 1), int(day or 1), int(hour or 0), int(minute or 0), int(second or 0))
    except ValueError:
        raise Hl7Refusal(Problem(*where, DATA_TYPE_ERROR, f"'{text}' is not a valid date and time")) from None
    if offset:
        sign = 1 if offset[0] == "+" else -1
        value = value.replace(tzinfo=timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5]))))
    return value
