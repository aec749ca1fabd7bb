"""The one way services and tasks push live events to dashboards.

The live feed is lossy by design: every message carries the department's sequence
number, and a page that sees a gap (or reconnects) re-fetches a snapshot over REST. A
failed push is logged, never raised into the work that caused it.
"""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.cache import cache
from django.db import transaction

from healthcare.caching import soft_cache
from healthcare.logs import current_request_id
from monitoring_app.metrics import EVENTS_BROADCAST

logger = logging.getLogger(__name__)


def department_group(code: str) -> str:
    """Channel-layer group of one department's dashboards."""
    return f"department.{code}"


def sequence_key(code: str) -> str:
    return f"dashboard:sequence:{code}"


def department_sequence(code: str) -> int:
    """The sequence number of the department's latest message (0 before any, or while Redis is down:
    the live feed is down then too, and the next message after it shows the page a gap)."""
    return int(soft_cache.get(sequence_key(code), 0))


def _next_sequence(code: str) -> int:
    key = sequence_key(code)
    cache.add(key, 0, timeout=None)
    return int(cache.incr(key))


def broadcast_department_event(code: str, event: str, payload: dict) -> None:
    """Send {event, payload, seq, request_id} to every socket watching department `code`, once the
    transaction commits. request_id names the request (or task) that caused it, as in the logs."""
    request_id = current_request_id()

    def send() -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        try:
            message = {
                "type": "department.event",
                "event": event,
                "department": code,
                "payload": payload,
                "seq": _next_sequence(code),
                "request_id": request_id,
            }
            async_to_sync(layer.group_send)(department_group(code), message)
            EVENTS_BROADCAST.labels(event=event).inc()
        except Exception:  # noqa: BLE001 - any layer failure must not undo committed work
            logger.warning("broadcast of %s to department %s failed", event, code, exc_info=True)

    transaction.on_commit(send)
