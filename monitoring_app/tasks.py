"""Celery tasks of monitoring."""

from celery import shared_task


@shared_task(acks_late=False, ignore_result=False)
def canary_task(token: str) -> str:
    """Echo token back: proves a worker is consuming the queue, not merely alive."""
    return token
