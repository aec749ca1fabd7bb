"""The one way services and tasks push live events to dashboards.

The live feed is lossy by design: every message carries the department's sequence
number, and a page that sees a gap (or reconnects) re-fetches a snapshot over REST. A
failed push is logged, never raised into the work that caused it.
"""

import asyncio
import logging
import os
import threading

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import transaction

from healthcare.caching import soft_cache
from healthcare.logs import current_request_id
from healthcare.private_pieces import private_piece_enabled
from monitoring_app.metrics import EVENTS_BROADCAST

logger = logging.getLogger(__name__)

# A push waits at most this long for the channel layer; the work that caused it is already committed.
SEND_TIMEOUT_SECONDS = 2.0


def department_group(code: str) -> str:
    """Channel-layer group of one department's dashboards."""
    return f"department.{code}"


def sequence_key(code: str) -> str:
    return f"dashboard:sequence:{code}"


def department_sequence(code: str) -> int:
    """The sequence number of the department's latest message (0 before any, or while Redis is down:
    the live feed is down then too, and the next message after it shows the page a gap)."""
    return int(soft_cache.get(sequence_key(code), 0))


def broadcast_department_event(code: str, event: str, payload: dict) -> None:
    """Send {event, payload, seq, request_id} to every socket watching department `code`, once the
    transaction commits. request_id names the request (or task) that caused it, as in the logs."""
    request_id = current_request_id()

    def send() -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        sequence = soft_cache.counter_next(sequence_key(code))
        if sequence is None:
            return  # Redis is unreachable (logged): the layer is too, and pages re-read when it is back
        try:
            message = {
                "type": "department.event",
                "event": event,
                "department": code,
                "payload": payload,
                "seq": sequence,
                "request_id": request_id,
            }
            _group_send(layer, department_group(code), message)
            EVENTS_BROADCAST.labels(event=event).inc()
        except Exception:  # noqa: BLE001 - any layer failure must not undo committed work
            logger.warning("broadcast of %s to department %s failed", event, code, exc_info=True)

    transaction.on_commit(send)


def _group_send(layer, group: str, message: dict) -> None:
    """Send on the channel layer; TimeoutError (and the send cancelled) after SEND_TIMEOUT_SECONDS."""
    if isinstance(layer, InMemoryChannelLayer) or not private_piece_enabled("layer-loop"):
        # async_to_sync runs the send on the loop of whoever listens in this process when there is
        # one (the in-memory layer's queues belong to it), and on a new loop of its own otherwise.
        async_to_sync(_group_send_within_timeout)(layer, group, message)
        return
    # channels-redis keeps its connections per event loop: on a new loop for every push (what
    # async_to_sync makes in a thread that has none) every live event would open a Redis connection.
    # A loop kept per thread, run only for the send, keeps one connection per thread instead.
    coroutine = _group_send_within_timeout(layer, group, message)
    try:
        _thread_loop().run_until_complete(coroutine)
    finally:
        # A thread that already runs a loop (an async caller's) refuses to run this one: the send
        # never started, and is closed rather than left for the collector to warn about.
        coroutine.close()


class _ThreadLoops(threading.local):
    loop: asyncio.AbstractEventLoop | None = None


_loops = _ThreadLoops()


def _thread_loop() -> asyncio.AbstractEventLoop:
    """This thread's event loop for sending to a networked layer, made on first use."""
    if _loops.loop is None:
        _loops.loop = asyncio.new_event_loop()
    return _loops.loop


def _forget_inherited_loop() -> None:
    # A forked child must not write to the Redis sockets it shares with its parent: it makes its own.
    _loops.loop = None


os.register_at_fork(after_in_child=_forget_inherited_loop)


async def _group_send_within_timeout(layer, group: str, message: dict) -> None:
    """TimeoutError (and the send cancelled) after SEND_TIMEOUT_SECONDS."""
    await asyncio.wait_for(layer.group_send(group, message), SEND_TIMEOUT_SECONDS)
