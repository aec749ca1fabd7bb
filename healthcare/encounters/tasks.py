"""Celery entry points of the patient-flow app. Thin: reload by id, call one service."""

from celery import shared_task
from django.db import OperationalError, transaction

from healthcare.encounters.models import Department
from healthcare.encounters.services import workload_rebuild, workload_refresh_recent


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, retry_jitter=True, max_retries=5)
def workload_rebuild_task(department_id: int) -> dict | None:
    """Recompute every WorkloadHour of a department (after its length-of-stay model changed).

    Idempotent: the rows are derived from stored data, so a redelivery is harmless.
    """
    with transaction.atomic():
        department = Department.objects.select_for_update().filter(id=department_id).first()
        if department is None:
            return None
        change = workload_rebuild(department=department)
    return {"department": department.code, "written": change.written, "deleted": change.deleted}


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, retry_jitter=True, max_retries=3)
def workload_refresh_task() -> dict:
    """Hourly (Celery beat): bring the recent hours of every department up to date."""
    change = workload_refresh_recent()
    return {"written": change.written, "deleted": change.deleted}
