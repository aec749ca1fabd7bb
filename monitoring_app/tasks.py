"""Celery tasks of monitoring."""

from celery import shared_task

from healthcare.encounters.models import Department
from monitoring_app.services import alerts_after_job, alerts_check, understaffing_check


@shared_task(acks_late=False, ignore_result=False)
def canary_task(token: str) -> str:
    """Echo token back: proves a worker is consuming the queue, not merely alive."""
    return token


@shared_task
def alerts_check_task() -> int:
    """Every few minutes (Celery beat): raise the alerts the current forecasts and plans call for."""
    return alerts_check()


@shared_task
def understaffing_check_task(department_id: int) -> None:
    """New census for a department: are its coming planned hours still covered?"""
    department = Department.objects.filter(id=department_id).first()
    if department is not None:
        alerts_after_job(understaffing_check, department=department)
