"""dashboard.broadcast: one event loop per process for a networked layer, and an unreachable Redis."""

import asyncio
from unittest import mock

import pytest
from channels.layers import get_channel_layer

from dashboard import broadcast
from dashboard.broadcast import _LayerLoop, broadcast_department_event, department_group


def test_the_layer_loop_is_made_once_per_process():
    loops = _LayerLoop()
    first = loops.loop()
    assert loops.loop() is first and first.is_running()
    loops._pid = -1  # as a forked child sees it: the parent's thread did not come along
    assert loops.loop() is not first


def test_a_send_that_hangs_is_given_up_after_its_timeout():
    loops = _LayerLoop()
    with pytest.raises(TimeoutError):
        loops.run(asyncio.sleep(30), timeout=0.05)
    assert loops.run(asyncio.sleep(0, result="next one"), timeout=5) == "next one"


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
def test_over_redis_a_message_goes_through_the_process_loop(db, django_capture_on_commit_callbacks):
    from asgiref.sync import async_to_sync

    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(department_group("ED"), channel)
    try:
        with (
            mock.patch.object(broadcast, "async_to_sync", side_effect=AssertionError("not the process loop")),
            django_capture_on_commit_callbacks(execute=True),
        ):
            broadcast_department_event("ED", "workload.changed", {"hours_written": 1})
        message = async_to_sync(layer.receive)(channel)
    finally:
        async_to_sync(layer.group_discard)(department_group("ED"), channel)
    assert message["event"] == "workload.changed" and message["seq"] >= 1
