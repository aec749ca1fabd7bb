"""Faults while the product works: workers killed in the middle of a job, Redis stopped under load, an
import killed half way. Real processes (Celery workers, daphne, redis-server, manage.py) on the test
database; each test says what it proves in its docstring.

Staffing plans are the job: the cheapest real one (a few hundred milliseconds), computed by the
product's task on the product's worker. For the kills, tests/ops/slow_worker.py makes each plan take
SLOW_PLAN_SECONDS longer so that the kill lands while the job runs.
"""

import csv
import json
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.db.models import F, Sum
from django.utils import timezone

from healthcare.encounters.models import Department, Encounter, WorkloadHour
from healthcare.jobs import QUEUED_GRACE
from optimization.models import OptimizationRun, RunStatus
from optimization.services import optimization_request, optimization_runs_sweep
from tests.factories import iso
from tests.ops.conftest import token_for
from tests.ops.processes import (
    BIN,
    ReadLoad,
    RedisServer,
    WaitTimeout,
    free_port,
    http,
    pid_alive,
    pool_pids,
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
SLOW_PLAN_SECONDS = 4


# --- Workers killed in the middle of a job ---------------------------------------------------------------


@dataclass
class Mark:
    what: str  # start | done
    run_id: str
    worker: str  # Celery hostname, name@host
    pid: int  # the process computing the plan
    at: float  # time.time()


def marks_read(path) -> list[Mark]:
    if not path.exists():
        return []
    marks = []
    for line in path.read_text().splitlines():
        what, run_id, worker, pid, at = line.split()
        marks.append(Mark(what, run_id, worker, int(pid), float(at)))
    return marks


def slow_workers_start(services, database_url: str, redis_url: str, marks) -> list:
    """Two ready workers whose plans take SLOW_PLAN_SECONDS more, marking each plan's start and end in `marks`."""
    env = service_env(
        database_url=database_url,
        redis_url=redis_url,
        SLOW_PLAN_SECONDS=str(SLOW_PLAN_SECONDS),
        SLOW_PLAN_MARKS=str(marks),
    )
    workers = [worker_start(services, name, env, slow_plan=True) for name in ("worker-1", "worker-2")]
    for worker in workers:
        worker_ready(worker, timeout=90)
    return workers


@pytest.fixture
def slow_workers(services, database_url, settings, tmp_path):
    """Two ready slow-plan workers on the suite's Redis: (workers, marks file)."""
    marks = tmp_path / "plan-marks"
    return slow_workers_start(services, database_url, settings.REDIS_URL, marks), marks


def plan_started(workers, marks, run: OptimizationRun):
    """(the start mark, the worker computing the plan, the other worker), once the plan is under way."""
    start = wait_for(
        lambda: next((m for m in marks_read(marks) if m.run_id == str(run.id)), None),
        timeout=30,
        what="a worker to start computing the plan",
        seen=lambda: " | ".join(worker.log_tail(5) for worker in workers),
    )
    victim = next(worker for worker in workers if start.worker.startswith(f"{worker.name}@"))
    survivor = next(worker for worker in workers if worker is not victim)
    return start, victim, survivor


def task_logged(worker, times: int) -> None:
    """Wait until the worker logged the plan task as succeeded `times` times (it logs just after the row
    is saved), and check it does not log more."""
    wait_for(
        lambda: tasks_succeeded(worker, PLAN_TASK) >= times,
        timeout=10,
        what=f"{worker.name} to log {times} plan task(s) succeeded",
        seen=lambda: worker.log_tail(8),
    )
    assert tasks_succeeded(worker, PLAN_TASK) == times


def run_succeeds(run: OptimizationRun, *, timeout: float) -> OptimizationRun:
    wait_for(
        lambda: OptimizationRun.objects.filter(id=run.id, status=RunStatus.SUCCEEDED).exists(),
        timeout=timeout,
        what="the plan to succeed",
        seen=lambda: str(OptimizationRun.objects.values("status", "attempts", "failure_reason").get(id=run.id)),
    )
    run.refresh_from_db()
    return run


def test_a_plan_whose_pool_process_is_killed_finishes_once_on_the_other_worker(slow_workers, ed_planning):
    """kill -9 of the pool process computing a plan (the worker's main process lives on): with acks_late
    and reject_on_worker_lost the message goes back to the queue at once, the other worker (idle, so
    first in line on Redis) takes it, and the plan ends succeeded, computed to the end exactly once.
    The row counts the two starts (attempts 2); the killed worker logs WorkerLostError and keeps serving."""
    workers, marks = slow_workers
    run = optimization_request(department=ed_planning, params={"horizon_hours": 24})
    start, victim, survivor = plan_started(workers, marks, run)
    assert start.pid in pool_pids(victim) and start.pid != victim.pid, "the plan must run in a pool process"

    os.kill(start.pid, signal.SIGKILL)
    killed_at = time.time()
    run = run_succeeds(run, timeout=30 + SLOW_PLAN_SECONDS)

    plan_marks = [(m.what, m.worker.split("@")[0]) for m in marks_read(marks) if m.run_id == str(run.id)]
    assert plan_marks == [("start", victim.name), ("start", survivor.name), ("done", survivor.name)]
    assert run.attempts == 2 and run.finished_at is not None and run.result["hours"]
    task_logged(survivor, 1)
    assert tasks_succeeded(victim, PLAN_TASK) == 0
    assert "WorkerLostError" in victim.log() and victim.alive()
    redelivered = next(m for m in marks_read(marks) if m.worker.startswith(survivor.name)).at - killed_at
    assert redelivered < 5, f"the other worker started the plan {redelivered:.1f} s after the kill"


def test_a_plan_whose_whole_worker_is_killed_waits_for_the_sweep_and_then_finishes_once(slow_workers, ed_planning):
    """kill -9 of a worker's main process while its pool process computes a plan. What really happens:
    - the pool process dies with its parent (billiard's parent-death signal): nothing finishes the plan;
    - the message stays unacknowledged in Redis, so no worker gets it again before visibility_timeout
      (2 x CELERY_TASK_TIME_LIMIT = 1 h by default), and the row stays 'running' (attempts 1);
    - the sweep (beat, every 5 min) queues it again once it has been running for longer than the job time
      limit + 60 s (6 min by default; here the row's start is moved back by that much);
      the other worker computes it: succeeded, attempts 2;
    - when the visibility timeout then gives the original message back (here restored as kombu does when
      it expires), the worker finds the plan finished and computes nothing: one plan, computed once.
    """
    workers, marks = slow_workers
    run = optimization_request(department=ed_planning, params={"horizon_hours": 24})
    start, victim, survivor = plan_started(workers, marks, run)

    os.kill(victim.pid, signal.SIGKILL)
    wait_for(lambda: not pid_alive(start.pid), timeout=5, what="the orphaned pool process to die with its parent")
    time.sleep(SLOW_PLAN_SECONDS + 1)  # time enough for the plan to have finished, had anything carried it on
    run.refresh_from_db()
    assert (run.status, run.attempts) == (RunStatus.RUNNING, 1)
    assert [m.what for m in marks_read(marks)] == ["start"], "nothing may have computed the plan yet"

    assert optimization_runs_sweep() == 0, "a plan running for less than the job time limit is not stuck"
    # As the beat sweep finds it once the time limit + 60 s have passed: the row's clock is moved back.
    stuck_for = timedelta(seconds=settings.CELERY_JOB_TIME_LIMIT + 61)
    OptimizationRun.objects.filter(id=run.id).update(started_at=F("started_at") - stuck_for)
    assert optimization_runs_sweep() == 1
    run = run_succeeds(run, timeout=30 + SLOW_PLAN_SECONDS)
    assert run.attempts == 2
    assert [(m.what, m.worker.split("@")[0]) for m in marks_read(marks)] == [
        ("start", victim.name),
        ("start", survivor.name),
        ("done", survivor.name),
    ]

    task_logged(survivor, 1)  # and acknowledged its message

    # The killed worker's message is still held unacknowledged by Redis: nothing was lost.
    from healthcare.celery import app

    with app.connection_for_write() as broker:
        channel = broker.default_channel

        def held() -> list:
            return [
                tag
                for tag, saved in channel.client.hgetall(channel.unacked_key).items()
                if str(run.id) in json.loads(saved)[0]["headers"].get("argsrepr", "")
            ]

        tags = wait_for(lambda: len(held()) == 1 and held(), timeout=10, what="one message of the plan held")
        channel.qos.restore_by_tag(tags[0])  # what kombu does once the visibility timeout has passed
    task_logged(survivor, 2)
    finished_at = run.finished_at
    run.refresh_from_db()
    assert (run.status, run.attempts, run.finished_at) == (RunStatus.SUCCEEDED, 2, finished_at)
    assert [m.what for m in marks_read(marks)] == ["start", "start", "done"], "the plan was computed again"


def test_a_plan_queued_past_the_grace_is_computed_once_when_workers_return(
    services, database_url, settings, tmp_path, ed_planning
):
    """No worker for longer than QUEUED_GRACE (5 min) while a plan waits in Redis: the sweep (beat) queues it a
    second time (here run with its clock moved on by the grace). When two workers come back, each takes one of
    the two messages at once; the plan is computed to the end once, and the row counts one attempt (the second
    message leaves the plan to the worker that started it)."""
    marks = tmp_path / "plan-marks"
    run = optimization_request(department=ed_planning, params={"horizon_hours": 24})
    assert optimization_runs_sweep(now=timezone.now() + QUEUED_GRACE + timedelta(seconds=1)) == 1
    workers = slow_workers_start(services, database_url, settings.REDIS_URL, marks)
    run = run_succeeds(run, timeout=30 + 2 * SLOW_PLAN_SECONDS)
    wait_for(
        lambda: sum(tasks_succeeded(worker, PLAN_TASK) for worker in workers) == 2,
        timeout=30,
        what="both messages of the plan to be consumed",
        seen=lambda: " | ".join(worker.log_tail(4) for worker in workers),
    )
    run.refresh_from_db()
    computed = [m.worker for m in marks_read(marks) if m.what == "done"]
    assert len(computed) == 1, f"the plan was computed {len(computed)} times, by {computed}"
    assert (run.status, run.attempts) == (RunStatus.SUCCEEDED, 1)


# --- Redis stopped under load ----------------------------------------------------------------------------

READS = [
    "/api/v1/departments/",
    "/api/v1/workload-hours/?department=ED&page_size=48",
    "/api/v1/optimize/history?department=ED",
    "/api/v1/encounters/?department=ED&page_size=20",
    "/api/v1/departments/ED/snapshot/",
]
SWEEP_AFTER_GRACE = (
    "from datetime import timedelta; from django.utils import timezone; "
    "from healthcare.jobs import QUEUED_GRACE; from optimization.services import optimization_runs_sweep; "
    "print('swept', optimization_runs_sweep(now=timezone.now() + QUEUED_GRACE + timedelta(seconds=1)))"
)


@pytest.fixture
def private_redis(services):
    redis = RedisServer(services)
    redis.start()
    return redis


def test_redis_stopped_under_load_reads_answer_readiness_fails_and_queued_jobs_finish_after(
    services, database_url, private_redis, ed_planning, ed_staff, integrator
):
    """Redis (a private redis-server: channel layer, cache, broker) stopped while three threads read the
    API through daphne, with a worker running. Proves:
    - every read (departments, hourly workload, plan history, encounters, the dashboard's snapshot) answers
      200 before, during and after the outage: reads need only PostgreSQL;
    - GET /api/v1/status answers 503 within seconds, naming cache and channel layer as failing and the
      database as fine; and 200 again within seconds of Redis' return;
    - a plan requested during the outage is accepted (202) within seconds and stored queued, its message
      unsent; a live admit posted meanwhile is stored and answered 200 (only its push is lost);
    - after Redis returns, the sweep (beat, every 5 min; here run once with its clock moved past the 5-minute
      grace) queues the plan again and the worker, reconnected by itself, computes it: succeeded, attempts 1;
    - a plan requested through the same web process after the outage is queued and computed at once.
    """
    env = service_env(database_url=database_url, redis_url=private_redis.url)
    web, worker = web_start(services, "web", env), worker_start(services, "worker", env)
    web_ready(web, timeout=90)
    worker_ready(worker, timeout=90)
    token = token_for(ed_staff)
    status_url, plan_url = f"{web.base}/api/v1/status", f"{web.base}/api/v1/optimize/workload"
    plan_body = {"department": "ED", "horizon_hours": 24}
    admit = {
        "event_id": "outage-admit",
        "kind": "admit",
        "encounter_id": "OUTAGE-ADMIT",
        "patient": "P-OUTAGE-ADMIT",
        "department": "ED",
        "occurred_at": iso(timezone.now() - timedelta(minutes=1)),
    }

    with ReadLoad(web.base, token, READS, threads=3) as load:
        wait_for(lambda: len(load.outcomes) >= 12, timeout=20, what="reads before the outage")
        assert http("GET", status_url)[0] == 200

        private_redis.stop()
        stopped = time.monotonic()
        status, body = wait_for(
            lambda: (answer := http("GET", status_url))[0] == 503 and answer, timeout=15, what="readiness to fail"
        )
        checks = {name: check["ok"] for name, check in body["checks"].items()}
        assert (checks["database"], checks["cache"], checks["channel_layer"]) == (True, False, False), body
        assert body["ready"] is False

        asked = time.monotonic()
        status, requested = http("POST", plan_url, token=token, body=plan_body, timeout=30)
        answered_in = time.monotonic() - asked
        assert status == 202, requested
        assert answered_in < 5, f"the plan request was held {answered_in:.1f} s"
        status, applied = http(
            "POST", f"{web.base}/api/v1/events", token=token_for(integrator), body={"source": "ops", "events": [admit]}
        )
        assert (status, applied["applied"]) == (200, 1), applied
        wait_for(lambda: len(load.between(stopped, time.monotonic())) >= 30, timeout=20, what="reads during the outage")

        private_redis.start()
        restarted = time.monotonic()
        wait_for(lambda: http("GET", status_url)[0] == 200, timeout=30, what="readiness after Redis returned")
        ready_again = time.monotonic() - restarted
        wait_for(lambda: len(load.between(restarted, time.monotonic())) >= 12, timeout=20, what="reads after")

    during = load.between(stopped, restarted)
    failures = [(o.path, o.status) for o in load.outcomes if o.status != 200]
    assert not failures, f"{len(failures)} of {len(load.outcomes)} reads failed ({len(during)} during the outage)"
    assert ready_again < 15
    assert Encounter.objects.filter(source="ops", source_id="OUTAGE-ADMIT", end__isnull=True).count() == 1

    run = OptimizationRun.objects.get(id=requested["optimization_id"])
    assert run.status == RunStatus.QUEUED, "the message could not be sent: the job waits, stored"
    swept = services.start("sweep", [BIN / "python", "manage.py", "shell", "-c", SWEEP_AFTER_GRACE], env)
    assert swept.popen.wait(timeout=60) == 0, swept.log_tail()
    assert "swept 1" in swept.log()
    run = run_succeeds(run, timeout=30)
    assert run.attempts == 1

    status, after = http("POST", plan_url, token=token, body=plan_body, timeout=10)
    assert status == 202, after
    assert run_succeeds(OptimizationRun.objects.get(id=after["optimization_id"]), timeout=20).attempts == 1


def redis_unreachable(settings) -> None:
    """Point the cache and the channel layer of this (test) process at a closed port: Redis is down."""
    unreachable = f"redis://127.0.0.1:{free_port()}/0"
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": unreachable}}
    layer = settings.CHANNEL_LAYERS["default"]
    settings.CHANNEL_LAYERS = {"default": {**layer, "CONFIG": {**layer.get("CONFIG", {}), "hosts": [unreachable]}}}


def test_the_dashboard_snapshot_answers_while_redis_is_down(settings, ed_history, ed_staff, api_client):
    """GET /api/v1/departments/ED/snapshot/ with Redis unreachable: the dashboard's REST read must answer
    200 from PostgreSQL like the other reads (the live feed is down meanwhile)."""
    redis_unreachable(settings)
    api_client.force_authenticate(ed_staff)
    assert api_client.get("/api/v1/departments/ED/snapshot/").status_code == 200


def test_a_live_event_while_redis_is_down_is_stored_and_answered(settings, ed_history, integrator, api_client):
    """POST /api/v1/events with Redis unreachable: the admit is stored and answered 200 (docs/api.md: writes
    go through while the rate-limit store is down); only its live push is lost."""
    redis_unreachable(settings)
    api_client.force_authenticate(integrator)
    admit = {
        "event_id": "outage-1",
        "kind": "admit",
        "encounter_id": "OUTAGE-1",
        "patient": "P-OUTAGE-1",
        "department": "ED",
        "occurred_at": iso(timezone.now() - timedelta(minutes=1)),
    }
    try:
        response = api_client.post("/api/v1/events", {"source": "ops", "events": [admit]}, format="json")
    finally:
        assert Encounter.objects.filter(source="ops", source_id="OUTAGE-1").count() == 1
    assert (response.status_code, response.json()["applied"]) == (200, 1)


def test_a_job_request_while_redis_is_down_answers_within_seconds():
    """job_enqueue (what POST /optimize/workload and /predict/workload call after commit) with the product's
    Celery settings and Redis unreachable: it must give up within 3 s and leave the job to the sweep, not hold
    the request (under gunicorn's sync workers a held request holds a whole worker, reads included)."""
    from celery import Celery

    from healthcare.jobs import job_enqueue

    unreachable = f"redis://127.0.0.1:{free_port()}/0"
    probe = Celery("probe")
    probe.config_from_object("django.conf:settings", namespace="CELERY")
    probe.conf.update(broker_url=unreachable, result_backend=unreachable, task_always_eager=False)

    @probe.task(name="probe.job")
    def task(run_id):
        return run_id

    enqueue = threading.Thread(target=job_enqueue, args=(task, "a-job-id"), daemon=True)
    started = time.monotonic()
    enqueue.start()
    enqueue.join(timeout=3)
    assert not enqueue.is_alive(), f"job_enqueue still blocked after {time.monotonic() - started:.1f} s"


# --- An import killed half way ---------------------------------------------------------------------------

ENCOUNTERS = 30_000


def synthea_csv_write(path, *, count: int, prefix: str, seed: int, inpatient_share: float) -> dict[str, int]:
    """A Synthea encounters.csv of finished stays over the last two years, emergency and (this share)
    inpatient, ending before yesterday; returns how many encounters each department gets."""
    rng = np.random.default_rng(seed)
    latest = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=1)
    starts = rng.uniform(0, 730 * 24 * 3600, size=count)
    stays = rng.lognormal(np.log(4 * 3600), 0.6, size=count)
    inpatient = rng.random(count) < inpatient_share
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Id", "START", "STOP", "PATIENT", "ENCOUNTERCLASS"])
        for number in range(count):
            start = latest - timedelta(seconds=float(starts[number]))
            stop = min(start + timedelta(seconds=float(stays[number]) * (8 if inpatient[number] else 1)), latest)
            writer.writerow(
                [
                    f"{prefix}-{number}",
                    start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    stop.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    f"patient-{number % 20_000}",
                    "inpatient" if inpatient[number] else "emergency",
                ]
            )
    return {"ED": int((~inpatient).sum()), "MEDSURG": int(inpatient.sum())}


def stored_state() -> dict:
    """Everything an import writes: departments, encounters and the hourly workload, row by row."""
    return {
        "departments": sorted(Department.objects.values_list("code", flat=True)),
        "encounters": Encounter.objects.count(),
        "workload": list(
            WorkloadHour.objects.order_by("department__code", "hour").values_list(
                "department__code", "hour", "arrivals", "discharges", "census"
            )
        ),
    }


def arrivals_of(code: str) -> int:
    return WorkloadHour.objects.filter(department__code=code).aggregate(total=Sum("arrivals"))["total"] or 0


def open_transactions() -> int:
    """Other sessions on the test database inside a transaction (the killed import's, until rolled back)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND xact_start IS NOT NULL"
        )
        return cursor.fetchone()[0]


def import_killed_at(services, command: list, env: dict, line: str):
    """Start the import, kill -9 it (and anything it forked) as soon as it printed `line`."""
    ingest = services.start("ingest", command, env)
    wait_for(
        lambda: line in ingest.log() or not ingest.alive(),
        timeout=90,
        interval=0.01,
        what=f"the import to print '{line}'",
        seen=ingest.log_tail,
    )
    ingest.kill_group()
    assert ingest.popen.returncode == -signal.SIGKILL, f"the import ended before the kill:\n{ingest.log_tail()}"
    assert "Imported" not in ingest.log()


def test_an_import_killed_half_way_stores_nothing_and_a_rerun_stores_it_all(services, database_url, settings, tmp_path):
    """`manage.py ingest synthea-csv` of 30,000 encounters (ED and inpatient), kill -9'd twice: once it
    printed that the first 25,000 rows were written, and once all of them were, while the hourly workload
    is rebuilt. Proves the import is one transaction: after each kill the departments, encounters and
    every workload hour are exactly as before (an earlier import's rows intact, the MEDSURG department the
    file would create absent) and PostgreSQL has rolled the transaction back (no session left inside one);
    running the same command again stores it all: every encounter, each one an arrival in the hourly
    workload of its department."""
    earlier = tmp_path / "earlier.csv"
    synthea_csv_write(earlier, count=500, prefix="earlier", seed=1, inpatient_share=0.0)
    call_command("ingest", "synthea-csv", str(earlier), stdout=open(os.devnull, "w"))  # noqa: SIM115
    big = tmp_path / "big.csv"
    per_department = synthea_csv_write(big, count=ENCOUNTERS, prefix="big", seed=2, inpatient_share=0.1)
    before = stored_state()
    arrivals_before = arrivals_of("ED")
    assert before["departments"] == ["ED"] and before["encounters"] == 500, "the earlier import is stored"

    env = service_env(database_url=database_url, redis_url=settings.REDIS_URL)
    command = [BIN / "python", "manage.py", "ingest", "synthea-csv", big]
    for line in (f"stored 25,000/{ENCOUNTERS:,} encounters", f"stored {ENCOUNTERS:,}/{ENCOUNTERS:,} encounters"):
        import_killed_at(services, command, env, line)
        wait_for(lambda: open_transactions() == 0, timeout=30, what="PostgreSQL to roll back the killed import")
        assert stored_state() == before, f"the import killed after '{line}' left data behind"

    rerun = services.start("ingest-again", command, env)
    try:
        assert rerun.popen.wait(timeout=120) == 0, rerun.log_tail()
    except subprocess.TimeoutExpired as exc:
        raise WaitTimeout(f"the re-run did not finish in 120 s:\n{rerun.log_tail()}") from exc
    assert f"{ENCOUNTERS:,} encounters created, 0 updated" in rerun.log()
    assert Encounter.objects.count() == before["encounters"] + ENCOUNTERS
    assert arrivals_of("ED") == arrivals_before + per_department["ED"]
    assert arrivals_of("MEDSURG") == per_department["MEDSURG"]
