"""Receivers of other apps' and Celery's signals: schedule alert checks (never on the request path),
raise the alert of a failed job, audit sign-ins, and count tasks and workers for the metrics."""

from django.conf import settings
from django.contrib.auth import get_user_model

from healthcare.caching import soft_cache
from healthcare.encounters.models import Department
from healthcare.jobs import job_enqueue
from monitoring_app import task_stats
from monitoring_app.audit import audit_record
from monitoring_app.services import alerts_after_job, job_failed_alert_raise

# New census data re-checks a department's staffing at most this often, this long after the change.
UNDERSTAFFING_RECHECK_SECONDS = 5


def understaffing_recheck(sender, department_id: int, **kwargs) -> None:
    """The census changed: check the department's staffing again on a worker, seconds later.

    The first change of a few seconds schedules the check; the ones after it are covered by it,
    so a burst of admissions costs one check. (With eager Celery, the embedded default, the
    check runs at once, in the request that changed the census.)
    """
    from monitoring_app.tasks import understaffing_check_task

    if understaffing_check_task.app.conf.task_always_eager:
        # No worker to defer to: the check runs in this request, so the alert is there when it answers.
        job_enqueue(understaffing_check_task, department_id)
        return
    # With Redis down, add() answers False: no recheck now; the periodic alerts check still runs.
    if soft_cache.add(f"monitoring:understaffing-recheck:{department_id}", 1, timeout=UNDERSTAFFING_RECHECK_SECONDS):
        job_enqueue(understaffing_check_task, department_id, countdown=UNDERSTAFFING_RECHECK_SECONDS)


def staffing_recheck(sender, department_id: int, **kwargs) -> None:
    """Who is on duty changed (a plan put in force, a call-in, release or absence recorded): check
    the department's staffing at once, so the alert and every open page follow within seconds."""
    from monitoring_app.tasks import understaffing_check_task

    job_enqueue(understaffing_check_task, department_id)


def forecast_recheck(sender, department_id: int, **kwargs) -> None:
    """A forecast is ready: the hours at risk are judged again from it, at once."""
    from monitoring_app.tasks import understaffing_check_task

    job_enqueue(understaffing_check_task, department_id)


def job_failed_alert(sender, department_id: int, job_kind: str, job_id: str, reason: str, **kwargs) -> None:
    """A forecast job or staffing run failed: the plan or forecast people expect is missing."""
    department = Department.objects.filter(id=department_id).first()
    if department is not None:
        alerts_after_job(job_failed_alert_raise, department=department, job_kind=job_kind, job_id=job_id, reason=reason)


def sign_in_audit(sender, request, user, **kwargs) -> None:
    """A session sign-in succeeded: with a password (the page or the admin; the target is the form's path),
    or through the hospital's identity provider (the target names it; never the callback's code)."""
    issuer = getattr(user, "oidc_issuer", None)  # set by healthcare.accounts.oidc for a single sign-on
    target = f"OpenID Connect {issuer}" if issuer else ""
    audit_record(action="login", outcome=200, request=request, user=user, target=target)


def sign_in_failure_audit(sender, credentials, request=None, **kwargs) -> None:
    """A password was wrong (page, admin or token), or a single sign-on was refused: the user name tried,
    never the password, and the path without its query (a refused sign-on's carries its code)."""
    target = request.path if request is not None else ""
    username = str(credentials.get("username", ""))[:150]
    audit_record(action="login", outcome=401, request=request, username=username, target=target)


def token_issued_audit(sender, request, user, **kwargs) -> None:
    """An API token pair was issued for a password."""
    audit_record(action="login.token", outcome=200, request=request, user=user)


def roster_in_force_audit(sender, department_id: int, roster_id: str, user_id: int | None, **kwargs) -> None:
    """A roster of named nurses was put in force: who did it, and which roster."""
    user = get_user_model().objects.filter(pk=user_id).first() if user_id is not None else None
    audit_record(action="roster.in_force", outcome=200, user=user, target=f"named roster {roster_id}")


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
