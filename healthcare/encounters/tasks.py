"""Celery entry points of the patient-flow app. Thin: take ids, call one service."""

from celery import shared_task
from django.db import OperationalError

from healthcare.encounters.services import department_workload_rebuild, workload_refresh_recent


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, retry_jitter=True, max_retries=5)
def workload_rebuild_task(department_id: int) -> dict | None:
    """Recompute every WorkloadHour of a department (after its length-of-stay model changed).

    Idempotent: the rows are derived from stored data, so a redelivery is harmless.
    """
    change = department_workload_rebuild(department_id=department_id)
    if change is None:
        return None
    return {"department_id": department_id, "written": change.written, "deleted": change.deleted}


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, retry_jitter=True, max_retries=3)
def workload_refresh_task() -> dict:
    """Hourly (Celery beat): bring the recent hours of every department up to date."""
    change = workload_refresh_recent()
    return {"written": change.written, "deleted": change.deleted}
