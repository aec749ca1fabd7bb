"""dashboard.broadcast: one event loop per thread for a networked layer, and an unreachable Redis."""

import asyncio
from unittest import mock

import pytest
from channels.layers import get_channel_layer
from django.test import override_settings

from dashboard import broadcast
from dashboard.broadcast import broadcast_department_event, department_group


@pytest.mark.parametrize("public_for", [(), ("layer-loop",)], ids=["loop-per-thread", "async_to_sync"])
def test_a_send_that_hangs_is_given_up_after_its_timeout_and_the_next_goes_through(public_for):
    async def hang(group, message):
        await asyncio.sleep(30)

    layer = mock.Mock()
    layer.group_send = mock.AsyncMock(side_effect=hang)
    with (
        override_settings(PUBLIC_API_FOR=frozenset(public_for)),
        mock.patch.object(broadcast, "SEND_TIMEOUT_SECONDS", 0.05),
        pytest.raises(TimeoutError),
    ):
        broadcast._group_send(layer, "department.ED", {})
    layer.group_send = mock.AsyncMock(return_value=None)
    with override_settings(PUBLIC_API_FOR=frozenset(public_for)):
        broadcast._group_send(layer, "department.ED", {"type": "department.event"})
    layer.group_send.assert_awaited_once_with("department.ED", {"type": "department.event"})


def test_a_send_from_a_thread_that_runs_a_loop_is_refused_and_leaves_nothing_unawaited():
    import gc
    import warnings

    layer = mock.Mock()
    layer.group_send = mock.AsyncMock(return_value=None)

    async def from_async_code():
        broadcast._group_send(layer, "department.ED", {})

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(RuntimeError, match="another loop is running"):
            asyncio.run(from_async_code())
        gc.collect()
    assert not [warning for warning in caught if "never awaited" in str(warning.message)]
    layer.group_send.assert_not_called()


def test_each_thread_keeps_its_own_loop_and_a_forked_child_makes_a_new_one():
    import os
    import threading

    loop = broadcast._thread_loop()
    assert broadcast._thread_loop() is loop and not loop.is_running()
    other = []
    thread = threading.Thread(target=lambda: other.append(broadcast._thread_loop()))
    thread.start()
    thread.join()
    assert other[0] is not loop
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # the child reports whether it kept its parent's loop, and leaves at once
        os.write(write, b"inherited" if broadcast._loops.loop is loop else b"fresh")
        os._exit(0)
    os.waitpid(child, 0)
    assert os.read(read, 16) == b"fresh"
    assert broadcast._thread_loop() is loop


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


@pytest.mark.redis
def test_over_redis_pushes_from_one_thread_share_one_connection(db, django_capture_on_commit_callbacks):
    """A new loop per push would open a Redis connection per live event (channels-redis pools per loop)."""
    import redis
    from django.conf import settings

    server = redis.Redis.from_url(settings.REDIS_URL)
    with django_capture_on_commit_callbacks(execute=True):
        broadcast_department_event("ED", "workload.changed", {"hours_written": 1})  # the thread's connection
    opened = server.info("stats")["total_connections_received"]
    for _ in range(20):
        with django_capture_on_commit_callbacks(execute=True):
            broadcast_department_event("ED", "workload.changed", {"hours_written": 1})
    assert server.info("stats")["total_connections_received"] - opened <= 1
