"""What forecast jobs and staffing runs share: enqueueing that survives a broker outage, a sweep
of jobs nobody works on, and a Celery retry policy that always ends with a final status.

A job is a model row with `status`, `created_at`, `started_at` and an `is_finished` property;
its task takes the row's id.
"""

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import OperationalError
from django.db.models import Q, QuerySet
from django.dispatch import Signal
from django.utils import timezone

from healthcare.signals import send_on_commit

logger = logging.getLogger(__name__)

# A job still queued after this long lost its message (or the broker was down): queue it again.
QUEUED_GRACE = timedelta(minutes=5)
MAX_RETRIES = 3

# A forecast job or staffing run ended failed; sent after commit. Arguments: department_id (int),
# job_kind (str, as people read it: "Forecast", "Staffing plan"), job_id (str), reason (str).
job_failed = Signal()


def job_enqueue(task, job_id, *, countdown: float | None = None) -> None:
    """Hand a job to the workers (after `countdown` seconds); if the broker is down it stays
    queued for the sweep to retry."""
    try:
        # The row holds the job's result: no result subscription, which would retry a down Redis for ~20 s.
        task.apply_async((job_id,), countdown=countdown, ignore_result=True)
    except Exception:  # noqa: BLE001 - kombu/redis raise many kinds of connection errors
        logger.warning("could not queue %s %s; the sweep will retry", task.name, job_id, exc_info=True)


def job_fail(job, *, job_kind: str, reason: str, failed_status: str):
    """Give the job its final status, failed with the reason, and announce it (job_failed) after commit."""
    job.status = failed_status
    job.failure_reason = reason
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "failure_reason", "finished_at"])
    send_on_commit(
        job_failed,
        sender=type(job),
        department_id=job.department_id,
        job_kind=job_kind,
        job_id=str(job.id),
        reason=reason,
    )
    return job


def job_task_limits() -> dict:
    """Celery options of a job's task: its time limits (CELERY_JOB_TIME_LIMIT). At the soft one the
    job fails with a final status; the sweep takes a job over once it has run past the hard one."""
    return {"time_limit": settings.CELERY_JOB_TIME_LIMIT, "soft_time_limit": settings.CELERY_JOB_TIME_LIMIT - 30}


def _stuck_since(now: datetime) -> datetime:
    """A job started before this has run past its time limit: its worker is gone."""
    return now - timedelta(seconds=settings.CELERY_JOB_TIME_LIMIT + 60)


def jobs_sweep(task, jobs: QuerySet, *, now: datetime | None = None) -> int:
    """Queue again the jobs nobody works on: queued for QUEUED_GRACE, or running past the job time limit.

    The job's own run counts the attempts and gives up after a few. Returns how many were queued.
    """
    now = now or timezone.now()
    stale = jobs.filter(
        Q(status="queued", created_at__lt=now - QUEUED_GRACE) | Q(status="running", started_at__lt=_stuck_since(now))
    )
    job_ids = [str(job_id) for job_id in stale.values_list("id", flat=True)]
    for job_id in job_ids:
        job_enqueue(task, job_id)
    return len(job_ids)


def job_claim(job, *, task_id: str | None, now: datetime) -> bool:
    """May this delivery start the (locked, unfinished) job? Then it records itself as the job's task.

    A running job is taken over only by the same message delivered again (its earlier run died:
    acks_late redelivers it, or it is retrying) or once it has run past the job time limit (its
    worker died; the sweep sent a new message). Another message for it while it runs (the sweep
    re-sent one that was only waiting for a worker) leaves it to the worker that has it.
    Direct calls (task_id None, tests and commands) always run it.
    """
    another_runs_it = job.status == "running" and task_id is not None and job.task_id not in ("", task_id)
    if another_runs_it and job.started_at is not None and job.started_at >= _stuck_since(now):
        logger.info("job %s is running under task %s; message %s leaves it", job.pk, job.task_id, task_id)
        return False
    job.task_id = task_id or ""
    return True


def job_task_run(task, job_id: str, *, run: Callable, load: Callable, fail: Callable) -> str | None:
    """Body of a job's Celery task: run it (`run(job_id, task_id)`); retry a database outage with
    backoff, then fail the job."""
    try:
        job = run(job_id, task.request.id)
    except OperationalError as exc:
        if task.request.retries >= MAX_RETRIES:
            job = load(job_id)
            if job is not None and not job.is_finished:
                fail(job, "the database was unreachable; gave up after retries")
            return None
        raise task.retry(exc=exc, countdown=min(600, 10 * 2**task.request.retries)) from exc
    return job.status if job is not None else None
