"""From POST /api/v1/events to the message in connected browsers: PostgreSQL, Redis, daphne, Chromium.

    .venv/bin/python bench/live_latency.py [--clients 8] [--dashboards 2] [--events 200]

Sets up a fresh database (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/hospital_bench_live)
with a 30-day demo hospital, serves it with daphne on the Redis channel layer, and opens --clients
Chromium pages signed in as ed_staff, each with a listener on the ED's websocket endpoint that
stamps each message on arrival. --dashboards of them show the live ED dashboard itself (its own
socket, chart redraws and snapshot reads, as in use); the others a plain page, because on this
2-core machine every browser's chart redraws compete with the server for the same cores. Then it
posts --events admit and discharge events one at a time (each patient admitted, then discharged,
so the census stays as seeded), as the integrator, and waits until every page has the resulting
workload.changed message before the next.

Latency per (event, page): the browser's clock at arrival minus the wall clock just before the
POST (same machine, same clock). Prints p50/p95/max over all of them, and of the POST itself.
"""

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
PORT = 8766
BASE = f"http://127.0.0.1:{PORT}"
PASSWORD = "bench-password-123"

LISTENER = """() => {
    window.received = [];
    const socket = new WebSocket(`ws://${location.host}/ws/departments/ED/`);
    socket.onmessage = (message) => {
        const data = JSON.parse(message.data);
        window.received.push({ at: Date.now(), event: data.event, seq: data.seq });
    };
    return new Promise((resolve) => { socket.onopen = () => resolve(true); });
}"""


def environment() -> dict:
    env = dict(os.environ)
    env.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/hospital_bench_live")
    env.setdefault("REDIS_URL", "redis://127.0.0.1:6379/3")
    env.update(DEBUG="true", DJANGO_SETTINGS_MODULE="healthcare.settings", DEMO_PASSWORD=PASSWORD)
    return env


def post(path: str, body: dict, token: str | None = None) -> dict:
    request = urllib.request.Request(
        f"{BASE}{path}",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def percentiles(samples_ms: list[float]) -> str:
    import numpy as np

    values = np.array(samples_ms)
    return f"p50 {np.percentile(values, 50):.1f} ms, p95 {np.percentile(values, 95):.1f} ms, max {values.max():.1f} ms"


async def measure(args) -> tuple[list[float], list[float]]:
    """(arrival latencies in ms over every page and event, POST durations in ms)."""
    from playwright.async_api import async_playwright

    for _ in range(120):
        try:
            await asyncio.to_thread(urllib.request.urlopen, f"{BASE}/accounts/login/", timeout=5)
            break
        except OSError:
            await asyncio.sleep(0.5)
    token = (await asyncio.to_thread(post, "/api/v1/auth/token/", {"username": "integrator", "password": PASSWORD}))[
        "access"
    ]
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"),
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        context = await browser.new_context(viewport={"width": 1280, "height": 900})
        page = await context.new_page()
        await page.goto(f"{BASE}/accounts/login/")
        await page.fill("#id_username", "ed_staff")
        await page.fill("#id_password", PASSWORD)
        await page.click("main button[type=submit]")
        await page.wait_for_url(f"{BASE}/")
        pages = [page] + [await context.new_page() for _ in range(args.clients - 1)]
        for number, each in enumerate(pages):  # the pages share the session cookie, each has its own sockets
            if number < args.dashboards:
                await each.goto(f"{BASE}/departments/ED/")
                await each.wait_for_function("() => document.getElementById('live-status').dataset.state === 'live'")
            else:
                await each.goto(f"{BASE}/")
            await each.evaluate(LISTENER)

        latencies, posts = [], []
        for index in range(args.events + 5):  # the first 5 warm up connections and caches
            counts = [await each.evaluate("() => window.received.length") for each in pages]
            # Admit a patient, then discharge them: the ED's census stays as it was seeded.
            patient, kind = index // 2, ("admit", "discharge")[index % 2]
            event = {
                "event_id": f"bench-{kind}-{patient}",
                "kind": kind,
                "encounter_id": f"bench-{patient}",
                "occurred_at": datetime.now(UTC).isoformat(),
            }
            if kind == "admit":
                event.update(patient=f"bench-patient-{patient}", department="ED")
            body = {"source": "bench", "events": [event]}
            sent = time.time() * 1000
            await asyncio.to_thread(post, "/api/v1/events", body, token)
            answered = time.time() * 1000
            arrivals = []
            for each, count in zip(pages, counts, strict=True):
                handle = await each.wait_for_function(
                    f"""() => window.received.slice({count}).find((m) => m.event === 'workload.changed')""",
                    timeout=10_000,
                )
                arrivals.append((await handle.json_value())["at"])
            if index >= 5:
                posts.append(answered - sent)
                latencies.extend(at - sent for at in arrivals)
        await browser.close()
    return latencies, posts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8, help="Chromium pages following the ED (default 8)")
    parser.add_argument("--dashboards", type=int, default=2, help="How many of them show the dashboard (default 2)")
    parser.add_argument("--events", type=int, default=200, help="Events to post, one at a time (default 200)")
    args = parser.parse_args()
    env = environment()
    os.environ.update(env)

    from bench.ingest import fresh_database

    fresh_database(env["DATABASE_URL"])
    python = sys.executable
    subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=REPO, env=env, check=True)
    print("seeding a 30-day demo hospital ...", flush=True)
    subprocess.run(
        [python, "manage.py", "seed_demo", "--days", "30", "--plan-days", "0"],
        cwd=REPO,
        env=env,
        check=True,
        capture_output=True,
    )
    server = subprocess.Popen(
        [python, "-m", "daphne", "-p", str(PORT), "bench.static_asgi:application"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        latencies, posts = asyncio.run(measure(args))
    finally:
        server.terminate()
        server.wait(timeout=30)

    print(
        f"PostgreSQL + Redis channel layer, one daphne process, {args.clients} Chromium pages "
        f"({args.dashboards} showing the dashboard) on this machine"
    )
    print("| measurement | latency | goal |")
    print("| --- | --- | --- |")
    print(
        f"| POST /events (an admit or a discharge) to workload.changed in each page, "
        f"{args.events} events x {args.clients} pages "
        f"| {percentiles(latencies)} | p95 < 100 ms |"
    )
    print(f"| the POST alone, request to response | {percentiles(posts)} | |")


if __name__ == "__main__":
    main()
