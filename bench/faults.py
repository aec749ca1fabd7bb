"""Faults too slow or too heavy for the test suite, measured against real processes; prints figures.

    .venv/bin/python bench/faults.py [--seconds 60] [--restart-at 20] [--threads 4] [--worker-kill [--job-time-limit S]]

1. PostgreSQL restarted under load. A private PostgreSQL 15 cluster (initdb in a temporary folder, port
   5499; run as the postgres user when started as root) and a private redis-server. The product is migrated,
   given an ED with 130 days of arrivals to the current hour, an active forecaster and a staff user, and
   served by gunicorn (deploy/gunicorn.conf.py, 2 sync workers) with the product's pool settings
   (DB_POOL_MAX_SIZE, DB_POOL_TIMEOUT; CONN_HEALTH_CHECKS on), with one Celery worker. Threads read the API
   with a token for --seconds while a plan is requested every 3 s; `pg_ctl restart -m fast` runs at
   --restart-at. Reports the errors, when the last one came after the restart, latencies, readiness
   (/api/v1/status polled every 0.25 s) and how every plan requested ended.
2. With --worker-kill (6-11 minutes more at the default job time limit): a whole worker (main process and
   pool) kill -9'd in the middle of a plan, with a second worker and beat running, CELERY_JOB_TIME_LIMIT
   as given (default 300 s, the product's; sweep threshold 60 s more) and the task time limit as deployed
   (visibility timeout 1 h). Reports how long until the other worker took the plan again, by which path
   (Redis' visibility timeout or the sweep), and how many times it was computed.

The private cluster and every process are removed at the end, whatever happens.

One script because each fault needs the same private servers, product and figures around it;
split, each would repeat that set-up.
"""

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.ops.processes import (  # noqa: E402 - the repository must be on the path first
    BIN,
    ReadLoad,
    RedisServer,
    Services,
    free_port,
    http,
    service_env,
    wait_for,
    worker_ready,
    worker_start,
)

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
PG_PORT = 5499
DATABASE = "hospital_faults_bench"
PASSWORD = "bench-faults-password-1"
READS = [
    "/api/v1/departments/",
    "/api/v1/workload-hours/?department=ED&page_size=48",
    "/api/v1/optimize/history?department=ED",
    "/api/v1/departments/ED/",
]
SEED_USER = f"""
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from healthcare.encounters.models import Department
user = get_user_model().objects.create_user("bench_staff", password="{PASSWORD}")
user.groups.add(Group.objects.get(name="staff"))
Department.objects.get(code="ED").members.add(user)
"""


class PrivatePostgres:
    """A throwaway PostgreSQL cluster in a temporary folder (as the postgres user when we are root)."""

    def __init__(self, port: int):
        self.port = port
        self.directory = Path(tempfile.mkdtemp(prefix="faults-pg-"))
        self.data = self.directory / "data"
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            shutil.chown(self.directory, "postgres", "postgres")

    def _run(self, *argv, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*self.as_user, *map(str, argv)], check=True, capture_output=True, text=True, timeout=timeout
        )

    def start(self) -> None:
        self._run(PG_BIN / "initdb", "-D", self.data, "-U", "postgres", "-A", "trust", "--no-sync")
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1"
        self._run(PG_BIN / "pg_ctl", "-D", self.data, "-l", self.directory / "server.log", "-o", options, "-w", "start")
        self._run(PG_BIN / "createdb", "-h", "127.0.0.1", "-p", self.port, "-U", "postgres", DATABASE)

    def restart(self) -> float:
        """`pg_ctl restart -m fast`, waiting until it accepts connections; its duration in seconds."""
        started = time.monotonic()
        # -l again: without it the new server would write to our pipe and keep it open.
        self._run(
            PG_BIN / "pg_ctl", "-D", self.data, "-l", self.directory / "server.log", "-m", "fast", "-w", "restart"
        )
        return time.monotonic() - started

    def remove(self) -> None:
        try:
            self._run(PG_BIN / "pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop", timeout=60)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            pid_file = self.data / "postmaster.pid"  # stop it by its pid, never by name
            if pid_file.exists():
                os.kill(int(pid_file.read_text().split()[0]), signal.SIGKILL)
        shutil.rmtree(self.directory, ignore_errors=True)

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{DATABASE}"


def manage(env: dict, *arguments: str, timeout: float = 600) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *arguments], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout
    )
    if done.returncode:
        raise SystemExit(f"manage.py {' '.join(arguments)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def shell(env: dict, code: str) -> str:
    """The last line `manage.py shell -c code` printed (Django's shell first says what it imported)."""
    return manage(env, "shell", "-c", code).strip().splitlines()[-1]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


class ReadinessWatch:
    """Polls GET /api/v1/status every 0.25 s and records (time, status)."""

    def __init__(self, base: str):
        self.base, self.answers, self._stop = base, [], threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                status = http("GET", f"{self.base}/api/v1/status", timeout=15)[0]
            except OSError as exc:
                status = type(exc).__name__
            self.answers.append((time.monotonic(), status))
            self._stop.wait(0.25)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=20)


def postgres_restart_under_load(services: Services, args) -> list[tuple[str, str]]:
    postgres = PrivatePostgres(PG_PORT)
    try:
        postgres.start()
        redis = RedisServer(services)
        redis.start()
        env = service_env(database_url=postgres.url, redis_url=redis.url)
        print(f"private PostgreSQL on {PG_PORT} ({postgres.directory}), redis on {redis.port}; migrating and seeding")
        manage(env, "migrate", "--no-input", "-v", "0")
        manage(env, "add_department", "ED", "--name", "Emergency", "--unit-type", "ed", "--timezone", "America/Chicago")
        manage(env, "shell", "-c", SEED_FORECASTER)
        manage(env, "shell", "-c", SEED_USER)
        worker = worker_start(services, "worker", env)

        port = free_port()
        web_env = {**env, "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": "2"}
        web = services.start(
            "gunicorn",
            [BIN / "gunicorn", "-c", REPO / "deploy" / "gunicorn.conf.py", "healthcare.wsgi:application"],
            web_env,
        )
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: _answers(base), timeout=90, what="gunicorn to answer", seen=web.log_tail, interval=0.2)
        status, tokens = http(
            "POST", f"{base}/api/v1/auth/token/", body={"username": "bench_staff", "password": PASSWORD}
        )
        assert status == 200, tokens
        worker_ready(worker, timeout=120)
        print(
            f"gunicorn x2 on {port}; {args.threads} threads read for {args.seconds} s, restart at {args.restart_at} s"
        )

        token = tokens["access"]
        with (
            ReadinessWatch(base) as readiness,
            PlanRequests(base, token) as plans,
            ReadLoad(base, token, READS, threads=args.threads) as load,
        ):
            began = time.monotonic()
            time.sleep(args.restart_at)
            restart_at = time.monotonic()
            restart_seconds = postgres.restart()
            time.sleep(max(0.0, began + args.seconds - time.monotonic()))
        rows = _restart_figures(load, readiness, began, restart_at, restart_seconds, args)
        return rows + _plan_figures(plans, postgres.url, restart_at)
    finally:
        postgres.remove()


def _answers(base: str) -> bool:
    try:
        return http("GET", f"{base}/api/v1/health", timeout=2)[0] == 200
    except OSError:
        return False


def _restart_figures(load, readiness, began, restart_at, restart_seconds, args) -> list[tuple[str, str]]:
    outcomes = list(load.outcomes)
    errors = [o for o in outcomes if o.status != 200]
    before = [o.seconds for o in outcomes if o.at < restart_at]
    after = [o.seconds for o in outcomes if o.at >= restart_at + 10]
    kinds: dict[str, int] = {}
    for error in errors:
        kinds[str(error.status)] = kinds.get(str(error.status), 0) + 1
    last_error = max((o.at for o in errors), default=None)
    not_ready = [at for at, status in readiness.answers if status != 200]
    rows = [
        ("requests (reads)", f"{len(outcomes):,} in {args.seconds} s, {args.threads} threads"),
        ("`pg_ctl restart -m fast` took", f"{restart_seconds:.2f} s"),
        ("errors", f"{len(errors)} ({', '.join(f'{k}: {v}' for k, v in sorted(kinds.items())) or 'none'})"),
        (
            "last error, seconds after the restart began",
            f"{last_error - restart_at:.2f} s" if last_error is not None else "no error",
        ),
        ("slowest request around the restart", f"{max((o.seconds for o in outcomes), default=0) * 1000:.0f} ms"),
        (
            "p50 / p95 before the restart",
            f"{statistics.median(before) * 1000:.0f} / {percentile(before, 0.95) * 1000:.0f} ms",
        ),
        (
            "p50 / p95 from 10 s after it",
            f"{statistics.median(after) * 1000:.0f} / {percentile(after, 0.95) * 1000:.0f} ms" if after else "n/a",
        ),
        (
            "readiness not 200",
            f"{len(not_ready)} of {len(readiness.answers)} probes, "
            + (
                f"from {min(not_ready) - restart_at:+.2f} s to {max(not_ready) - restart_at:+.2f} s"
                if not_ready
                else "never"
            ),
        ),
    ]
    return rows


class PlanRequests:
    """Requests a 24 h plan through the API every 3 s (the job rate limit is 30 a minute per user)."""

    def __init__(self, base: str, token: str, every: float = 3.0):
        self.base, self.token, self.every = base, token, every
        self.requested: list[tuple[float, int | str, str | None]] = []  # (time, status, run id)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                status, body = http(
                    "POST",
                    f"{self.base}/api/v1/optimize/workload",
                    token=self.token,
                    body={"department": "ED", "horizon_hours": 24},
                    timeout=30,
                )
                run_id = body.get("optimization_id") if isinstance(body, dict) else None
            except OSError as exc:
                status, run_id = type(exc).__name__, None
            self.requested.append((time.monotonic(), status, run_id))
            self._stop.wait(self.every)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=40)


def _plan_figures(plans: PlanRequests, database_url: str, restart_at: float) -> list[tuple[str, str]]:
    """Wait (up to 2 min) for every accepted plan to end, then count how they ended."""
    import psycopg

    run_ids = [run_id for _, status, run_id in plans.requested if status == 202 and run_id]
    refused = [status for _, status, _ in plans.requested if status != 202]

    def states() -> list[tuple]:
        with psycopg.connect(database_url) as connection:
            return connection.execute(
                "SELECT status, attempts, failure_reason, extract(epoch from finished_at - created_at) "
                "FROM optimization_optimizationrun WHERE id = ANY(%s::uuid[])",
                [run_ids],
            ).fetchall()

    try:
        wait_for(
            lambda: all(state[0] in ("succeeded", "failed") for state in states()),
            timeout=120,
            interval=1,
            what="the plans to end",
        )
    except AssertionError as exc:
        print(f"  {exc}")
    ended = states()
    counts: dict[str, int] = {}
    for status, *_ in ended:
        counts[status] = counts.get(status, 0) + 1
    reasons = sorted({reason for status, _, reason, _ in ended if status == "failed"})
    slowest = max((seconds for status, _, _, seconds in ended if seconds is not None), default=0)
    return [
        (
            "plans requested (one every 3 s)",
            f"{len(plans.requested)}: {len(run_ids)} accepted (202), refused {refused}",
        ),
        ("plans ended", ", ".join(f"{status} {count}" for status, count in sorted(counts.items()))),
        ("most attempts / slowest request to end", f"{max((a for _, a, _, _ in ended), default=0)} / {slowest:.1f} s"),
        ("failure reasons", "; ".join(reasons) or "none"),
    ]


def whole_worker_kill(services: Services, args) -> list[tuple[str, str]]:
    """Needs PostgreSQL at DATABASE_URL (a database named hospital_faults*, recreated) and a private Redis."""
    from urllib.parse import urlparse

    import psycopg

    url = os.environ.get("DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{DATABASE}")
    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    if not name.startswith("hospital_faults"):
        raise SystemExit(f"refusing to recreate '{name}': this bench only uses databases named hospital_faults*")
    with psycopg.connect(parsed._replace(path="/postgres").geturl(), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')
    redis = RedisServer(services)
    redis.start()
    marks = services.directory / "plan-marks"
    time_limit = args.job_time_limit
    env = service_env(
        database_url=url,
        redis_url=redis.url,
        CELERY_JOB_TIME_LIMIT=str(time_limit),
        SLOW_PLAN_SECONDS="3",
        SLOW_PLAN_MARKS=str(marks),
    )
    print(f"worker kill: {name}, redis on {redis.port}, CELERY_JOB_TIME_LIMIT={time_limit}; migrating and seeding")
    manage(env, "migrate", "--no-input", "-v", "0")
    manage(env, "add_department", "ED", "--name", "Emergency", "--unit-type", "ed", "--timezone", "America/Chicago")
    manage(env, "shell", "-c", SEED_FORECASTER)
    workers = [worker_start(services, name, env, slow_plan=True) for name in ("worker-1", "worker-2")]
    schedule = services.directory / "beat-schedule"
    beat = services.start("beat", [BIN / "celery", "-A", "healthcare", "beat", "-l", "info", "-s", schedule], env)
    for worker in workers:
        worker_ready(worker, timeout=120)
    run_id = shell(env, REQUEST_PLAN)

    def starts():
        return [line.split() for line in marks.read_text().splitlines()] if marks.exists() else []

    first = wait_for(lambda: starts(), timeout=60, what="the plan to start")[0]
    victim = next(worker for worker in workers if first[2].startswith(f"{worker.name}@"))
    survivor = next(worker for worker in workers if worker is not victim)
    victim.kill_group()
    killed, killed_wall = time.monotonic(), time.time()
    print(f"killed {victim.name} (main {victim.pid} and pool {first[3]}) mid-plan; waiting for the plan")
    status = wait_for(
        lambda: (state := shell(env, RUN_STATE.format(run_id=run_id)).split())[0] == "succeeded" and state,
        timeout=time_limit + 60 + 300 + 120,  # past the sweep threshold, then the next sweep (every 5 min)
        interval=2,
        what="the plan to succeed",
    )
    succeeded = time.monotonic() - killed
    time.sleep(5)  # a late duplicate would show here
    retaken = [float(mark[4]) - killed_wall for mark in starts()[1:] if mark[0] == "start"]
    log = survivor.log()
    received = len(re.findall(r"optimization_run_task\[[0-9a-f-]+\] received", log))
    sweeps = re.findall(r"optimization_runs_sweep_task\[[0-9a-f-]+\] succeeded in [0-9.]+s: (\d+)", log)
    return [
        (
            "CELERY_JOB_TIME_LIMIT / sweep threshold / visibility timeout",
            f"{time_limit} s / {time_limit + 60} s (sweep every 300 s) / 3600 s",
        ),
        ("plan started again by the other worker", ", ".join(f"{s:.0f} s" for s in retaken) + " after the kill"),
        ("plan succeeded", f"{succeeded:.0f} s after the kill, attempts {status[1]}"),
        ("times computed to the end", str(sum(1 for mark in starts() if mark[0] == "done"))),
        ("plan messages the other worker received", str(received)),
        ("sweeps run (plans each queued again)", ", ".join(sweeps) or "none"),
        ("beat alive at the end", "yes" if beat.alive() else "no"),
    ]


SEED_FORECASTER = """
from datetime import timedelta
from django.utils import timezone
from healthcare.encounters.models import Department
from healthcare.encounters import services
from predictions.services import forecast_model_train
from tests.factories import records_until
ed = Department.objects.get(code="ED")
now = timezone.now().replace(minute=0, second=0, microsecond=0)
services.arrivals_ingest(department=ed, records=records_until(now + timedelta(hours=1), days=130), source="synthetic")
forecast_model_train(department=ed, activate=True, algorithms=["poisson_glm"])
"""
REQUEST_PLAN = """
from healthcare.encounters.models import Department
from optimization.services import optimization_request
print(optimization_request(department=Department.objects.get(code="ED"), params={"horizon_hours": 24}).id)
"""
RUN_STATE = """
from optimization.models import OptimizationRun
run = OptimizationRun.objects.get(id="{run_id}")
print(run.status, run.attempts)
"""


def table(title: str, rows: list[tuple[str, str]]) -> None:
    print(f"\n{title}\n\n| measurement | figure |\n| --- | --- |")
    for name, figure in rows:
        print(f"| {name} | {figure} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--restart-at", type=float, default=20)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--worker-kill", action="store_true", help="also kill a whole worker mid-plan (6-11 min)")
    parser.add_argument("--job-time-limit", type=int, default=300, help="CELERY_JOB_TIME_LIMIT for --worker-kill")
    args = parser.parse_args()

    directory = Path(tempfile.mkdtemp(prefix="faults-bench-"))
    services = Services(directory=directory)
    try:
        restart = postgres_restart_under_load(services, args)
        services.close()
        kill = whole_worker_kill(services, args) if args.worker_kill else None
    finally:
        services.close()
    table("PostgreSQL restarted under read load (gunicorn x2, pool per process)", restart)
    if kill:
        table("A whole worker killed mid-plan (second worker and beat running)", kill)
    print(f"\nlogs: {directory}")


if __name__ == "__main__":
    main()
