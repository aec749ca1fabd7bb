"""The HL7 listener process killed mid-stream (kill -9): nothing it acknowledged is lost, and the sender's
resend of what it did not acknowledge applies each message once."""

import asyncio
import socket

import pytest
from hl7.mllp import open_hl7_connection

from healthcare.encounters.models import Encounter, Hl7Message
from tests.ops.processes import BIN, free_port, service_env, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]
MESSAGES = 60


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
    env = service_env(database_url=database_url, redis_url="")
    process = services.start("hl7", [BIN / "python", "manage.py", "hl7_listen", "--port", port], env)
    wait_for(lambda: listening(port), timeout=60, what="hl7_listen to listen", seen=process.log_tail)
    return process, port


async def send_all_read_some(port: int, stop_after: int, on_stop) -> list[str]:
    """Send every message at once (pipelined); after `stop_after` acknowledgements call on_stop (the
    kill) and keep reading until the connection drops. The control ids acknowledged AA."""
    reader, writer = await open_hl7_connection("127.0.0.1", port)
    for number in range(MESSAGES):
        writer.writeblock(admit(number))
    await writer.drain()
    acknowledged = []
    try:
        while len(acknowledged) < MESSAGES:
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
    acknowledged = asyncio.run(send_all_read_some(port, 10, process.kill_group))
    assert 10 <= len(acknowledged) < MESSAGES, "the kill landed after every message was answered"
    stored = set(Hl7Message.objects.filter(outcome="AA").values_list("control_id", flat=True))
    assert set(acknowledged) <= stored

    # The sender resends everything it holds no acknowledgement for (here: all of it) to a new listener.
    _, port = start_listener(services, database_url)
    again = asyncio.run(send_all_read_some(port, MESSAGES + 1, lambda: None))
    assert len(again) == MESSAGES
    assert Hl7Message.objects.filter(outcome="AA").count() == MESSAGES
    assert Encounter.objects.filter(source="hl7").count() == MESSAGES
