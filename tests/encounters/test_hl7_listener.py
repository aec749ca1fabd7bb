"""The MLLP listener over a real socket, driven by python-hl7's own MLLP client."""

import asyncio
from pathlib import Path
from unittest import mock

import hl7
import pytest
from django.db import OperationalError
from hl7.mllp import open_hl7_connection

from healthcare.encounters.ingest.mapping import ClassMapping
from healthcare.encounters.models import Encounter, Hl7Message
from tests.factories import department_make
from tests.mllp import Running, send

SAMPLES = Path(__file__).parent / "hl7_samples"
MAPPING = ClassMapping.from_dict(
    {"hl7": {"points_of_care": {"W": "ICU", "2000": "ICU", "RCB": "ICU"}, "patient_classes": {"O": "ED"}}}
)
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def wards(db):
    zone = "America/Chicago"
    return department_make(code="ED", unit_type="ed", timezone=zone), department_make(code="ICU", timezone=zone)


@pytest.fixture
def listener(wards):
    running = Running(MAPPING)
    yield running
    running.stop()


def field(answer: hl7.Message, segment: str, number: int) -> str:
    return str(answer.segment(segment)[number])


def code(answer: hl7.Message) -> str:
    return field(answer, "MSA", 1)


def admit(control: str, visit: str, *, point="ED", minute=0) -> bytes:
    return (
        f"MSH|^~\\&|EPIC|HOSP|WORKLOAD|HOSP|202612071200||ADT^A01|{control}|P|2.5.1\r"
        f"EVN|A01|202612071{minute:03d}\rPID|1||MRN-{visit}^^^HOSP^MR\r"
        f"PV1|1|E|{point}^1^A||||||||||||||||{visit}\r"
    ).encode()


def test_the_public_samples_are_answered_over_one_connection(listener):
    names = [
        "v24_adt_a01_nhs_itk.hl7",  # LF separators: admitted (its times are years ago, too long open: AE)
        "v24_adt_a03_nhs_itk.hl7",  # a discharge of an unknown visit with PV1-44: reconciled
        "v25_adt_a04_vinah.hl7",  # no visit number: AE naming PV1-19
        "v25_adt_a40_standard.hl7",  # merge
        "v251_adt_a03_nist_syndromic.hl7",  # neither point of care nor class maps: AE naming PV1-3
    ]
    answers = send(listener.port, *[(SAMPLES / name).read_bytes() for name in names])
    assert [code(answer) for answer in answers] == ["AE", "AA", "AE", "AA", "AE"]
    assert field(answers[2], "ERR", 2) == "PV1^1^19"
    assert field(answers[4], "ERR", 2) == "PV1^1^3"
    assert field(answers[1], "MSA", 2) == "13403891320453338089"  # MSA-2 echoes MSH-10
    assert "more than 365 days" in field(answers[0], "ERR", 8)
    stay = Encounter.objects.get(source="hl7")
    assert (stay.source_id, stay.department.code, stay.status) == ("11554", "ICU", "finished")
    assert Hl7Message.objects.count() == 5


def test_admit_and_discharge_move_the_census_and_a_resend_changes_nothing(listener):
    discharge = (
        b"MSH|^~\\&|EPIC|HOSP|WORKLOAD|HOSP|202612071300||ADT^A03|C2|P|2.5.1\r"
        b"EVN|A03|202612071300\rPID|1||MRN-V1^^^HOSP^MR\rPV1|1|E|ED^1^A||||||||||||||||V1\r"
    )
    now_open = send(listener.port, admit("C1", "V1"), admit("C1", "V1"))
    assert [code(a) for a in now_open] == ["AA", "AA"]
    assert Encounter.objects.get(source="hl7").end is None
    assert code(send(listener.port, discharge)[0]) == "AA"
    assert Encounter.objects.get(source="hl7").status == "finished"
    assert list(Hl7Message.objects.values_list("note", flat=True).order_by("received_at")) == [
        "admitted",
        "discharged",
    ]


@pytest.mark.parametrize(
    ("block", "where"),
    [
        (b"PID|1||X\rPV1|1|E|ED", "MSH^1"),  # no MSH
        (b"MSH|^~\\&|EPIC|HOSP|WORKLOAD|HOSP|2026", "MSH^1^12"),  # truncated
        (b"MSH|^~~&|EPIC|HOSP|W|H|2026||ADT^A01|C1|P|2.5\rPID|1\rPV1|1", "MSH^1^2"),  # wrong encoding characters
        (b"MSH|^~\\&|EPIC|HOSP|W|H|2026||ADT^A01|C9|P|2.5\rPID|1||X", "PV1^1"),  # cut before PV1
    ],
)
def test_an_unreadable_message_gets_ar_naming_where_and_is_logged(listener, block, where):
    (answer,) = send(listener.port, block)
    assert code(answer) == "AR"
    assert field(answer, "ERR", 2) == where
    assert Hl7Message.objects.get().outcome == "AR"


def test_an_unknown_point_of_care_gets_ae_naming_pv1_3(listener):
    (answer,) = send(listener.port, admit("C1", "V1", point="NOWHERE"))
    assert (code(answer), field(answer, "ERR", 2), field(answer, "ERR", 3)) == (
        "AE",
        "PV1^1^3",
        "103^Table value not found^HL70357",
    )
    assert not Encounter.objects.exists()


def test_a_pipelined_flood_is_answered_in_order_on_one_connection(listener):
    blocks = [admit(f"F{n}", f"V{n}", minute=n % 60) for n in range(150)]
    answers = send(listener.port, *blocks, wait_each=False)
    assert [field(a, "MSA", 2) for a in answers] == [f"F{n}" for n in range(150)]
    assert {code(a) for a in answers} == {"AA"}
    assert Encounter.objects.filter(source="hl7").count() == 150


def test_a_message_over_the_size_limit_is_refused_and_the_connection_goes_on(wards):
    running = Running(MAPPING, max_message_bytes=400)
    try:
        padding = b"NTE|1||" + b"x" * 600 + b"\r"
        answers = send(running.port, admit("C1", "V1") + padding, admit("C2", "V2"))
        assert [code(a) for a in answers] == ["AR", "AA"]
    finally:
        running.stop()


def test_connections_beyond_the_limit_are_closed_and_the_others_served(wards):
    running = Running(MAPPING, max_connections=1)

    async def two():
        first = await open_hl7_connection("127.0.0.1", running.port)
        second = await open_hl7_connection("127.0.0.1", running.port)
        first[1].writeblock(admit("C1", "V1"))
        answer = await asyncio.wait_for(first[0].readmessage(), 10)
        closed = await asyncio.wait_for(second[0].read(), 10)
        for _, writer in (first, second):
            writer.close()
            await writer.wait_closed()
        return answer, closed

    try:
        answer, closed = asyncio.run(two())
        assert code(answer) == "AA" and closed == b""
    finally:
        running.stop()


def test_a_database_outage_gets_ae_so_the_sender_resends(listener):
    with mock.patch("healthcare.encounters.mllp.adt_apply_batch", autospec=True, side_effect=OperationalError("down")):
        (answer,) = send(listener.port, admit("C1", "V1"))
    assert code(answer) == "AE" and "resend" in field(answer, "ERR", 8)
    assert not Hl7Message.objects.filter(outcome="AA").exists()
    (again,) = send(listener.port, admit("C1", "V1"))
    assert code(again) == "AA" and Encounter.objects.filter(source="hl7").count() == 1
