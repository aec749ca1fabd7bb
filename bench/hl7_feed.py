"""HL7 v2 ADT over MLLP: messages per second on one connection and acknowledgement latency.

    .venv/bin/python bench/hl7_feed.py [--messages 3000] [--window 1,8] [--days 30] [--reuse-db]

Prepares its own PostgreSQL database (DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/hospital_bench_hl7, dropped and created again unless --reuse-db
finds it seeded with seed_demo --days DAYS) and starts `manage.py hl7_listen` with production settings
(bench/serving.py's product_environment: DEBUG off, the connection pool, Redis db 5 of REDIS_URL as
cache, channel layer and Celery broker; no worker runs, so the tasks a census change queues wait in
Redis as they would for a busy worker).

The feed is the demo ED's: A04 registrations, then the discharge (A03) of the oldest open visit or its
transfer to MEDSURG (A02), occurring now, on one connection. --window sets how many messages the
sender keeps unanswered (1: it waits for each acknowledgement, as most engines do; 8: a pipelining
sender). Latency is from the message written to its acknowledgement read.

Besides the figures, the run checks what follows: every message answered AA, the ED's census this
hour grew by the admissions (an hour's census counts everyone present in it, the discharged too; a run
that crosses the hour shows less), and the dashboards' channel group
received a workload.changed event. What the run stored is deleted and the ED's hours rebuilt.

Prints one JSON object per window and a summary line.
"""

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections import deque
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.serving import PYTHON, database_prepare, product_environment, redis_empty  # noqa: E402

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/hospital_bench_hl7"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/5"
SOURCE = "hl7-bench"


def feed(count: int, run: str):
    """count ADT messages (bytes): registrations, then discharges or transfers of the oldest open visit."""
    from datetime import UTC, datetime

    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S+0000")
    open_visits: deque[str] = deque()
    for number in range(count):
        control = f"{run}-{number}"
        if len(open_visits) < 20 or number % 2 == 0:
            visit = f"{run}V{number}"
            open_visits.append(visit)
            trigger, point = "A04", "ED"
        else:
            visit = open_visits.popleft()
            trigger, point = ("A02", "MEDSURG") if number % 5 == 1 else ("A03", "ED")
        yield (
            trigger,
            (
                f"MSH|^~\\&|EPIC|HOSP|WORKLOAD|HOSP|{stamp}||ADT^{trigger}|{control}|P|2.5.1\r"
                f"EVN|{trigger}|{stamp}\rPID|1||MRN{visit}^^^HOSP^MR\r"
                f"PV1|1|E|{point}^1^A||||||||||||||||{visit}\r"
            ).encode(),
        )


async def drive(port: int, messages: list[bytes], window: int, group: str):
    """Send on one connection keeping at most `window` unanswered, while listening to the dashboards'
    group: latencies (s), codes, elapsed (s), workload.changed events received."""
    from channels.layers import channel_layers
    from hl7.mllp import open_hl7_connection

    layer = channel_layers.make_backend("default")
    channel = await layer.new_channel()
    await layer.group_add(group, channel)
    reader, writer = await open_hl7_connection("127.0.0.1", port)
    sent: deque[float] = deque()
    latencies, codes = [], []
    started = time.perf_counter()
    position = 0
    while len(codes) < len(messages):
        while position < len(messages) and len(sent) < window:
            writer.writeblock(messages[position])
            sent.append(time.perf_counter())
            position += 1
        await writer.drain()
        answer = await asyncio.wait_for(reader.readmessage(), 30)
        latencies.append(time.perf_counter() - sent.popleft())
        codes.append(str(answer.segment("MSA")[1]))
    elapsed = time.perf_counter() - started
    writer.close()
    await writer.wait_closed()
    pushed = 0
    while True:
        try:
            message = await asyncio.wait_for(layer.receive(channel), 1)
        except TimeoutError:
            break
        pushed += message.get("event") == "workload.changed"
    await layer.group_discard(group, channel)
    return latencies, codes, elapsed, pushed


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--window", default="1,8", help="unanswered messages the sender allows, comma-separated")
    parser.add_argument("--days", type=int, default=30, help="days of demo history to seed")
    parser.add_argument("--reuse-db", action="store_true")
    parser.add_argument("--port", type=int, default=int(os.environ.get("HL7_BENCH_PORT", "2599")))
    args = parser.parse_args()

    database_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    redis_url = os.environ.get("REDIS_URL", DEFAULT_REDIS_URL)
    env = product_environment(database_url, redis_url)
    database_prepare(env, days=args.days, plan_days=1, reuse=args.reuse_db)
    os.environ.update(env)
    import django

    django.setup()
    from django.utils import timezone

    from dashboard.broadcast import department_group
    from healthcare.encounters.models import Encounter, Hl7Message, WorkloadHour
    from healthcare.encounters.services import department_workload_rebuild

    def cleanup() -> None:
        touched = set(Encounter.objects.filter(source=SOURCE).values_list("department_id", flat=True))
        first = Encounter.objects.filter(source=SOURCE).order_by("start").values_list("start", flat=True).first()
        Encounter.objects.filter(source=SOURCE).delete()
        Hl7Message.objects.filter(source=SOURCE).delete()
        for department_id in touched:
            department_workload_rebuild(department_id=department_id, start=first)

    def census_now(code: str) -> int:
        hour = timezone.now().replace(minute=0, second=0, microsecond=0)
        row = WorkloadHour.objects.filter(department__code=code, hour=hour).values_list("census", flat=True)
        return row.first() or 0

    cleanup()
    redis_empty(redis_url)
    listener = subprocess.Popen(
        [PYTHON, "manage.py", "hl7_listen", "--port", str(args.port), "--source", SOURCE],
        cwd=REPO,
        env=env,
        start_new_session=True,
    )
    results = []
    try:
        deadline = time.monotonic() + 60
        while not listening(args.port):
            if time.monotonic() > deadline or listener.poll() is not None:
                raise SystemExit("hl7_listen did not start")
            time.sleep(0.2)
        for window in [int(part) for part in args.window.split(",")]:
            run = f"W{window}T{int(time.time())}"
            messages = list(feed(args.messages, run))
            kinds = [trigger for trigger, _ in messages]
            before = census_now("ED")
            print(f"window {window}: {len(messages)} messages ...", file=sys.stderr, flush=True)
            blocks = [block for _, block in messages]
            latencies, codes, elapsed, pushed = asyncio.run(drive(args.port, blocks, window, department_group("ED")))
            admitted = kinds.count("A04")
            left = kinds.count("A03") + kinds.count("A02")
            result = {
                "window": window,
                "messages": len(messages),
                "messages_per_second": round(len(messages) / elapsed, 1),
                "ack_ms_p50": round(statistics.median(latencies) * 1000, 2),
                "ack_ms_p95": round(percentile(latencies, 0.95) * 1000, 2),
                "ack_ms_max": round(max(latencies) * 1000, 2),
                "answered_aa": codes.count("AA"),
                # This hour's census counts every patient present in it, the discharged too.
                "ed_census_change": census_now("ED") - before,
                "ed_census_expected": admitted,
                "ed_stays_still_open": admitted - left,
                "dashboard_events_received": pushed,
            }
            results.append(result)
            print(json.dumps(result), flush=True)
            cleanup()
    finally:
        os.killpg(listener.pid, signal.SIGTERM)
        listener.wait(timeout=20)
        redis_empty(redis_url)
    for result in results:
        goal = result["messages_per_second"] >= 200 and result["ack_ms_p95"] < 50
        print(
            f"window {result['window']}: {result['messages_per_second']} msg/s, ACK p95 {result['ack_ms_p95']} ms "
            f"(goal >= 200 msg/s, p95 < 50 ms: {'met' if goal else 'missed'})",
            file=sys.stderr,
        )


if __name__ == "__main__":
    main()
