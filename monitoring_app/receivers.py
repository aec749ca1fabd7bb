"""Receivers of other apps' signals: schedule alert checks, never run them on the request path."""

from django.core.cache import cache

from healthcare.jobs import job_enqueue

# New census data re-checks a department's staffing at most this often.
UNDERSTAFFING_RECHECK_SECONDS = 60


def understaffing_recheck(sender, department_id: int, **kwargs) -> None:
    """The census changed: check the department's coming hours again on a worker, at the end of the minute.

    The first change of a minute schedules the check; the ones after it are covered by it, so a
    burst of admissions costs one check. (With eager Celery, the embedded default, the check
    runs at once, in the process that changed the census.)
    """
    from monitoring_app.tasks import understaffing_check_task

    if cache.add(f"monitoring:understaffing-recheck:{department_id}", 1, timeout=UNDERSTAFFING_RECHECK_SECONDS):
        job_enqueue(understaffing_check_task, department_id, countdown=UNDERSTAFFING_RECHECK_SECONDS)
