"""Receivers of other apps' and Celery's signals: schedule alert checks (never on the request path),
and count tasks and workers for the metrics."""

from django.conf import settings

from healthcare.caching import soft_cache
from healthcare.jobs import job_enqueue
from monitoring_app import task_stats

# New census data re-checks a department's staffing at most this often.
UNDERSTAFFING_RECHECK_SECONDS = 60


def understaffing_recheck(sender, department_id: int, **kwargs) -> None:
    """The census changed: check the department's coming hours again on a worker, at the end of the minute.

    The first change of a minute schedules the check; the ones after it are covered by it, so a
    burst of admissions costs one check. (With eager Celery, the embedded default, the check
    runs at once, in the process that changed the census.)
    """
    from monitoring_app.tasks import understaffing_check_task

    # With Redis down, add() answers False: no recheck now; the 15-minute alerts check still runs.
    if soft_cache.add(f"monitoring:understaffing-recheck:{department_id}", 1, timeout=UNDERSTAFFING_RECHECK_SECONDS):
        job_enqueue(understaffing_check_task, department_id, countdown=UNDERSTAFFING_RECHECK_SECONDS)


def task_prerun(sender=None, task_id=None, **kwargs) -> None:
    task_stats.task_started(task_id)


def task_postrun(sender=None, task_id=None, state=None, **kwargs) -> None:
    task_stats.task_finished(task_id, sender.name, state)


_heartbeat: task_stats.WorkerHeartbeat | None = None


def worker_started(sender=None, **kwargs) -> None:
    """A worker started: announce it (hospital_celery_workers) for as long as it runs."""
    global _heartbeat
    if settings.REDIS_URL:
        _heartbeat = task_stats.WorkerHeartbeat(getattr(sender, "hostname", None))
        _heartbeat.start()


def worker_shutdown(sender=None, **kwargs) -> None:
    if _heartbeat is not None:
        _heartbeat.stop()
