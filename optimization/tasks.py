"""Celery entry points of staffing. Thin: take ids, call one service."""

from celery import shared_task
from django.db import OperationalError

from optimization.models import OptimizationRun
from optimization.services import optimization_fail, optimization_run, optimization_runs_sweep

MAX_RETRIES = 3


@shared_task(bind=True, max_retries=MAX_RETRIES)
def optimization_run_task(self, run_id: str) -> str | None:
    """Compute a staffing plan. Idempotent on the row; a database outage is retried with backoff,
    and after the last retry the run is marked failed, so none is left without a final status."""
    try:
        run = optimization_run(run_id=run_id)
    except OperationalError as exc:
        if self.request.retries >= MAX_RETRIES:
            run = OptimizationRun.objects.filter(id=run_id).first()
            if run is not None and not run.is_finished:
                optimization_fail(run=run, reason="the database was unreachable; gave up after retries")
            return None
        raise self.retry(exc=exc, countdown=min(600, 10 * 2**self.request.retries)) from exc
    return run.status if run is not None else None


@shared_task
def optimization_runs_sweep_task() -> int:
    """Every few minutes (Celery beat): queue again the runs nobody is working on."""
    return optimization_runs_sweep()
