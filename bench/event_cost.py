"""The cost of one live event in process: time, SQL statements, and where the time goes.

    .venv/bin/python bench/event_cost.py [--events 400] [--days 60] [--reuse-db] [--profile]

bench/serving.py measures POST /api/v1/events through gunicorn under load; this measures the same
request one at a time in this process, so that two checkouts of the code can be compared on one
machine (copy this file into the other checkout and run the two in turn: each prepares its own
database with its own migrations). Production settings as bench/serving.py's servers have them
(bench.serving.product_environment), on the database of DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/hospital_bench_events, seeded with seed_demo --days DAYS
unless --reuse-db finds it seeded) and Redis db 6 of REDIS_URL, emptied before the run.

The events are those of bench/wrk/events.lua: an admit in the ED, then a discharge of the stay
admitted before it, in turn, one event per request, occurring now. The first --warmup requests
are not counted. What the events stored is deleted afterwards and the ED's hours rebuilt.

Prints one JSON object: the events measured, SQL statements per event (median and most), wall
and CPU milliseconds per event (median, p95), and with --profile the share of wall time by the
package whose code ran it (the product's apps by name; site-packages by distribution; waiting
on a socket as "wait: PostgreSQL or Redis") and the slowest of the product's own functions,
inclusive.
"""

import argparse
import cProfile
import json
import os
import pstats
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlparse

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.serving import (  # noqa: E402 - the repository on the path first
    access_token,
    bench_users_ensure,
    database_prepare,
    django_setup,
    product_environment,
    redis_empty,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/hospital_bench_events"
SOURCE = "bench-cost"
PRODUCT_PACKAGES = ("healthcare", "predictions", "optimization", "monitoring_app", "dashboard")


def events_undo() -> int:
    """Delete what this script's events stored and rebuild the hours of the departments they touched.

    Not bench.serving.bench_writes_undo: checkouts older than it (7f15351) are compared with this file."""
    from django.db import connection, transaction

    from healthcare.encounters.services import department_workload_rebuild

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM encounters_patientevent WHERE source = %s", [SOURCE])
        cursor.execute("DELETE FROM encounters_encounter WHERE source = %s RETURNING department_id", [SOURCE])
        departments = sorted({department_id for (department_id,) in cursor.fetchall()})
    for department_id in departments:
        department_workload_rebuild(department_id=department_id)
    return len(departments)


def event_bodies(count: int):
    """Admit, discharge, admit, ... as events.lua sends them: a discharge closes the stay admitted before it."""
    from django.utils import timezone

    for number in range(count):
        occurred = timezone.now().isoformat()
        if number % 2 == 0:
            event = {
                "event_id": f"a-{number}",
                "kind": "admit",
                "encounter_id": f"e-{number}",
                "department": "ED",
                "patient": f"bench-patient-{number}",
                "occurred_at": occurred,
            }
        else:
            event = {"event_id": f"d-{number}", "kind": "discharge", "encounter_id": f"e-{number - 1}"}
            event["occurred_at"] = occurred
        yield {"source": SOURCE, "events": [event]}


def package_of(filename: str) -> str:
    """The product app or installed distribution whose code `filename` is; "python" for the rest."""
    path = Path(filename)
    if "site-packages" in path.parts:
        return path.parts[path.parts.index("site-packages") + 1].removesuffix(".py")
    try:
        parts = path.resolve().relative_to(REPO).parts
    except ValueError:
        return "python"
    if parts[0] == "healthcare" and len(parts) > 2:
        return f"healthcare.{parts[1]}"
    return parts[0].removesuffix(".py") if parts[0] in PRODUCT_PACKAGES else "python"


def profile_summary(profile: cProfile.Profile, events: int) -> dict:
    """Exclusive wall ms per event by package, and the product's slowest functions, inclusive."""
    stats = pstats.Stats(profile).stats
    by_package: dict[str, float] = defaultdict(float)
    own: list[tuple[float, str]] = []
    for (filename, line, name), (_calls, _primitive, exclusive, inclusive, _callers) in stats.items():
        if filename == "~" and any(word in name for word in ("poll", "select", "recv", "wait")):
            package = "wait: PostgreSQL or Redis"
        else:
            package = package_of(filename) if filename != "~" else "python"
        by_package[package] += exclusive
        if package.split(".")[0] in PRODUCT_PACKAGES:
            relative = Path(filename).resolve().relative_to(REPO)
            own.append((inclusive, f"{relative}:{line} {name}"))
    total = sum(by_package.values())
    return {
        "profiled_ms_per_event": round(1000 * total / events, 2),
        "share_by_package": {
            name: round(seconds / total, 3)
            for name, seconds in sorted(by_package.items(), key=lambda item: -item[1])
            if seconds / total >= 0.01
        },
        "product_functions_inclusive_ms_per_event": {
            name: round(1000 * seconds / events, 2) for seconds, name in sorted(own, reverse=True)[:25]
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=400, help="Events measured (default 400)")
    parser.add_argument("--warmup", type=int, default=40, help="Events sent first and not counted (default 40)")
    parser.add_argument("--days", type=int, default=60, help="Days of demo history to seed (default 60)")
    parser.add_argument("--reuse-db", action="store_true", help="Keep the database if it is already seeded")
    parser.add_argument("--profile", action="store_true", help="Also profile the measured events (cProfile)")
    args = parser.parse_args()

    database_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    redis = urlparse(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/6"))
    redis_url = redis._replace(path="/6").geturl()
    env = product_environment(database_url, redis_url, RATELIMIT_WRITES="1000000/m")
    database_prepare(env, days=args.days, plan_days=1, reuse=args.reuse_db)
    redis_empty(redis_url)
    django_setup(env)

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    (user,) = bench_users_ensure(role="integrator")
    client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {access_token(user)}")
    events_undo()
    profile = cProfile.Profile() if args.profile else None
    walls, cpus, statements = [], [], []
    try:
        for number, body in enumerate(event_bodies(args.warmup + args.events)):
            measured = number >= args.warmup
            with CaptureQueriesContext(connection) as queries:
                wall, cpu = time.perf_counter(), time.process_time()
                if profile is not None and measured:
                    profile.enable()
                response = client.post("/api/v1/events", body, content_type="application/json")
                if profile is not None and measured:
                    profile.disable()
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            if response.status_code != 200 or response.json().get("applied") != 1:
                raise SystemExit(f"event {number} answered {response.status_code}: {response.content[:300]!r}")
            if measured:
                walls.append(1000 * wall)
                cpus.append(1000 * cpu)
                statements.append(len(queries))
    finally:
        events_undo()
        redis_empty(redis_url)
    report = {
        "events": args.events,
        "statements_per_event": {"median": statistics.median(statements), "most": max(statements)},
        "wall_ms": {
            "median": round(statistics.median(walls), 2),
            "p95": round(statistics.quantiles(walls, n=20)[-1], 2),
        },
        "cpu_ms": {"median": round(statistics.median(cpus), 2), "p95": round(statistics.quantiles(cpus, n=20)[-1], 2)},
    }
    if profile is not None:
        report["profile"] = profile_summary(profile, args.events)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
