"""The HL7 listener process under faults: killed mid-stream (kill -9), nothing it acknowledged is lost and
the sender's resend of the rest applies each message once; its database connection cut, the message in
flight is answered AE and its resend applied."""

import asyncio
import socket

import pytest
from hl7.mllp import open_hl7_connection

from healthcare.encounters.models import Encounter, Hl7Message
from tests.ops.processes import BIN, free_port, service_env, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]
MESSAGES = 60
LISTENER_APP = "hl7-listener-under-test"


def admit(number: int) -> bytes:
    return (
        f"MSH|^~\\&|EPIC|HOSP|WORKLOAD|HOSP|202612071200||ADT^A01|K{number}|P|2.5.1\r"
        f"EVN|A01|20261207{number % 24:02d}00\rPID|1||MRN{number}^^^HOSP^MR\r"
        f"PV1|1|E|ED^1^A||||||||||||||||KV{number}\r"
    ).encode()


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def start_listener(services, database_url: str):
    port = free_port()
    # Its connections are named, so that a test can cut exactly those (and not the suite's own).
    env = service_env(database_url=database_url, redis_url="", PGAPPNAME=LISTENER_APP)
    process = services.start("hl7", [BIN / "python", "manage.py", "hl7_listen", "--port", port], env)
    wait_for(lambda: listening(port), timeout=60, what="hl7_listen to listen", seen=process.log_tail)
    return process, port


async def send_and_read(port: int, stop_after: int, on_stop, window: int = 4) -> list[str]:
    """Send the messages keeping `window` unanswered (a pipelining engine); after `stop_after`
    acknowledgements call on_stop (the kill) and go on until the connection drops. The control ids
    acknowledged AA."""
    reader, writer = await open_hl7_connection("127.0.0.1", port)
    acknowledged, sent = [], 0
    try:
        while len(acknowledged) < MESSAGES:
            while sent < MESSAGES and sent - len(acknowledged) < window:
                writer.writeblock(admit(sent))
                sent += 1
            await writer.drain()
            answer = await asyncio.wait_for(reader.readmessage(), 30)
            assert str(answer.segment("MSA")[1]) == "AA"
            acknowledged.append(str(answer.segment("MSA")[2]))
            if len(acknowledged) == stop_after:
                on_stop()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()
    return acknowledged


def test_a_killed_listener_loses_nothing_it_acknowledged(services, database_url, ed):
    process, port = start_listener(services, database_url)
    acknowledged = asyncio.run(send_and_read(port, 10, process.kill_group))
    assert 10 <= len(acknowledged) < MESSAGES, "the kill landed after every message was answered"
    stored = set(Hl7Message.objects.filter(outcome="AA").values_list("control_id", flat=True))
    assert set(acknowledged) <= stored

    # The sender resends everything it holds no acknowledgement for (here: all of it) to a new listener.
    _, port = start_listener(services, database_url)
    again = asyncio.run(send_and_read(port, MESSAGES + 1, lambda: None))
    assert len(again) == MESSAGES
    assert Hl7Message.objects.filter(outcome="AA").count() == MESSAGES
    assert Encounter.objects.filter(source="hl7").count() == MESSAGES


def test_a_database_outage_is_answered_ae_and_the_resend_applies(services, database_url, ed):
    """The listener's connection is cut by the database (as a restart or failover does): the message in
    flight is answered AE, not AA, and nothing of it is stored; the sender's resend is applied."""
    from django.db import connection

    process, port = start_listener(services, database_url)

    async def one(number: int) -> str:
        reader, writer = await open_hl7_connection("127.0.0.1", port)
        writer.writeblock(admit(number))
        await writer.drain()
        answer = await asyncio.wait_for(reader.readmessage(), 30)
        writer.close()
        return str(answer.segment("MSA")[1])

    assert asyncio.run(one(1)) == "AA"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = %s",
            [LISTENER_APP],
        )
        assert cursor.fetchone()[0] >= 1
    assert asyncio.run(one(2)) == "AE"
    assert not Hl7Message.objects.filter(control_id="K2").exists()
    assert asyncio.run(one(2)) == "AA"
    assert Encounter.objects.filter(source="hl7", source_id="KV2").count() == 1
    assert process.alive()
