"""The department websocket on the full ASGI stack: who may connect, and what they receive."""

import pytest
import pytest_asyncio
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connections
from django.test import Client

from dashboard.broadcast import broadcast_department_event
from dashboard.consumers import CLOSE_FORBIDDEN, CLOSE_UNAUTHENTICATED
from healthcare.asgi import application

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

ORIGIN = (b"origin", b"http://localhost")


@pytest_asyncio.fixture(autouse=True)
async def close_thread_connections():
    """ORM calls from async code run in a worker thread: close its connection, or the test database stays in use."""
    yield
    await sync_to_async(connections.close_all)()


def session_cookie(user) -> tuple[bytes, bytes]:
    client = Client()
    client.force_login(user)
    return (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())


async def connect(path: str, headers: list) -> tuple[WebsocketCommunicator, bool, int | None]:
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, detail = await communicator.connect()
    return communicator, connected, detail


async def test_anonymous_sockets_are_refused(ed):
    communicator, connected, code = await connect("/ws/departments/ED/", [ORIGIN])
    assert not connected and code == CLOSE_UNAUTHENTICATED


async def test_a_foreign_department_is_refused(ed_staff, icu):
    cookie = await sync_to_async(session_cookie)(ed_staff)
    communicator, connected, code = await connect("/ws/departments/ICU/", [ORIGIN, cookie])
    assert not connected and code == CLOSE_FORBIDDEN


@pytest.mark.parametrize("origin", [(b"origin", b"https://evil.example"), None])
async def test_a_bad_or_missing_origin_is_refused(ed_staff, origin):
    cookie = await sync_to_async(session_cookie)(ed_staff)
    headers = [cookie] + ([origin] if origin else [])
    communicator, connected, _ = await connect("/ws/departments/ED/", headers)
    assert not connected


async def test_staff_get_a_snapshot_then_their_departments_events_in_order(ed_staff, icu):
    cookie = await sync_to_async(session_cookie)(ed_staff)
    communicator, connected, _ = await connect("/ws/departments/ED/", [ORIGIN, cookie])
    assert connected
    snapshot = await communicator.receive_json_from(timeout=5)
    assert snapshot["event"] == "snapshot" and snapshot["department"]["code"] == "ED"
    assert len(snapshot["actual"]) == 48 and "tiles" in snapshot
    await sync_to_async(broadcast_department_event)("ICU", "workload.changed", {"hours_written": 9})
    await sync_to_async(broadcast_department_event)("ED", "workload.changed", {"hours_written": 3})
    await sync_to_async(broadcast_department_event)("ED", "plan.ready", {"optimization_id": "x"})
    first = await communicator.receive_json_from(timeout=5)
    second = await communicator.receive_json_from(timeout=5)
    assert first == {
        "event": "workload.changed",
        "department": "ED",
        "payload": {"hours_written": 3},
        "seq": snapshot["seq"] + 1,
        "request_id": None,  # sent outside any request or task
    }
    assert (second["event"], second["seq"]) == ("plan.ready", snapshot["seq"] + 2)
    assert await communicator.receive_nothing(timeout=0.2)
    await communicator.disconnect()


async def test_a_member_without_a_role_is_refused(ed, django_user_model):
    member = await sync_to_async(django_user_model.objects.create_user)("member", password="a-long-test-password-1")
    await sync_to_async(ed.members.add)(member)
    cookie = await sync_to_async(session_cookie)(member)
    communicator, connected, code = await connect("/ws/departments/ED/", [ORIGIN, cookie])
    assert not connected and code == CLOSE_FORBIDDEN
