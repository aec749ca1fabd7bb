"""Celery task counts and durations, and worker heartbeats, kept where every process can read them.

Tasks run in worker processes that Prometheus does not scrape, so each task's outcome and
duration are added to Redis hashes (HINCRBY is atomic across processes and machines); the web's
/metrics reads them back at scrape time. Each worker also keeps a key alive while it runs:
the number of live keys is the number of workers. On the embedded default (no Redis, eager
tasks) the same figures are kept in this process.

Recording never breaks a task: a Redis error is logged and the figure is lost.
"""

import logging
import socket
import threading
import time
from collections import Counter
from functools import cache

from django.conf import settings

logger = logging.getLogger(__name__)

# Upper bounds of the duration histogram, seconds: canaries and alert checks take well under a
# second, plans a few seconds, retraining minutes, up to the task time limit.
DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0)
OUTCOMES = {"SUCCESS": "succeeded", "FAILURE": "failed", "RETRY": "retried"}
HEARTBEAT_SECONDS = 15
# A worker whose heartbeat is older than this is gone (killed, or cut off from Redis).
HEARTBEAT_EXPIRY_SECONDS = 60

COUNTS_KEY = "hospital:celery:tasks"
DURATIONS_KEY = "hospital:celery:durations"
WORKER_KEY_PREFIX = "hospital:celery:worker:"
SEPARATOR = "|"

_local: Counter = Counter()
_started: dict[str, float] = {}


@cache
def redis_client():
    """One client per process (redis-py gives a forked child its own connections)."""
    import redis

    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)


def _bucket(seconds: float) -> str:
    for bound in DURATION_BUCKETS:
        if seconds <= bound:
            return str(bound)
    return "+Inf"


def task_started(task_id: str) -> None:
    _started[task_id] = time.perf_counter()


def task_finished(task_id: str, task_name: str, state: str | None) -> None:
    """Count the task's outcome (succeeded, failed, retried) and its duration under its name."""
    started = _started.pop(task_id, None)
    outcome = OUTCOMES.get(state or "")
    if outcome is None or started is None:
        return
    seconds = time.perf_counter() - started
    fields = {
        (COUNTS_KEY, f"{task_name}{SEPARATOR}{outcome}"): 1,
        (DURATIONS_KEY, f"{task_name}{SEPARATOR}{_bucket(seconds)}"): 1,
        (DURATIONS_KEY, f"{task_name}{SEPARATOR}count"): 1,
    }
    if not settings.REDIS_URL:
        _local.update(fields)
        _local[(DURATIONS_KEY, f"{task_name}{SEPARATOR}sum")] += seconds
        return
    try:
        with redis_client().pipeline(transaction=False) as pipe:
            for (key, field), amount in fields.items():
                pipe.hincrby(key, field, amount)
            pipe.hincrbyfloat(DURATIONS_KEY, f"{task_name}{SEPARATOR}sum", seconds)
            pipe.execute()
    except Exception:  # noqa: BLE001 - a metric must never fail the task it measures
        logger.warning("could not record task %s in Redis", task_name, exc_info=True)


def task_figures() -> dict:
    """{"tasks": [{task, succeeded, failed, retried, duration: {count, sum, buckets: {bound: n}}}], "workers": n}.

    buckets are per bucket (not cumulative); workers is None on the embedded default.
    Raises on a Redis error (the caller decides how to report it).
    """
    if settings.REDIS_URL:
        client = redis_client()
        counts = {(COUNTS_KEY, f.decode()): float(v) for f, v in client.hgetall(COUNTS_KEY).items()}
        counts.update({(DURATIONS_KEY, f.decode()): float(v) for f, v in client.hgetall(DURATIONS_KEY).items()})
        workers = sum(1 for _ in client.scan_iter(match=f"{WORKER_KEY_PREFIX}*", count=100))
    else:
        counts, workers = dict(_local), None
    tasks: dict[str, dict] = {}
    for (key, field), value in counts.items():
        name, _, part = field.rpartition(SEPARATOR)
        row = tasks.setdefault(
            name,
            {"task": name, **dict.fromkeys(OUTCOMES.values(), 0), "duration": {"count": 0, "sum": 0.0, "buckets": {}}},
        )
        if key == COUNTS_KEY:
            row[part] = int(value)
        elif part in ("count", "sum"):
            row["duration"][part] = int(value) if part == "count" else round(value, 6)
        else:
            row["duration"]["buckets"][part] = int(value)
    return {"tasks": sorted(tasks.values(), key=lambda row: row["task"]), "workers": workers}


class WorkerHeartbeat:
    """Keeps WORKER_KEY_PREFIX<hostname> alive in Redis every HEARTBEAT_SECONDS while the worker runs."""

    def __init__(self, hostname: str | None):
        self.key = f"{WORKER_KEY_PREFIX}{hostname or socket.gethostname()}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hospital-heartbeat", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)  # or a beat in flight could write the key back after the delete
        try:
            redis_client().delete(self.key)
        except Exception:  # noqa: BLE001 - the key expires by itself
            logger.warning("could not remove the heartbeat %s", self.key, exc_info=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                redis_client().set(self.key, int(time.time()), ex=HEARTBEAT_EXPIRY_SECONDS)
            except Exception:  # noqa: BLE001 - keep beating; Redis may come back
                logger.warning("worker heartbeat failed", exc_info=True)
            self._stop.wait(HEARTBEAT_SECONDS)
