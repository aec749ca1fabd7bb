"""Serving speed of the product's API with wrk: gunicorn sync x2 against a bare DRF app measured in the same run.

    .venv/bin/python bench/serving.py [--duration 20] [--quick] [--reuse-db] [--workers 2]
        [--audit-only] [--pieces statements,representation,count-cache,layer-loop]
        [--audit-rounds 3] [--audit-duration 10]

Prepares its own PostgreSQL database (DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/hospital_bench_serving, dropped and created again unless
--reuse-db finds it seeded): migrations, a demo hospital of about 100,000 encounters over 690 days
(seed_demo, with a week of forecasts and plans; then VACUUM ANALYZE) and a bench user with the
integrator role. What the write scenarios store is deleted before and after a run, and the hours
they changed are rebuilt, so that every run reads the data as seeded. Redis db 5 (REDIS_URL) is
the cache, channel layer and rate-limit store; it is emptied before and after.

Servers run with production settings: DEBUG off, generated SECRET_KEY and PSEUDONYM_KEY,
ALLOWED_HOSTS=127.0.0.1, SECURE_SSL_REDIRECT=false (plain HTTP on 127.0.0.1: no proxy in front),
LOG_LEVEL and TASK_LOG_LEVEL=WARNING, the connection pool of settings.py. RATELIMIT_WRITES is raised to 1000000/m
so that one user's writes are not answered 429; everything else is as deployed.

Scenarios (wrk, 32 connections, 2 threads, each after a short warm-up):
- baseline: bench/serving_bare (DRF views over the same encounters table, no auth) on gunicorn
  sync x2 with the same configuration, measured just before every product scenario under the same
  load (the ratio is the figure to compare on a shared machine): for reads the latest 50 rows, for
  writes the creation of one encounter (validation, one INSERT and its commit); once, a page of 50
  with its count;
- product reads on gunicorn sync x2 (deploy/gunicorn.conf.py; --workers sets both apps' count):
  GET /api/v1/encounters/?department=ED&page_size=50 (the latest of 90,000), the same since 24
  hours ago (start_after), and GET /api/v1/workload-hours/?department=ED&start=<a week ago>
  &page_size=50; the last on daphne x1 too;
- product writes: POST /api/v1/events, one admit or discharge per request (bench/wrk/events.lua), in
  the three departments in turn and in the ED alone;
- unloaded: 1 connection, one request every 20 ms, 10 s;
- the workload hours again with DB_POOL_MAX_SIZE=0 (a new PostgreSQL connection per request);
- the audit of the private pieces (settings.PRIVATE_PIECES; --audit-only runs it alone): for each,
  the product as shipped and the product started with PUBLIC_API_FOR=<piece>, which runs the
  framework's public API in its place, side by side, measured in turn on the piece's scenario for
  --audit-rounds rounds (the order alternating); a piece stays at a median gain of KEEP_GAIN or
  more (docs/performance.md).

Access tokens are made in this process with the servers' signing key, exactly as
POST /api/v1/auth/token/ makes them (sign-in is limited to 10 a minute per address and is not
what is measured). The machine has 2 cores shared with wrk, PostgreSQL, Redis and whatever else
runs: compare the ratios to the bare baseline, which move less than the absolute figures.

One script because every figure is a ratio to a baseline measured in the same run, on the same
database, servers and wrk settings.
"""

import argparse
import itertools
import json
import logging
import os
import secrets
import signal
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
WRK_DIR = REPO / "bench" / "wrk"
WRK = os.environ.get("WRK", "/usr/bin/wrk")
PYTHON = sys.executable
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/hospital_bench_serving"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/5"
# The product's server, and the bare baseline's beside it (idle while the product is measured).
PORT = int(os.environ.get("SERVING_PORT", "8781"))
BARE_PORT = PORT + 1
# Sources of the events (bench-<time>...) and of the bare write baseline's encounters (bare-write-<n>):
# what they stored is deleted before and after a run (bench_writes_undo).
BENCH_SOURCE = "bench"
BARE_WRITE_SOURCE = "bare-write"
WRITE_SCRIPTS = ("events.lua", "bare_write.lua")
BARE_LABELS = {
    "/rows": "bare DRF: 50 latest rows",
    "/page": "bare DRF: page of 50 with count",
    "/write": "bare DRF: create one encounter",
}
# About 145 encounters a day in the three demo departments: 690 days is about 100,000.
SEED_DAYS = 690
SEEDED_AT_LEAST = 90_000
DEPARTMENTS = ("ED", "ICU", "MEDSURG")
RAISED_WRITE_LIMIT = "1000000/m"
UNLOADED_PAUSE_MS = 20

# The goals on this machine.
READ_GOAL = (360, 100.0)  # at least req/s, p95 at most ms
WRITE_GOAL = (510, 75.0)
UNLOADED_P95_MS = 10.0

_KEYS = {"SECRET_KEY": secrets.token_urlsafe(64), "PSEUDONYM_KEY": secrets.token_urlsafe(48)}


def product_environment(database_url: str, redis_url: str, **overrides: str) -> dict:
    """Production settings for the product's servers (and for this process, which mints tokens)."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("OTEL_")}
    env.update(
        DJANGO_SETTINGS_MODULE="healthcare.settings",
        DEBUG="false",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="false",
        LOG_LEVEL="WARNING",
        TASK_LOG_LEVEL="WARNING",  # the seed's task lines (the worker's are WARNING by its own flag)
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        JWT_ACCESS_MINUTES="15",
        DEMO_PASSWORD=secrets.token_urlsafe(16),
        **_KEYS,
    )
    env.update(overrides)
    return env


# --- the database -------------------------------------------------------------------------


def seeded_encounters(database_url: str) -> int:
    """Encounters stored in the database of database_url; 0 if it or its tables are missing."""
    import psycopg

    try:
        with psycopg.connect(database_url, connect_timeout=5) as connection:
            return connection.execute("SELECT count(*) FROM encounters_encounter").fetchone()[0]
    except psycopg.Error:
        return 0


def database_prepare(env: dict, *, days: int, plan_days: int, reuse: bool) -> None:
    """A fresh database with the demo hospital (seed_demo), or the existing one with --reuse-db."""
    from bench.ingest import fresh_database

    url = env["DATABASE_URL"]
    minimum = SEEDED_AT_LEAST if days >= SEED_DAYS else 1
    if reuse and seeded_encounters(url) >= minimum:
        print(f"reusing {urlparse(url).path.lstrip('/')} ({seeded_encounters(url):,} encounters)", flush=True)
        subprocess.run([PYTHON, "manage.py", "migrate", "-v0"], cwd=REPO, env=env, check=True)
        database_analyze(url)
        return
    fresh_database(url)
    subprocess.run([PYTHON, "manage.py", "migrate", "-v0"], cwd=REPO, env=env, check=True)
    print(f"seeding a {days}-day demo hospital with {plan_days} days of plans (seed_demo) ...", flush=True)
    started = time.perf_counter()
    # Without REDIS_URL the seed's forecasts and plans run in the seeding process (eager Celery),
    # instead of waiting in a queue for a worker that is not there.
    seed_env = {name: value for name, value in env.items() if name != "REDIS_URL"}
    subprocess.run(
        [PYTHON, "manage.py", "seed_demo", "--days", str(days), "--plan-days", str(plan_days)],
        cwd=REPO,
        env=seed_env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    print(f"  {seeded_encounters(url):,} encounters in {time.perf_counter() - started:.0f} s", flush=True)
    database_analyze(url)


def database_analyze(database_url: str) -> None:
    """VACUUM ANALYZE: planner statistics and the visibility map, as autovacuum leaves a live database."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")


def redis_empty(redis_url: str) -> None:
    """Empty the bench's own Redis database (rate-limit counters, queues); never any other."""
    import redis

    if (urlparse(redis_url).path.strip("/") or "0") == "0":
        raise SystemExit(f"refusing to empty Redis database 0 ({redis_url}): give the bench its own database")
    redis.Redis.from_url(redis_url).flushdb()


def bench_writes_undo() -> int:
    """Delete what the write scenarios stored (this run's or an earlier one's: sources bench-... and
    bare-write-...) and rebuild the hours of the departments they wrote to; the number of encounters
    deleted. Every run then reads the data as seeded: the bench's admits all start in the last day,
    which a read scenario lists and counts."""
    from django.db import connection, transaction

    from healthcare.encounters.services import department_workload_rebuild

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM encounters_patientevent WHERE source LIKE %s", [f"{BENCH_SOURCE}-%"])
        cursor.execute(
            "DELETE FROM encounters_encounter WHERE source LIKE %s OR source LIKE %s RETURNING department_id",
            [f"{BENCH_SOURCE}-%", f"{BARE_WRITE_SOURCE}-%"],
        )
        departments = [department_id for (department_id,) in cursor.fetchall()]
    for department_id in sorted(set(departments)):
        department_workload_rebuild(department_id=department_id)
    return len(departments)


def django_setup(env: dict) -> None:
    """Django in this process, on the servers' settings: users, tokens and query counts."""
    os.environ.update(env)
    import django

    django.setup()
    # The in-process probes below would print the product's request log lines.
    logging.getLogger("healthcare.request").setLevel(logging.WARNING)


def bench_users_ensure(*, role: str, count: int = 1) -> list:
    """Users bench-<role>-<n> in the role's group, members of every demo department."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db import close_old_connections

    from healthcare.encounters.models import Department

    User = get_user_model()
    group = Group.objects.get(name=role)
    departments = list(Department.objects.filter(code__in=DEPARTMENTS))
    users = []
    for number in range(count):
        user, created = User.objects.get_or_create(username=f"bench-{role}-{number}")
        if created:
            user.set_unusable_password()  # tokens only: nobody signs in as a bench user
            user.save()
        user.groups.set([group])
        for department in departments:
            department.members.add(user)
        users.append(user)
    close_old_connections()
    return users


def access_token(user) -> str:
    """An access token as POST /auth/token/ issues it (same key, claims and lifetime)."""
    from rest_framework_simplejwt.tokens import AccessToken

    return str(AccessToken.for_user(user))


def queries_per_request(method: str, path: str, token: str, body: dict | None = None) -> tuple[int, int]:
    """(status, SQL statements) of one request through the whole middleware stack, in this process."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {token}")
    with CaptureQueriesContext(connection) as captured:
        if method == "GET":
            response = client.get(path)
        else:
            response = client.post(path, data=json.dumps(body), content_type="application/json")
    return response.status_code, len(captured.captured_queries)


# --- servers and wrk ------------------------------------------------------------------------


def _stop(process: subprocess.Popen) -> None:
    """TERM to the server's process group (master and workers), KILL if it lingers."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    except ProcessLookupError:
        pass


def _port_free(port: int) -> bool:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
    except urllib.error.HTTPError:
        return False
    except OSError:
        return True
    return False


@contextmanager
def serving(kind: str, env: dict, port: int, log_dir: Path, workers: int = 2, log_name: str = ""):
    """On port: the product on gunicorn (deploy/gunicorn.conf.py, `workers` sync workers) or daphne
    (1 process), or the bare baseline on gunicorn with the same configuration. Stopped (process group)
    on exit. It logs to log_dir/<log_name or kind>.log."""
    env = dict(env, GUNICORN_BIND=f"127.0.0.1:{port}", GUNICORN_WORKERS=str(workers))
    gunicorn = [PYTHON, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "--no-control-socket"]
    if kind == "gunicorn":
        command, ready = [*gunicorn, "healthcare.wsgi:application"], "/api/v1/health"
    elif kind == "bare":
        env["DJANGO_SETTINGS_MODULE"] = "bench.serving_bare.settings"
        command, ready = [*gunicorn, "bench.serving_bare.wsgi:application"], "/rows"
    elif kind == "daphne":
        command = [PYTHON, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "healthcare.asgi:application"]
        ready = "/api/v1/health"
    else:
        raise ValueError(kind)
    if not _port_free(port):
        raise SystemExit(f"port {port} is already taken: set SERVING_PORT")
    log = (log_dir / f"{log_name or kind}.log").open("a")
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise SystemExit(f"{kind} exited with {process.returncode}: see {log_dir / log.name}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{ready}", timeout=5) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit(f"{kind} did not answer {ready} within 60 s: see {log_dir}") from None
                time.sleep(0.3)
        yield process
    finally:
        _stop(process)
        log.close()


def server_log_offset(log_dir: Path, kind: str = "gunicorn") -> int:
    """Where the server's log ends now: server_times() reads what it writes after this."""
    path = log_dir / f"{kind}.log"
    return path.stat().st_size if path.exists() else 0


def server_times(log_dir: Path, start: int, kind: str = "gunicorn") -> dict[str, list[float]]:
    """Milliseconds each request took inside the product, per view, from its request log (healthcare/logs.py:
    one JSON line per request with view and duration_ms) written after offset start. Empty if it logs none."""
    times: dict[str, list[float]] = {}
    with (log_dir / f"{kind}.log").open("rb") as log:
        log.seek(start)
        for line in log:
            if not line.startswith(b"{"):
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("logger") == "healthcare.request" and "duration_ms" in entry:
                times.setdefault(entry.get("view") or "?", []).append(float(entry["duration_ms"]))
    return times


def workers_replaced(log_dir: Path, start: int, kind: str = "gunicorn") -> int:
    """gunicorn workers replaced (max_requests reached) after offset start of the server's log: each
    leaves its replica a worker short for the second or so a new one takes to import the app."""
    path = log_dir / f"{kind}.log"
    if not path.exists():
        return 0
    with path.open("rb") as log:
        log.seek(start)
        return sum(1 for line in log if b"Autorestarting worker" in line)


@dataclass
class Result:
    scenario: str
    server: str
    figures: dict
    goal: str = ""
    met: bool | None = None
    queries: int | None = None
    unloaded: bool = False
    bare: "Result | None" = None  # the bare baseline measured just before, same load
    inside: list[float] = field(default_factory=list)  # ms per request inside Django (the product's request log)
    replaced: int = 0  # gunicorn workers replaced while it was measured

    def inside_text(self) -> str:
        if not self.inside:
            return ""
        ordered = sorted(self.inside)
        return f"{statistics.mean(ordered):.1f} / {ordered[int(0.95 * (len(ordered) - 1))]:.1f}"

    @property
    def rps(self) -> float:
        return self.figures["requests"] / (self.figures["duration_us"] / 1e6)

    def ms(self, name: str) -> float:
        return self.figures[f"{name}_us"] / 1000

    @property
    def errors(self) -> int:
        f = self.figures
        return f["connect"] + f["read"] + f["write"] + f["timeout"] + f["non2xx"]


def wrk(port: int, path: str, script: str, args: list[str], *, connections: int, duration: float) -> dict:
    """Run wrk on 127.0.0.1:port + path; the figures its done() prints (bench/wrk/report.lua)."""
    command = [
        WRK,
        "-t",
        str(min(2, connections)),
        "-c",
        str(connections),
        "-d",
        f"{max(1, round(duration))}s",
        "--timeout",
        "10s",
        "-s",
        script,
        f"http://127.0.0.1:{port}{path}",
        "--",
        *args,
    ]
    done = subprocess.run(command, cwd=WRK_DIR, capture_output=True, text=True, timeout=duration + 120)
    for line in done.stdout.splitlines():
        if line.startswith("WRK_JSON "):
            return json.loads(line.removeprefix("WRK_JSON "))
    raise RuntimeError(f"wrk printed no figures:\n{done.stdout}\n{done.stderr}")


def drain(port: int, path: str) -> None:
    """Wait until the server has answered what wrk left behind: when wrk stops, the requests it had sent
    still wait in the listen queue and are served (to nobody) first. One more request answered means
    those ahead of it are done, so the next measurement does not start behind them."""
    urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=120).close()


def judge(result: Result, goal: tuple[float, float] | None = None, unloaded: bool = False) -> Result:
    if unloaded:
        result.goal = f"p95 < {UNLOADED_P95_MS:g} ms"
        result.met = result.ms("p95") < UNLOADED_P95_MS and result.errors == 0
    elif goal is not None:
        rate, p95 = goal
        result.goal = f">= {rate} req/s, p95 <= {p95:g} ms"
        result.met = result.rps >= rate and result.ms("p95") <= p95 and result.errors == 0
    return result


# --- the audit of the private pieces -------------------------------------------------------

# Each private piece over framework internals (settings.PRIVATE_PIECES) and the scenario it was
# written for: "read" is the encounters read, "write" the ED's live events.
PIECE_SCENARIOS = {
    "statements": "write",  # the user's row, the department's bounds, the audit row's INSERT
    "representation": "read",
    "count-cache": "read",
    "layer-loop": "write",  # the broadcaster's loop per thread in place of async_to_sync's loop per push
}
# A piece stays only if the product as shipped serves this much more on its scenario than the
# product with the public API in its place (issue 17).
KEEP_GAIN = 0.20
AUDIT_PORT_OFFSET = 2


@dataclass
class PieceAudit:
    piece: str
    scenario: str
    rounds: list[tuple[Result, Result]]  # (as shipped, with the public API), measured one after the other

    @property
    def gain(self) -> float:
        """Median over rounds of the paired req/s ratio, shipped / public, less 1."""
        return statistics.median(shipped.rps / public.rps for shipped, public in self.rounds) - 1

    @property
    def gains(self) -> list[float]:
        return [shipped.rps / public.rps - 1 for shipped, public in self.rounds]

    @property
    def inside_gain(self) -> float | None:
        """Median of the paired ratio of mean time inside Django, public / shipped, less 1."""
        pairs = [(s.inside, p.inside) for s, p in self.rounds if s.inside and p.inside]
        if not pairs:
            return None
        return statistics.median(statistics.mean(p) / statistics.mean(s) for s, p in pairs) - 1

    @property
    def keep(self) -> bool:
        return self.gain >= KEEP_GAIN and all(s.errors == 0 and p.errors == 0 for s, p in self.rounds)


def audit_print(audits: list[PieceAudit], rounds: int, duration: float) -> None:
    print()
    print(
        f"Private pieces, each against the product with the public API in its place (PUBLIC_API_FOR=<piece>), "
        f"both on the same gunicorn configuration, measured in turn {rounds} times for {duration:g} s "
        f"(order alternating); a piece stays at a gain of {KEEP_GAIN:.0%} or more:"
    )
    print()
    print(
        "| piece | scenario | shipped req/s | public API req/s | gain, median (per round) "
        "| time in Django, public / shipped | errors | verdict |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for audit in audits:
        shipped = statistics.median(s.rps for s, _ in audit.rounds)
        public = statistics.median(p.rps for _, p in audit.rounds)
        per_round = ", ".join(f"{gain:+.0%}" for gain in audit.gains)
        inside = "" if audit.inside_gain is None else f"{audit.inside_gain + 1:.2f}"
        errors = sum(s.errors + p.errors for s, p in audit.rounds)
        verdict = "keep" if audit.keep else "replace by the public API"
        print(
            f"| {audit.piece} | {audit.scenario} | {shipped:.0f} | {public:.0f} | {audit.gain:+.1%} ({per_round}) "
            f"| {inside} | {errors} | {verdict} |"
        )


# --- the run --------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=20, help="Seconds per loaded scenario (default 20)")
    parser.add_argument("--unloaded", type=float, default=10, help="Seconds per unloaded scenario (default 10)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections when loaded (default 32)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers, bare and product (default 2)")
    parser.add_argument("--quick", action="store_true", help="Smoke run: 60 days of data, 3 s scenarios")
    parser.add_argument("--reuse-db", action="store_true", help="Keep the database if it is already seeded")
    parser.add_argument("--prepare-only", action="store_true", help="Prepare the database, measure nothing")
    parser.add_argument("--audit-rounds", type=int, default=3, help="Paired rounds per private piece (default 3)")
    parser.add_argument("--audit-duration", type=float, default=10, help="Seconds per audit measurement")
    parser.add_argument(
        "--audit-only", action="store_true", help="Measure only the private pieces against the public API"
    )
    parser.add_argument("--pieces", default=",".join(PIECE_SCENARIOS), help="Private pieces to audit (default all)")
    parser.add_argument("--log-dir", type=Path, default=Path("/tmp/hospital-bench-serving"), help="Server logs")
    args = parser.parse_args()
    days, plan_days = SEED_DAYS, 7
    if args.quick:
        args.duration, args.unloaded, args.audit_duration, args.audit_rounds, days, plan_days = 3, 2, 3, 1, 60, 1
    pieces = [piece for piece in args.pieces.split(",") if piece]
    unknown = set(pieces) - set(PIECE_SCENARIOS)
    if unknown:
        parser.error(f"--pieces: unknown {sorted(unknown)}; the pieces are {','.join(PIECE_SCENARIOS)}")
    warmup = min(3.0, args.duration)
    sync_workers = f"gunicorn sync x{args.workers}"
    args.log_dir.mkdir(parents=True, exist_ok=True)

    database_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    redis_url = os.environ.get("REDIS_URL", DEFAULT_REDIS_URL)
    env = product_environment(database_url, redis_url, RATELIMIT_WRITES=RAISED_WRITE_LIMIT)
    load_before = os.getloadavg()
    database_prepare(env, days=days, plan_days=plan_days, reuse=args.reuse_db)
    if args.prepare_only:
        return
    redis_empty(redis_url)
    django_setup(env)

    from django.db import connections
    from django.utils import timezone

    from healthcare.encounters.models import Department, Encounter, PatientEvent, WorkloadHour

    undone = bench_writes_undo()
    if undone:
        print(f"deleted {undone:,} encounters an earlier run's writes left, and rebuilt their hours", flush=True)
    (user,) = bench_users_ensure(role="integrator")
    total = Encounter.objects.count()
    ed_total = Encounter.objects.filter(department__code="ED").count()
    last_hour = WorkloadHour.objects.filter(department__code="ED").order_by("-hour").values_list("hour", flat=True)[0]
    week_ago = (last_hour - timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ")
    day_ago = (last_hour - timedelta(hours=24)).strftime("%Y-%m-%dT%H:%M:%SZ")
    encounters_path = "/api/v1/encounters/?department=ED&page_size=50"
    recent_path = f"/api/v1/encounters/?department=ED&start_after={day_ago}&page_size=50"
    hours_path = f"/api/v1/workload-hours/?department=ED&start={week_ago}&page_size=50"
    events_path = "/api/v1/events"
    source = f"{BENCH_SOURCE}-{int(time.time())}"

    token = access_token(user)
    statements = {}
    for path in (encounters_path, recent_path, hours_path):
        status, statements[path] = queries_per_request("GET", path, token)
        assert status == 200, (path, status)
    event = {
        "event_id": f"probe-{source}",
        "kind": "admit",
        "encounter_id": f"probe-{source}",
        "patient": "probe",
        "department": "ED",
        "occurred_at": timezone.now().isoformat(),
    }
    body = {"source": f"{source}-probe", "events": [event]}
    status, statements[events_path] = queries_per_request("POST", events_path, token, body)
    assert status == 200, (events_path, status)
    connections.close_all()

    results: list[Result] = []

    def measure(port, path, script, extra, *, unloaded=False, log=None, duration=None) -> tuple[dict, dict, int]:
        """wrk's figures, the product's own request times (per view) and the workers replaced while it measured."""
        token = access_token(user)  # fresh for every scenario (15 minutes each)
        if unloaded:
            command = [token, *extra, str(UNLOADED_PAUSE_MS)]
            connections, duration = 1, args.unloaded
        else:
            # The warm-up's events go to a source of their own.
            warm = [f"{extra[0]}-w", *extra[1:]] if script in WRITE_SCRIPTS else extra
            wrk(port, path, script, [token, *warm], connections=args.connections, duration=warmup)
            command, connections, duration = [token, *extra], args.connections, duration or args.duration
        ready = "/rows" if port == BARE_PORT else "/api/v1/health"
        drain(port, ready)
        start = server_log_offset(args.log_dir, log) if log else 0
        figures = wrk(port, path, script, command, connections=connections, duration=duration)
        drain(port, ready)
        if not log:
            return figures, {}, 0
        return figures, server_times(args.log_dir, start, log), workers_replaced(args.log_dir, start, log)

    bare_writes = itertools.count(1)
    ed_id = str(Department.objects.get(code="ED").pk)

    def bare(path="/rows", unloaded=False) -> Result:
        label = BARE_LABELS[path] + (", unloaded" if unloaded else "")
        if path == "/write":
            script, extra = "bare_write.lua", [f"{BARE_WRITE_SOURCE}-{next(bare_writes)}", ed_id]
        else:
            script, extra = "get.lua", []
        figures, _, replaced = measure(BARE_PORT, path, script, extra, unloaded=unloaded, log="bare")
        result = Result(label, sync_workers, figures, unloaded=unloaded, replaced=replaced)
        return judge(result, unloaded=unloaded)

    def run(scenario, server, path, script, extra=(), *, goal=None, unloaded=False) -> Result:
        """The bare baseline under the same load (a write for writes), then the scenario: their ratio is
        what to compare."""
        baseline = bare("/write" if script in WRITE_SCRIPTS else "/rows", unloaded=unloaded)
        log = "daphne" if server.startswith("daphne") else "gunicorn"
        figures, inside, replaced = measure(PORT, path, script, list(extra), unloaded=unloaded, log=log)
        result = Result(scenario, server, figures, queries=statements.get(path), unloaded=unloaded, bare=baseline)
        result.inside = [ms for times in inside.values() for ms in times]
        result.replaced = replaced
        judge(result, goal, unloaded)
        results.append(result)
        note = ""
        if result.replaced or baseline.replaced:
            note = f"; gunicorn workers replaced during it: {result.replaced} (bare: {baseline.replaced})"
        print(
            f"  {scenario} on {server}: {result.rps:.0f} req/s, p95 {result.ms('p95'):.1f} ms, "
            f"errors {result.errors} (bare just before: {baseline.rps:.0f} req/s, p95 {baseline.ms('p95'):.1f} ms)"
            f"{note}",
            flush=True,
        )
        return result

    print(f"{total:,} encounters ({ed_total:,} in the ED); wrk {args.connections} connections", flush=True)

    def audit(piece: str) -> PieceAudit:
        """The product as shipped (on PORT) and with the public API for piece, measured in turn."""
        if PIECE_SCENARIOS[piece] == "read":
            label, path, script = f"GET {encounters_path}", encounters_path, "get.lua"
        else:
            label, path, script = f"POST {events_path} (ED)", events_path, "events.lua"
        public_port, public_log = PORT + AUDIT_PORT_OFFSET, f"public-{piece}"
        rounds = []
        public_env = dict(env, PUBLIC_API_FOR=piece)
        with serving("gunicorn", public_env, public_port, args.log_dir, args.workers, log_name=public_log):
            for number in range(args.audit_rounds):
                measured = {}
                order = ("shipped", "public") if number % 2 == 0 else ("public", "shipped")
                for variant in order:
                    port, log = (PORT, "gunicorn") if variant == "shipped" else (public_port, public_log)
                    # A source of its own per measurement, within the 32 characters a source may have.
                    tag = f"a{list(PIECE_SCENARIOS).index(piece)}{variant[0]}{number}"
                    extra = [f"{source}-{tag}", "ED"] if script in WRITE_SCRIPTS else []
                    figures, inside, replaced = measure(
                        port, path, script, extra, log=log, duration=args.audit_duration
                    )
                    result = Result(label, sync_workers, figures, replaced=replaced)
                    result.inside = [ms for times in inside.values() for ms in times]
                    measured[variant] = result
                shipped, public = measured["shipped"], measured["public"]
                rounds.append((shipped, public))
                print(
                    f"  {piece}, round {number + 1}: shipped {shipped.rps:.0f} req/s, "
                    f"public API {public.rps:.0f} req/s ({shipped.rps / public.rps - 1:+.0%})"
                    + (f"; errors {shipped.errors} and {public.errors}" if shipped.errors or public.errors else ""),
                    flush=True,
                )
        return PieceAudit(piece, label, rounds)

    audits: list[PieceAudit] = []
    if not args.audit_only:
        with serving("bare", env, BARE_PORT, args.log_dir, args.workers):
            bare()  # warms the baseline's workers
            bare_page = bare("/page")
            print(f"  {bare_page.scenario}: {bare_page.rps:.0f} req/s", flush=True)
            with serving("gunicorn", env, PORT, args.log_dir, args.workers):
                run(f"GET {encounters_path}", sync_workers, encounters_path, "get.lua", goal=READ_GOAL)
                run(f"GET {recent_path}", sync_workers, recent_path, "get.lua", goal=READ_GOAL)
                hours = run(f"GET {hours_path}", sync_workers, hours_path, "get.lua", goal=READ_GOAL)
                run(f"GET {encounters_path}", sync_workers, encounters_path, "get.lua", unloaded=True)
                run(f"GET {hours_path}", sync_workers, hours_path, "get.lua", unloaded=True)
                before = PatientEvent.objects.filter(source=source).count()
                connections.close_all()
                spread = run(
                    f"POST {events_path} (ED, ICU, MEDSURG in turn)",
                    sync_workers,
                    events_path,
                    "events.lua",
                    [source, ",".join(DEPARTMENTS)],
                    goal=WRITE_GOAL,
                )
                stored = PatientEvent.objects.filter(source=source).count() - before
                connections.close_all()
                run(
                    f"POST {events_path} (ED only)",
                    sync_workers,
                    events_path,
                    "events.lua",
                    [f"{source}-ed", "ED"],
                    goal=WRITE_GOAL,
                )
                unloaded_events = [f"{source}-u", "ED"]
                run(f"POST {events_path} (ED)", sync_workers, events_path, "events.lua", unloaded_events, unloaded=True)
            with serving("daphne", env, PORT, args.log_dir):
                daphne = run(f"GET {hours_path}", "daphne x1", hours_path, "get.lua")
            with serving("gunicorn", dict(env, DB_POOL_MAX_SIZE="0"), PORT, args.log_dir, args.workers):
                no_pool = run(f"GET {hours_path}", f"{sync_workers}, DB_POOL_MAX_SIZE=0", hours_path, "get.lua")
    if pieces:
        print(f"auditing {', '.join(pieces)} against the public API", flush=True)
        with serving("gunicorn", env, PORT, args.log_dir, args.workers):
            audits = [audit(piece) for piece in pieces]
    redis_empty(redis_url)
    written = bench_writes_undo()
    load_after = os.getloadavg()

    if not args.audit_only:
        print()
        print(
            f"PostgreSQL 15 ({total:,} encounters, {ed_total:,} in the ED), Redis {redis_url}, "
            f"wrk -t2 -c{args.connections} -d{args.duration:g}s after a {warmup:g} s warm-up "
            f"(unloaded: -t1 -c1, one request every {UNLOADED_PAUSE_MS} ms, {args.unloaded:g} s), DEBUG off, "
            f"RATELIMIT_WRITES={RAISED_WRITE_LIMIT}; "
            f"load average {load_before[0]:.1f} before, {load_after[0]:.1f} after"
        )
        print()
        print(
            "| scenario | server | req/s | p50 ms | p95 ms | p99 ms | errors / non-2xx | SQL per request "
            "| in Django ms, mean / p95 | goal | met? |"
        )
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        rows = [r for r in results if r.bare is not None]
        for r in [bare_page, *rows]:
            met = "" if r.met is None else ("yes" if r.met else "no")
            queries = "" if r.queries is None else str(r.queries)
            label = (
                f"{r.scenario}, unloaded"
                if "unloaded" in r.goal and not r.scenario.endswith("unloaded")
                else r.scenario
            )
            print(
                f"| {label} | {r.server} | {r.rps:.0f} | {r.ms('p50'):.1f} | {r.ms('p95'):.1f} | {r.ms('p99'):.1f} "
                f"| {r.errors} / {r.figures['non2xx']} | {queries} | {r.inside_text()} | {r.goal} | {met} |"
            )
        print()
        print(
            f"Each row against the bare baseline (bench/serving_bare, {sync_workers}) measured just before it, "
            "under the same load:"
        )
        print()
        print("| scenario | server | bare baseline | bare req/s | bare p95 ms | req/s ratio | p95 ratio |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for r in rows:
            print(
                f"| {r.scenario}{', unloaded' if r.unloaded else ''} | {r.server} | {r.bare.scenario} "
                f"| {r.bare.rps:.0f} | {r.bare.ms('p95'):.1f} | {r.rps / r.bare.rps:.2f} "
                f"| {r.ms('p95') / r.bare.ms('p95'):.2f} |"
            )
        print()
        print(
            f"Workload hours, {sync_workers} / daphne x1: {hours.rps / daphne.rps:.2f}x the req/s, "
            f"p95 {hours.ms('p95'):.0f} vs {daphne.ms('p95'):.0f} ms (under daphne the time in Django includes "
            f"the wait for the one thread that runs sync views). The pool / a new PostgreSQL connection per request "
            f"(DB_POOL_MAX_SIZE=0): {hours.rps / no_pool.rps:.2f}x the req/s, p95 {hours.ms('p95'):.0f} vs "
            f"{no_pool.ms('p95'):.0f} ms; each ratio also moves with the machine between the two runs (compare the "
            f"bare baselines measured just before each)."
        )
        replaced = "; ".join(
            f"{r.scenario} on {r.server}: {r.replaced}, bare {r.bare.replaced}"
            for r in results
            if r.bare is not None and (r.replaced or r.bare.replaced)
        )
        print(
            "gunicorn workers replaced (max_requests) while measured: "
            f"{replaced or 'none (no figure includes a restart of a worker).'}"
        )
        print(
            f"Writes: the three-department run was answered {spread.figures['requests']:,} times "
            f"({spread.figures['non2xx']} not 2xx, {spread.figures['discharges']:,} discharges) and stored "
            f"{stored:,} events (the difference: requests still in flight when wrk stopped). The events and the bare "
            f"write baseline created {written:,} encounters, deleted again (their hours rebuilt)."
        )

    if audits:
        audit_print(audits, args.audit_rounds, args.audit_duration)


if __name__ == "__main__":
    main()
