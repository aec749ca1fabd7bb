"""The cost of the two hot reads in process, one request at a time: the companion of event_cost.py.

    .venv/bin/python bench/read_cost.py [--requests 300] [--warmup 30]

bench/serving.py measures the reads through gunicorn under load, as ratios to a bare app that
move with the machine; this measures the product's own cost of a request, so that two checkouts
can be compared on one machine (run it from each checkout's directory in turn: the code imported
is the current directory's). Production settings (bench.serving.product_environment) on the
serving bench's database (DATABASE_URL, default hospital_bench_serving, prepared by
`bench/serving.py --prepare-only`; the checkouts compared must share its migrations) and Redis db
6 of REDIS_URL. The reads are serving's: the ED's latest page of 50 encounters with its count,
and a week of the ED's workload hours.

Prints one JSON object: per read, the median wall and CPU milliseconds of the measured requests,
and the directory the product's code was imported from.
"""

import argparse
import json
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path.cwd()))

from bench.serving import (  # noqa: E402 - the checkout of the current directory first
    access_token,
    bench_users_ensure,
    django_setup,
    product_environment,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/hospital_bench_serving"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="Requests measured per read (default 300)")
    parser.add_argument("--warmup", type=int, default=30, help="Requests sent first and not counted (default 30)")
    args = parser.parse_args()

    redis = urlparse(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/6"))
    env = product_environment(os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL), redis._replace(path="/6").geturl())
    django_setup(env)

    from django.test import Client
    from django.utils import timezone

    import healthcare
    from healthcare.hours import iso_utc

    (user,) = bench_users_ensure(role="integrator")
    client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {access_token(user)}")
    week_ago = iso_utc(timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(days=7))
    reads = {
        "encounters page": "/api/v1/encounters/?department=ED&page_size=50",
        "workload hours": f"/api/v1/workload-hours/?department=ED&start={week_ago}&page_size=50",
    }
    report = {}
    for name, path in reads.items():
        walls, cpus = [], []
        for number in range(args.warmup + args.requests):
            wall, cpu = time.perf_counter(), time.process_time()
            response = client.get(path)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            if response.status_code != 200:
                raise SystemExit(f"{path} answered {response.status_code}: {response.content[:300]!r}")
            if number >= args.warmup:
                walls.append(1000 * wall)
                cpus.append(1000 * cpu)
        report[name] = {"wall_ms": round(statistics.median(walls), 2), "cpu_ms": round(statistics.median(cpus), 2)}
    report["code"] = str(Path(healthcare.__file__).resolve().parent.parent)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
