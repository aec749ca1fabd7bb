"""Celery entry points of staffing. Thin: take ids, call one service."""

from celery import shared_task

from healthcare.jobs import MAX_RETRIES, job_task_limits, job_task_run
from optimization.models import NamedRoster, OptimizationRun
from optimization.services import (
    optimization_fail,
    optimization_run,
    optimization_runs_review,
    optimization_runs_sweep,
)
from optimization.services.rosters import named_roster_fail, named_roster_run, named_rosters_sweep


@shared_task(bind=True, max_retries=MAX_RETRIES, **job_task_limits())
def optimization_run_task(self, run_id: str) -> str | None:
    """Compute a staffing plan. Idempotent on the row; a database outage is retried with backoff,
    and after the last retry the run is marked failed, so none is left without a final status."""
    return job_task_run(
        self,
        run_id,
        run=lambda job_id, task_id: optimization_run(run_id=job_id, task_id=task_id),
        load=lambda job_id: OptimizationRun.objects.filter(id=job_id).first(),
        fail=lambda run, reason: optimization_fail(run=run, reason=reason),
    )


@shared_task
def optimization_runs_sweep_task() -> int:
    """Every few minutes (Celery beat): queue again the runs nobody is working on."""
    return optimization_runs_sweep()


@shared_task
def optimization_runs_review_task() -> int:
    """Hourly (Celery beat): score the plans whose hours have passed against what came, and the oracle."""
    return optimization_runs_review()


@shared_task(bind=True, max_retries=MAX_RETRIES, **job_task_limits())
def named_roster_run_task(self, roster_id: str) -> str | None:
    """Solve a roster of named nurses (or repair one). Idempotent on the row, retried like plans."""
    return job_task_run(
        self,
        roster_id,
        run=lambda job_id, task_id: named_roster_run(roster_id=job_id, task_id=task_id),
        load=lambda job_id: NamedRoster.objects.filter(id=job_id).first(),
        fail=lambda roster, reason: named_roster_fail(roster=roster, reason=reason),
    )


@shared_task
def named_rosters_sweep_task() -> int:
    """Every few minutes (Celery beat): queue again the rosters nobody is solving."""
    return named_rosters_sweep()
