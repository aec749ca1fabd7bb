"""Load test with locust, headless and bounded: mixed reads, writes, live events and job requests.

    .venv/bin/python bench/load.py [--run-time 5m] [--users 40] [--spawn-rate 10] [--reuse-db]

Serves the product as in production on this machine: gunicorn sync x2 (deploy/gunicorn.conf.py) for
HTTP and a Celery worker (prefork, concurrency 2, as deploy/docker-compose.prod.yml runs it) on Redis
db 5 (REDIS_URL), so forecast and plan requests really run. The database (DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/hospital_bench_load) is prepared as bench/serving.py prepares
its own: about 100,000 encounters over 690 days (seed_demo, a week of forecasts and plans).
Production settings (DEBUG off, generated keys, LOG_LEVEL=WARNING, SECURE_SSL_REDIRECT=false on
plain HTTP at 127.0.0.1) and the rate limits as deployed: every virtual user has an account of
its own (bench-integrator-<n>, bench-staff-<n>), so no limit needs raising.

Virtual users (locust, in this process); the ramp at --spawn-rate and a --warmup (default 30 s: workers
load the forecasters, caches fill) are not counted:
- ward dashboards (staff role, 3 in 4 of the rest): snapshot, workload hours, latest forecast, plan
  history, alerts, departments, readiness, every 1-3 s;
- integrators (1 in 4): live admits and discharges of their own patients, small encounter batches,
  encounter and workload-hour reads, every 0.5-1.5 s;
- planners (4, fixed): a forecast or a 72-hour plan request every 10-30 s, polled until it is done;
  how long a job takes from request to done is reported on its own (JOB rows), not as an endpoint.

Every answer outside 2xx counts as an error (the test causes no 4xx on purpose). Goals: p95 under
200 ms on every endpoint, under 1 % errors. Access tokens are minted with the servers' key, as
POST /api/v1/auth/token/ issues them (sign-in is limited to 10 a minute per address): they live
15 minutes, so --run-time is at most 14 minutes.

One script because the servers, the worker, the virtual users and the report share one run and
one database (the tokens come from this script too, run as a process of its own with --mint-tokens).
"""

import argparse
import json
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
PYTHON = sys.executable
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/hospital_bench_load"
PORT = int(os.environ.get("LOAD_PORT", "8791"))
GOAL_P95_MS = 200
GOAL_ERROR_RATE = 0.01
PLANNERS = 4
# Where patients are admitted: the ED sees most of them.
ADMIT_DEPARTMENTS = (("ED", 0.8), ("ICU", 0.1), ("MEDSURG", 0.1))


def parse_duration(text: str) -> float:
    """'5m', '90s', '1h' or seconds -> seconds."""
    units = {"s": 1, "m": 60, "h": 3600}
    if text[-1] in units:
        return float(text[:-1]) * units[text[-1]]
    return float(text)


def mint_tokens(path: Path, count: int) -> None:
    """Bench users and their access tokens, written to path (run in a process of its own, without locust)."""
    from bench.serving import access_token, bench_users_ensure, django_setup, redis_empty

    env = dict(os.environ)
    django_setup(env)
    redis_empty(env["REDIS_URL"])
    from predictions.models import Forecast, ForecastStatus

    tokens = {
        role: [access_token(user) for user in bench_users_ensure(role=role, count=count)]
        for role in ("integrator", "staff")
    }
    # Departments with a forecast to read (GET /predict/jobs/latest/ is a 404 for the others).
    succeeded = Forecast.objects.filter(status=ForecastStatus.SUCCEEDED)
    tokens["forecasts"] = sorted(set(succeeded.values_list("department__code", flat=True)))
    path.write_text(json.dumps(tokens))


# --- virtual users (locust is imported only in the process that runs them) -----------------------


def user_classes(tokens: dict, run_id: str) -> list:
    from locust import FastHttpUser, between, task

    counters = {"integrator": 0, "staff": 0}
    # The readers' view of the recent past: as of the start of the run.
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    day_ago = (now - timedelta(hours=24)).strftime("%Y-%m-%dT%H:%M:%SZ")
    two_days_ago = (now - timedelta(hours=48)).strftime("%Y-%m-%dT%H:%M:%SZ")

    def department() -> str:
        return random.choices([code for code, _ in ADMIT_DEPARTMENTS], [w for _, w in ADMIT_DEPARTMENTS])[0]

    class ApiUser(FastHttpUser):
        abstract = True
        role = "staff"

        def on_start(self):
            number = counters[self.role]
            counters[self.role] += 1
            self.number = number
            token = tokens[self.role][number % len(tokens[self.role])]
            self.headers = {"Authorization": f"Bearer {token}"}

        def call(self, method: str, path: str, name: str | None = None, body: dict | None = None):
            """One request; anything but 2xx is a failure. Returns the JSON answer, or None."""
            with self.client.request(
                method, path, name=name or path, headers=self.headers, json=body, catch_response=True
            ) as response:
                if not 200 <= response.status_code < 300:
                    response.failure(f"{response.status_code} {(response.text or '')[:120]}")
                    return None
                try:
                    return response.json()
                except ValueError:
                    response.failure("not JSON")
                    return None

    class WardDashboard(ApiUser):
        """A charge nurse's dashboard and pages: reads only."""

        weight = 3
        wait_time = between(1, 3)

        @task(4)
        def snapshot(self):
            code = department()
            self.call("GET", f"/api/v1/departments/{code}/snapshot/", name="/api/v1/departments/[code]/snapshot/")

        @task(3)
        def workload_hours(self):
            code = department()
            self.call(
                "GET",
                f"/api/v1/workload-hours/?department={code}&start={two_days_ago}&page_size=100",
                name="/api/v1/workload-hours/?department&start (48 h)",
            )

        @task(2)
        def forecast_latest(self):
            code = department()
            if code not in tokens["forecasts"]:
                code = "ED"
            self.call("GET", f"/api/v1/predict/jobs/latest/?department={code}", name="/api/v1/predict/jobs/latest/")

        @task(2)
        def plan_history(self):
            code = department()
            self.call(
                "GET", f"/api/v1/optimize/history?department={code}&page_size=20", name="/api/v1/optimize/history"
            )

        @task(1)
        def alerts(self):
            code = department()
            self.call("GET", f"/api/v1/alerts/?department={code}&open=true", name="/api/v1/alerts/?open")

        @task(1)
        def departments(self):
            self.call("GET", "/api/v1/departments/")

        @task(1)
        def status(self):
            self.call("GET", "/api/v1/status")

    class Integrator(ApiUser):
        """A hospital system feeding the product: live events, batches, and reads of what it sent."""

        weight = 1
        wait_time = between(0.5, 1.5)
        role = "integrator"

        def on_start(self):
            super().on_start()
            self.sent = 0
            self.in_unit: list[str] = []  # this integrator's admitted patients, oldest first

        @task(6)
        def event(self):
            self.sent += 1
            at = datetime.now(UTC).isoformat()
            if self.in_unit and (len(self.in_unit) >= 5 or random.random() < 0.5):
                encounter = self.in_unit.pop(0)
                event = {"kind": "discharge", "encounter_id": encounter}
            else:
                encounter = f"{self.number}-{self.sent}"
                event = {"kind": "admit", "encounter_id": encounter, "patient": f"p-{encounter}"}
                event["department"] = department()
            event.update(event_id=f"{event['kind']}-{encounter}", occurred_at=at)
            answer = self.call("POST", "/api/v1/events", body={"source": f"load-{run_id}", "events": [event]})
            if answer is not None and event["kind"] == "admit":
                self.in_unit.append(encounter)

        @task(1)
        def encounters_batch(self):
            self.sent += 1
            now = datetime.now(UTC)
            encounters = []
            for index in range(5):
                start = now - timedelta(minutes=random.randint(60, 360))
                encounters.append(
                    {
                        "id": f"b-{self.number}-{self.sent}-{index}",
                        "patient": f"bp-{self.number}-{self.sent}-{index}",
                        "department": department(),
                        "encounter_class": "EMER",
                        "status": "finished",
                        "start": start.isoformat(),
                        "end": (start + timedelta(minutes=random.randint(20, 50))).isoformat(),
                    }
                )
            self.call("POST", "/api/v1/encounters/batch/", body={"source": f"load-{run_id}", "encounters": encounters})

        @task(1)
        def encounters_recent(self):
            self.call(
                "GET",
                f"/api/v1/encounters/?department={department()}&start_after={day_ago}&page_size=50",
                name="/api/v1/encounters/?department&start_after (24 h)",
            )

        @task(1)
        def encounters_list(self):
            self.call(
                "GET",
                f"/api/v1/encounters/?department={department()}&page_size=50",
                name="/api/v1/encounters/?department",
            )

        @task(2)
        def workload_hours(self):
            self.call(
                "GET",
                f"/api/v1/workload-hours/?department={department()}&start={day_ago}&page_size=50",
                name="/api/v1/workload-hours/?department&start (24 h)",
            )

    class Planner(ApiUser):
        """Someone planning staffing: asks for a forecast or a plan now and then, and waits for it."""

        fixed_count = PLANNERS
        wait_time = between(10, 30)

        def wait_for(self, kind: str, url: str, started: float) -> None:
            """Poll until the job is done; its time from request to done is a JOB row."""
            outcome = None
            while time.monotonic() - started < 120:
                time.sleep(0.5)
                answer = self.call("GET", url, name=f"/api/v1/{kind} status [id]")
                if answer is None or answer.get("status") in ("succeeded", "failed"):
                    outcome = answer
                    break
            elapsed_ms = (time.monotonic() - started) * 1000
            failed = None if outcome and outcome["status"] == "succeeded" else RuntimeError(f"{kind}: {outcome}")
            self.environment.events.request.fire(
                request_type="JOB",
                name=f"{kind} requested -> succeeded",
                response_time=elapsed_ms,
                response_length=0,
                exception=failed,
                context={},
            )

        @task
        def forecast(self):
            started = time.monotonic()
            body = {"department": department(), "horizon_hours": 72}
            job = self.call("POST", "/api/v1/predict/workload", body=body)
            if job is not None:
                self.wait_for("predict/jobs", f"/api/v1/predict/jobs/{job['id']}/", started)

        @task
        def plan(self):
            started = time.monotonic()
            body = {"department": department(), "horizon_hours": 72}
            run = self.call("POST", "/api/v1/optimize/workload", body=body)
            if run is not None:
                self.wait_for("optimize", f"/api/v1/optimize/status/{run['optimization_id']}", started)

    return [WardDashboard, Integrator, Planner]


def run_locust(
    classes: list, *, host: str, users: int, spawn_rate: float, warmup: float, run_time: float, log_dir: Path
):
    """Ramp up and warm up (workers load models, caches fill), forget those figures, then run for run_time.

    Returns the environment (its stats), the seconds measured and the product's own request times per view
    (its request log) over them.
    """
    import gevent
    from locust.env import Environment

    from bench.serving import server_log_offset, server_times

    environment = Environment(user_classes=classes, host=host)
    runner = environment.create_local_runner()
    runner.start(users, spawn_rate=spawn_rate)
    deadline = time.monotonic() + users / spawn_rate + 30
    while runner.user_count < users and time.monotonic() < deadline:
        gevent.sleep(0.5)
    gevent.sleep(warmup)
    environment.stats.reset_all()
    offset = server_log_offset(log_dir)
    started = time.monotonic()
    gevent.sleep(run_time)
    runner.quit()
    elapsed = time.monotonic() - started
    return environment, elapsed, server_times(log_dir, offset)


def report(environment, elapsed: float, args, worker_note: str) -> None:
    stats = environment.stats
    endpoints = sorted(
        (entry for entry in stats.entries.values() if entry.method != "JOB"), key=lambda e: (e.method, e.name)
    )
    jobs = [entry for entry in stats.entries.values() if entry.method == "JOB"]
    total_requests = sum(entry.num_requests for entry in endpoints)
    total_failures = sum(entry.num_failures for entry in endpoints)
    print()
    print(
        f"locust {args.users} users (spawn {args.spawn_rate:g}/s; the ramp and a {args.warmup} warm-up not counted), "
        f"{elapsed:.0f} s measured, "
        f"against gunicorn sync x2 + {worker_note} on PostgreSQL 15 and Redis db 5, DEBUG off, rate limits as deployed"
    )
    print()
    print("| endpoint | requests | req/s | p50 ms | p95 ms | p99 ms | max ms | errors | p95 < 200 ms | errors < 1 % |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for entry in endpoints:
        rate = entry.num_failures / entry.num_requests if entry.num_requests else 0
        p50, p95, p99 = (entry.get_response_time_percentile(q) for q in (0.5, 0.95, 0.99))
        print(
            f"| {entry.method} {entry.name} | {entry.num_requests} | {entry.num_requests / elapsed:.2f} "
            f"| {p50:.0f} | {p95:.0f} | {p99:.0f} "
            f"| {entry.max_response_time:.0f} | {entry.num_failures} ({100 * rate:.2f} %) "
            f"| {'yes' if p95 < GOAL_P95_MS else 'no'} | {'yes' if rate < GOAL_ERROR_RATE else 'no'} |"
        )
    from locust.stats import StatsEntry

    total = StatsEntry(stats, "all endpoints", "")
    for entry in endpoints:
        total.extend(entry)
    rate = total_failures / total_requests if total_requests else 0
    print(
        f"| **all endpoints** | {total_requests} | {total_requests / elapsed:.1f} "
        f"| {total.get_response_time_percentile(0.5):.0f} | {total.get_response_time_percentile(0.95):.0f} "
        f"| {total.get_response_time_percentile(0.99):.0f} | {total.max_response_time:.0f} "
        f"| {total_failures} ({100 * rate:.2f} %) | | {'yes' if rate < GOAL_ERROR_RATE else 'no'} |"
    )
    if jobs:
        print()
        print("Jobs on the Celery worker, from the request to the poll that saw them done (not an endpoint):")
        print()
        print("| job | done | p50 ms | p95 ms | max ms | failed |")
        print("| --- | --- | --- | --- | --- | --- |")
        for entry in jobs:
            print(
                f"| {entry.name} | {entry.num_requests} | {entry.get_response_time_percentile(0.5):.0f} "
                f"| {entry.get_response_time_percentile(0.95):.0f} | {entry.max_response_time:.0f} "
                f"| {entry.num_failures} |"
            )
    errors = sorted(stats.errors.values(), key=lambda error: -error.occurrences)
    if errors:
        print()
        print("Errors:")
        for error in errors[:10]:
            print(f"- {error.occurrences} x {error.method} {error.name}: {error.error}")
    slow = [e.name for e in endpoints if e.get_response_time_percentile(0.95) >= GOAL_P95_MS]
    print()
    verdict = "met" if not slow else "missed by " + ", ".join(slow)
    print(
        f"Goals: p95 under {GOAL_P95_MS} ms on every endpoint: {verdict}; "
        f"errors under 1 %: {'met' if rate < GOAL_ERROR_RATE else 'missed'} ({100 * rate:.2f} %)."
    )


def report_inside(inside: dict[str, list[float]], elapsed: float, workers: int = 2) -> None:
    """The same requests as the product timed them (its request log): time inside Django, without the
    wait for a free worker. Their sum over the workers' time is how busy the two sync workers were."""
    if not inside:
        return
    print()
    print("Inside the product (its request log: from the first middleware to the answer, no queueing):")
    print()
    print("| view | requests | mean ms | p95 ms | max ms |")
    print("| --- | --- | --- | --- | --- |")
    for view, times in sorted(inside.items()):
        ordered = sorted(times)
        p95 = ordered[int(0.95 * (len(ordered) - 1))]
        print(f"| {view} | {len(ordered)} | {sum(ordered) / len(ordered):.1f} | {p95:.1f} | {ordered[-1]:.1f} |")
    busy = sum(sum(times) for times in inside.values()) / 1000
    print()
    print(
        f"The {workers} gunicorn workers were busy {100 * busy / (workers * elapsed):.0f} % of the time measured "
        f"({busy:.0f} s of requests in {elapsed:.0f} s)."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-time", default="5m", help="How long to measure after the ramp: 5m, 180s (default 5m)")
    parser.add_argument("--users", type=int, default=40, help="Virtual users (default 40)")
    parser.add_argument("--spawn-rate", type=float, default=10, help="Users started per second (default 10)")
    parser.add_argument("--warmup", default="30s", help="Load before measuring, not counted (default 30s)")
    parser.add_argument("--reuse-db", action="store_true", help="Keep the database if it is already seeded")
    parser.add_argument("--log-dir", type=Path, default=Path("/tmp/hospital-bench-load"), help="Server logs")
    parser.add_argument("--mint-tokens", type=Path, help=argparse.SUPPRESS)  # internal: the token process
    args = parser.parse_args()
    if args.mint_tokens:
        mint_tokens(args.mint_tokens, args.users)
        return
    run_time = parse_duration(args.run_time)
    if not 0 < run_time + parse_duration(args.warmup) <= 14 * 60:
        raise SystemExit("--run-time and --warmup together must be at most 14m: access tokens live 15 minutes")

    # Only the standard library is imported so far: Django works in processes of its own, and locust
    # (which monkey-patches this one with gevent) comes once they are done.
    from bench.serving import DEFAULT_REDIS_URL, product_environment, serving

    database_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    redis_url = os.environ.get("REDIS_URL", DEFAULT_REDIS_URL)
    env = product_environment(database_url, redis_url)
    args.log_dir.mkdir(parents=True, exist_ok=True)
    prepare = [PYTHON, "bench/serving.py", "--prepare-only", *(["--reuse-db"] if args.reuse_db else [])]
    subprocess.run(prepare, cwd=REPO, env=env, check=True)
    with tempfile.TemporaryDirectory() as scratch:
        tokens_file = Path(scratch) / "tokens.json"
        mint = [PYTHON, "bench/load.py", "--mint-tokens", str(tokens_file), "--users", str(args.users)]
        subprocess.run(mint, cwd=REPO, env=env, check=True)
        tokens = json.loads(tokens_file.read_text())
    missing = sorted({code for code, _ in ADMIT_DEPARTMENTS} - set(tokens["forecasts"]))
    if missing:
        print(f"no forecast yet for {', '.join(missing)}: their latest forecast is read from the ED instead")

    classes = user_classes(tokens, run_id=secrets.token_hex(3))
    worker_log = (args.log_dir / "celery.log").open("a")
    worker = None
    try:
        worker_command = [PYTHON, "-m", "celery", "-A", "healthcare", "worker", "-l", "warning", "--concurrency", "2"]
        worker = subprocess.Popen(
            worker_command, cwd=REPO, env=env, stdout=worker_log, stderr=subprocess.STDOUT, start_new_session=True
        )
        with serving("gunicorn", env, PORT, args.log_dir):
            print(f"{args.users} users for {args.run_time} (after the ramp) on http://127.0.0.1:{PORT} ...", flush=True)
            environment, elapsed, inside = run_locust(
                classes,
                host=f"http://127.0.0.1:{PORT}",
                users=args.users,
                spawn_rate=args.spawn_rate,
                warmup=parse_duration(args.warmup),
                run_time=run_time,
                log_dir=args.log_dir,
            )
    finally:
        if worker is not None:
            from bench.serving import _stop

            _stop(worker)
        worker_log.close()
        empty = f"from bench.serving import redis_empty; redis_empty({redis_url!r})"
        subprocess.run([PYTHON, "-c", empty], cwd=REPO, check=False)
    report(environment, elapsed, args, worker_note="1 Celery worker (prefork, concurrency 2)")
    report_inside(inside, elapsed)
    print(f"load average over the last 5 minutes: {os.getloadavg()[1]:.1f} (2 cores, shared with other work)")


if __name__ == "__main__":
    main()
