"""Scale-out: replicas of the web and of the workers behind one Redis and one PostgreSQL.

Two daphne processes (healthcare.asgi:application on two ports) and two Celery workers (the README's
worker command, one pool process each) run at once against the test database and Redis (REDIS_URL).
"""

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.utils import timezone

from healthcare.encounters.models import WorkloadHour
from optimization.models import OptimizationRun, RunStatus
from tests.factories import current_hour, iso
from tests.ops.conftest import session_for, token_for
from tests.ops.processes import (
    WebSocket,
    http,
    service_env,
    tasks_succeeded,
    wait_for,
    web_ready,
    web_start,
    worker_ready,
    worker_start,
)

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

PLAN_TASK = "optimization.tasks.optimization_run_task"
PLANS = 16


@pytest.fixture
def replicas(services, database_url, settings):
    """Two web processes and two workers, ready: (web A, web B, worker 1, worker 2)."""
    env = service_env(database_url=database_url, redis_url=settings.REDIS_URL)
    web_a, web_b = web_start(services, "web-a", env), web_start(services, "web-b", env)
    worker_1, worker_2 = worker_start(services, "worker-1", env), worker_start(services, "worker-2", env)
    for web in (web_a, web_b):
        web_ready(web, timeout=90)
    for worker in (worker_1, worker_2):
        worker_ready(worker, timeout=90)
    return web_a, web_b, worker_1, worker_2


def test_two_web_and_two_worker_replicas_serve_one_hospital(replicas, ed_planning, integrator, ed_staff):
    """Proves that replicas share their work through Redis and PostgreSQL alone:
    - an admit posted to web A reaches a dashboard's websocket held open on web B, with the census the
      database now holds for the hour (the channel layer is shared, not per process);
    - 16 plans requested through both web processes, at once, are each computed exactly once (one
      attempt on the row, one task execution in the workers' logs, one plan.ready on the feed), and both
      workers computed some of them.
    """
    web_a, web_b, worker_1, worker_2 = replicas
    feed = WebSocket(web_b.base, "/ws/departments/ED/", session=session_for(ed_staff))
    try:
        snapshot = feed.receive_until(lambda m: m["event"] == "snapshot", timeout=10, what="the snapshot")

        now_hour = current_hour()
        before = WorkloadHour.objects.get(department=ed_planning, hour=now_hour)
        admit = {
            "event_id": "scale-out-1",
            "kind": "admit",
            "encounter_id": "SCALE-1",
            "patient": "P-SCALE-1",
            "department": "ED",
            "occurred_at": iso(max(now_hour, timezone.now() - timedelta(minutes=1))),
        }
        status, answer = http(
            "POST",
            f"{web_a.base}/api/v1/events",
            token=token_for(integrator),
            body={"source": "ops", "events": [admit]},
        )
        assert (status, answer["applied"]) == (200, 1), answer
        changed = feed.receive_until(
            lambda m: m["event"] == "workload.changed", timeout=10, what="the admit posted to web A, on web B"
        )
        after = WorkloadHour.objects.get(department=ed_planning, hour=now_hour)
        assert after.arrivals == before.arrivals + 1
        assert changed["seq"] > snapshot["seq"]
        assert {"hour": iso(now_hour), "arrivals": after.arrivals, "census": after.census} in changed["payload"][
            "hours"
        ]

        token = token_for(ed_staff)

        def request_plan(number: int) -> str:
            web = (web_a, web_b)[number % 2]
            status, run = http(
                "POST",
                f"{web.base}/api/v1/optimize/workload",
                token=token,
                body={"department": "ED", "horizon_hours": 24},
            )
            assert status == 202, (web.name, status, run)
            return run["optimization_id"]

        with ThreadPoolExecutor(max_workers=4) as pool:
            requested = list(pool.map(request_plan, range(PLANS)))
        assert len(set(requested)) == PLANS

        runs = OptimizationRun.objects.filter(id__in=requested)
        wait_for(
            lambda: runs.filter(status=RunStatus.SUCCEEDED).count() == PLANS,
            timeout=90,
            what=f"{PLANS} plans to succeed",
            seen=lambda: str(Counter(runs.values_list("status", flat=True))),
        )
        ready = Counter()
        while set(ready) < set(requested):
            message = feed.receive_until(lambda m: m["event"] == "plan.ready", timeout=10, what="plan.ready on web B")
            ready[message["payload"]["optimization_id"]] += 1
        assert set(ready) == set(requested) and max(ready.values()) == 1, ready
    finally:
        feed.close()

    assert set(runs.values_list("attempts", flat=True)) == {1}
    done = wait_for(
        lambda: (
            (counts := [tasks_succeeded(worker, PLAN_TASK) for worker in (worker_1, worker_2)])
            and sum(counts) == PLANS
            and counts
        ),
        timeout=10,
        what=f"the workers to log {PLANS} plan tasks",
        seen=lambda: str([tasks_succeeded(worker, PLAN_TASK) for worker in (worker_1, worker_2)]),
    )
    assert min(done) > 0, f"one worker computed every plan: {done}"
