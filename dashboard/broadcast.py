"""The one way services and tasks push live events to dashboards.

The live feed is lossy by design (a client re-fetches a snapshot over REST after a
reconnect), so a failed push is logged, never raised into the work that caused it.
"""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)


def department_group(code: str) -> str:
    """Channel-layer group of one department's dashboards."""
    return f"department.{code}"


def broadcast_department_event(code: str, event: str, payload: dict) -> None:
    """Send {event, payload} to every socket watching department `code`, once the transaction commits."""

    def send() -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        message = {"type": "department.event", "event": event, "department": code, "payload": payload}
        try:
            async_to_sync(layer.group_send)(department_group(code), message)
        except Exception:  # noqa: BLE001 - any layer failure must not undo committed work
            logger.warning("broadcast of %s to department %s failed", event, code, exc_info=True)

    transaction.on_commit(send)
