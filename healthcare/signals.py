"""Announcing committed work to the apps that react to it.

An app sends its own signals (healthcare.encounters.signals, predictions.signals, ...); the
apps above it connect receivers in their ready(). That keeps the imports one way: the app
that acts never imports the app that reacts.
"""

import contextvars
import logging

from django.db import transaction
from django.dispatch import Signal

logger = logging.getLogger(__name__)


def send_on_commit(signal: Signal, *, sender, **arguments) -> None:
    """Send `signal` once the current transaction commits (at once outside one).

    Receivers run in the context of the sender (the request id of the request or task that did
    the work, as the logs name it). A receiver that raises is logged and the others still run:
    the work it reacts to is already committed and must not be reported as failed.
    """
    context = contextvars.copy_context()

    def send() -> None:
        for receiver, result in signal.send_robust(sender=sender, **arguments):
            if isinstance(result, Exception):
                logger.error("receiver %s failed", getattr(receiver, "__qualname__", receiver), exc_info=result)

    transaction.on_commit(lambda: context.run(send))
