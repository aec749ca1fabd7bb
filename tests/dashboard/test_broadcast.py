"""dashboard.broadcast: one event loop per process for a networked layer, and an unreachable Redis."""

import asyncio
from unittest import mock

import pytest
from channels.layers import get_channel_layer

from dashboard import broadcast
from dashboard.broadcast import broadcast_department_event, department_group


def test_a_send_that_hangs_is_given_up_after_its_timeout_and_the_next_goes_through():
    async def hang(group, message):
        await asyncio.sleep(30)

    layer = mock.Mock()
    layer.group_send = mock.AsyncMock(side_effect=hang)
    with mock.patch.object(broadcast, "SEND_TIMEOUT_SECONDS", 0.05), pytest.raises(TimeoutError):
        broadcast._group_send(layer, "department.ED", {})
    layer.group_send = mock.AsyncMock(return_value=None)
    broadcast._group_send(layer, "department.ED", {"type": "department.event"})
    layer.group_send.assert_awaited_once_with("department.ED", {"type": "department.event"})


def test_without_a_sequence_number_nothing_is_sent_and_the_work_stands(db, django_capture_on_commit_callbacks):
    layer = mock.Mock()
    with (
        mock.patch.object(broadcast, "get_channel_layer", return_value=layer),
        mock.patch.object(broadcast.soft_cache, "counter_next", return_value=None),
        django_capture_on_commit_callbacks(execute=True),
    ):
        broadcast_department_event("ED", "workload.changed", {})
    layer.group_send.assert_not_called()


@pytest.mark.redis
def test_over_redis_a_message_reaches_the_department_group(db, django_capture_on_commit_callbacks):
    from asgiref.sync import async_to_sync

    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(department_group("ED"), channel)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            broadcast_department_event("ED", "workload.changed", {"hours_written": 1})
        message = async_to_sync(layer.receive)(channel)
    finally:
        async_to_sync(layer.group_discard)(department_group("ED"), channel)
    assert message["event"] == "workload.changed" and message["seq"] >= 1
