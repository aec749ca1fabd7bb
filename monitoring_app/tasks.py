"""Celery tasks of monitoring."""

from celery import shared_task

from monitoring_app.services import alerts_check


@shared_task(acks_late=False, ignore_result=False)
def canary_task(token: str) -> str:
    """Echo token back: proves a worker is consuming the queue, not merely alive."""
    return token


@shared_task
def alerts_check_task() -> int:
    """Every few minutes (Celery beat): raise the alerts the current forecasts and plans call for."""
    return alerts_check()
