"""Plan runs: requested by a user, run as a job (retried, swept), with a final status."""

import logging
from datetime import datetime

from django.db import OperationalError, transaction
from django.utils import timezone
from scipy import stats

from healthcare.encounters.models import Department
from healthcare.hours import epoch_hour
from healthcare.jobs import job_claim, job_enqueue, job_fail, jobs_sweep
from healthcare.signals import send_on_commit
from optimization.models import OptimizationRun, RunStatus
from optimization.on_duty import on_duty_at_start
from optimization.policies import DEFAULT_POLICY, PolicyUnavailable, active_policy, staffing_rules_for
from optimization.services.plans import RISK_LEVELS, PlanUnavailable, plan_compute
from optimization.signals import plan_ready

logger = logging.getLogger(__name__)


MAX_ATTEMPTS = 3


def optimization_request(
    *, department: Department, params: dict, requested_by=None, planned_from: datetime | None = None
) -> OptimizationRun:
    """A queued plan from the current hour (or planned_from, for replays and demos); computed after commit."""
    run = OptimizationRun.objects.create(
        department=department,
        params=params,
        requested_by=requested_by,
        planned_from=(planned_from or timezone.now()).replace(minute=0, second=0, microsecond=0),
    )
    run_id = str(run.id)
    transaction.on_commit(lambda: _enqueue(run_id))
    return run


def _enqueue(run_id: str) -> None:
    from optimization.tasks import optimization_run_task

    job_enqueue(optimization_run_task, run_id)


def optimization_run(*, run_id, task_id: str | None = None) -> OptimizationRun | None:
    """Compute a queued plan and give it a final status. Idempotent, like forecast jobs; a run
    another message is computing is left to it (healthcare.jobs.job_claim).

    OperationalError propagates for the task to retry; anything else fails the run with the reason.
    """
    with transaction.atomic():
        run = OptimizationRun.objects.select_for_update().filter(id=run_id).first()
        if run is None or run.is_finished or not job_claim(run, task_id=task_id, now=timezone.now()):
            return run
        if run.attempts >= MAX_ATTEMPTS:
            return optimization_fail(run=run, reason=f"gave up after {run.attempts} attempts")
        run.status = RunStatus.RUNNING
        run.started_at = timezone.now()
        run.attempts += 1
        run.save(update_fields=["status", "started_at", "attempts", "task_id"])

    department, params = run.department, run.params
    try:
        rules = staffing_rules_for(department, params.get("rule_overrides"))
        version, _, z_default = active_policy(department)
        z_roster = _roster_z(params, z_default)
        # The shift on duty is a recorded fact: the plan keeps it unless the request overrides it.
        current_staff = params.get("current_staff")
        if current_staff is None:
            current_staff = on_duty_at_start(department, first=run.planned_from)
        computing = timezone.now()
        plan = plan_compute(
            department=department,
            start_hour=epoch_hour(run.planned_from),
            horizon=params.get("horizon_hours", 72),
            rules=rules,
            z_roster=z_roster,
            current_patients=params.get("current_patients"),
            current_staff=current_staff,
        )
        result = plan.as_json() | {"on_duty_at_start": current_staff}
        result["policy"] = {
            "version": version.version if version else None,
            "algorithm": version.algorithm if version else "rule",
            "parameters": version.parameters if version else DEFAULT_POLICY,
        }
    except OperationalError:
        raise
    except (PlanUnavailable, PolicyUnavailable, ValueError) as exc:
        return optimization_fail(run=run, reason=str(exc))
    except Exception as exc:  # noqa: BLE001 - a run must end with a status, whatever broke
        logger.exception("optimization run %s failed", run.id)
        return optimization_fail(run=run, reason=f"internal error: {type(exc).__name__}")

    finished = timezone.now()
    with transaction.atomic():
        run.result = result
        run.status = RunStatus.SUCCEEDED
        run.finished_at = finished
        run.failure_reason = ""
        run.timings = {
            "queued_ms": round((run.started_at - run.created_at).total_seconds() * 1000, 1),
            "compute_ms": round((finished - computing).total_seconds() * 1000, 1),
            "total_ms": round((finished - run.created_at).total_seconds() * 1000, 1),
        }
        run.save(update_fields=["result", "status", "finished_at", "failure_reason", "timings"])
        send_on_commit(
            plan_ready,
            sender=OptimizationRun,
            department_id=department.id,
            department_code=department.code,
            optimization_id=str(run.id),
        )
    return run


def _roster_z(params: dict, default: float) -> float:
    if params.get("quantile") is not None:
        return float(stats.norm.ppf(params["quantile"]))
    if params.get("risk_level"):
        return RISK_LEVELS[params["risk_level"]]
    return default


def optimization_fail(*, run: OptimizationRun, reason: str) -> OptimizationRun:
    """Give the run its final status: failed, with the reason."""
    return job_fail(run, job_kind="Staffing plan", reason=reason, failed_status=RunStatus.FAILED)


def optimization_runs_sweep(*, now: datetime | None = None) -> int:
    """Queue again the runs nobody is working on (lost message, dead worker). Returns how many."""
    from optimization.tasks import optimization_run_task

    return jobs_sweep(optimization_run_task, OptimizationRun.objects.all(), now=now)
