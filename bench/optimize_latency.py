"""Latency of staffing through the real stack: PostgreSQL, Redis, a Celery worker, daphne over HTTP.

    .venv/bin/python bench/optimize_latency.py [--runs 50] [--recommendations 200]

Sets up a fresh database (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/hospital_bench_opt)
with a 120-day demo ED, starts one warm Celery worker and daphne, then measures:
- POST /api/v1/optimize/workload (72 h) until the plan.ready push reaches a subscriber of
  the department's channel-layer group (what the dashboards receive);
- POST /api/v1/optimize/recommend, request to response.
Prints p50/p95/max of each.
"""

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
PORT = 8765


def environment() -> dict:
    env = dict(os.environ)
    env.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/hospital_bench_opt")
    env.setdefault("REDIS_URL", "redis://127.0.0.1:6379/2")
    env.update(DEBUG="true", DJANGO_SETTINGS_MODULE="healthcare.settings", DEMO_PASSWORD="bench-password-123")
    # One user requests 55 plans in a minute or two: latency is measured here, not the per-user job limit.
    env.setdefault("RATELIMIT_JOBS", "1000/m")
    return env


def call(method: str, path: str, body: dict | None = None, token: str | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{PORT}{path}",
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, json.loads(response.read())


def percentiles(samples: list[float]) -> str:
    import numpy as np

    values = 1000 * np.array(samples)
    return f"p50 {np.percentile(values, 50):.1f} ms, p95 {np.percentile(values, 95):.1f} ms, max {values.max():.1f} ms"


async def measure(env: dict, args) -> tuple[list[float], list[float]]:
    """(plan round trips, recommendation latencies) in seconds; HTTP calls run in a thread."""
    from channels.layers import get_channel_layer

    for _ in range(120):
        try:
            await asyncio.to_thread(urllib.request.urlopen, f"http://127.0.0.1:{PORT}/accounts/login/", timeout=5)
            break
        except OSError:
            await asyncio.sleep(0.5)
    credentials = {"username": "ed_staff", "password": env["DEMO_PASSWORD"]}
    _, tokens = await asyncio.to_thread(call, "POST", "/api/v1/auth/token/", credentials)
    token = tokens["access"]
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add("department.ED", channel)

    async def plan_round_trip() -> float:
        started = time.perf_counter()
        body = {"department": "ED", "horizon_hours": 72}
        status, run = await asyncio.to_thread(call, "POST", "/api/v1/optimize/workload", body, token)
        assert status == 202, run
        while True:
            message = await asyncio.wait_for(layer.receive(channel), timeout=60)
            if message["event"] == "plan.ready" and message["payload"]["optimization_id"] == run["optimization_id"]:
                return time.perf_counter() - started

    for _ in range(5):  # warm the worker: imports, forecaster load, connections
        await plan_round_trip()
    plans = [await plan_round_trip() for _ in range(args.runs)]
    _, last = await asyncio.to_thread(call, "GET", "/api/v1/optimize/history?department=ED&page_size=1", None, token)
    assert last["results"][0]["status"] == "succeeded", last["results"][0]

    body = {"department": "ED", "current_patients": 30, "current_staff": 8}
    for _ in range(5):
        await asyncio.to_thread(call, "POST", "/api/v1/optimize/recommend", body, token)
    recommendations = []
    for _ in range(args.recommendations):
        started = time.perf_counter()
        status, _ = await asyncio.to_thread(call, "POST", "/api/v1/optimize/recommend", body, token)
        assert status == 200
        recommendations.append(time.perf_counter() - started)
    return plans, recommendations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--recommendations", type=int, default=200)
    args = parser.parse_args()
    env = environment()
    os.environ.update(env)

    from bench.ingest import fresh_database

    fresh_database(env["DATABASE_URL"])
    python = sys.executable
    subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=REPO, env=env, check=True)
    subprocess.run(
        [python, "manage.py", "seed_demo", "--days", "120"], cwd=REPO, env=env, check=True, capture_output=True
    )
    processes = [
        subprocess.Popen(
            [
                python,
                "-m",
                "celery",
                "-A",
                "healthcare",
                "worker",
                "--pool",
                "solo",
                "--concurrency",
                "1",
                "-l",
                "warning",
            ],
            cwd=REPO,
            env=env,
        ),
        subprocess.Popen(
            [python, "-m", "daphne", "-p", str(PORT), "healthcare.asgi:application"],
            cwd=REPO,
            env=env,
            stderr=subprocess.DEVNULL,
        ),
    ]
    try:
        import django

        django.setup()
        measured = asyncio.run(measure(env, args))
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
    plans, recommendations = measured

    print("PostgreSQL + Redis, 1 warm Celery worker (solo pool), daphne over HTTP on this machine")
    print("| measurement | latency | goal |")
    print("| --- | --- | --- |")
    label = f"POST /optimize/workload (72 h) to plan.ready pushed, {args.runs} runs"
    print(f"| {label} | {percentiles(plans)} | p95 < 200 ms |")
    print(
        f"| POST /optimize/recommend, {args.recommendations} requests | {percentiles(recommendations)} | p95 < 50 ms |"
    )


if __name__ == "__main__":
    main()
