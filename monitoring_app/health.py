"""Is the product healthy? Liveness (the process answers) and readiness with detail.

Ready means this web process can serve: the database answers, and with REDIS_URL set, Redis
(cache) and the channel layer answer. Workers, models and data freshness are reported as
detail and "degraded", not as not-ready: a load balancer must not take the web out because a
worker is down.
"""

import time
import uuid
from dataclasses import dataclass, field

from asgiref.sync import async_to_sync
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

# The worker canary is sent at most this often; readiness probes in between reuse its answer.
CANARY_EVERY_SECONDS = 30
CANARY_TIMEOUT_SECONDS = 2.0


@dataclass
class Check:
    ok: bool
    detail: str
    milliseconds: float = 0.0


@dataclass
class Status:
    ready: bool
    checks: dict[str, Check]
    degraded: list[str] = field(default_factory=list)
    departments: list[dict] = field(default_factory=list)


def _timed(probe) -> Check:
    started = time.perf_counter()
    try:
        detail = probe()
        ok = True
    except Exception as exc:  # noqa: BLE001 - a probe reports any failure as its result
        detail, ok = f"{type(exc).__name__}: {exc}"[:300], False
    return Check(ok=ok, detail=detail, milliseconds=round((time.perf_counter() - started) * 1000, 1))


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return connection.vendor


def _cache() -> str:
    key = f"health:{uuid.uuid4().hex}"
    cache.set(key, "1", timeout=10)
    if cache.get(key) != "1":
        raise RuntimeError("wrote a value and read back another")
    cache.delete(key)
    return "redis" if settings.REDIS_URL else "local memory"


def _channel_layer() -> str:
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.send)(channel, {"type": "health.ping"})
    message = async_to_sync(layer.receive)(channel)
    if message.get("type") != "health.ping":
        raise RuntimeError("the message sent did not come back")
    return type(layer).__name__


def _workers() -> str:
    """A worker proves it consumes the queue by echoing a canary. The verdict, either way, is reused
    for CANARY_EVERY_SECONDS: with no worker, probes must not each wait CANARY_TIMEOUT_SECONDS."""
    from monitoring_app.tasks import canary_task

    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "eager: tasks run in the web process (embedded default)"
    answered = cache.get("health:canary")
    if answered is not None:
        ok, detail = answered
        if not ok:
            raise RuntimeError(detail)
        return detail
    token = uuid.uuid4().hex
    started = time.perf_counter()
    try:
        result = canary_task.apply_async((token,), expires=CANARY_TIMEOUT_SECONDS * 5)
        if result.get(timeout=CANARY_TIMEOUT_SECONDS) != token:
            raise RuntimeError("the canary came back wrong")
    except Exception as exc:
        cache.set("health:canary", (False, f"{type(exc).__name__}: {exc}"[:300]), timeout=CANARY_EVERY_SECONDS)
        raise
    answered = f"a worker echoed the canary in {(time.perf_counter() - started) * 1000:.0f} ms"
    cache.set("health:canary", (True, answered), timeout=CANARY_EVERY_SECONDS)
    return answered


def _departments() -> list[dict]:
    """Per department: the active model's version and age and the latest recorded hour and encounter."""
    from monitoring_app.selectors import department_freshness

    now = timezone.now()
    return [
        {
            "department": row["department"],
            "model_version": row["model_version"],
            "model_age_days": (
                round((now - row["model_created_at"]).total_seconds() / 86400, 1) if row["model_created_at"] else None
            ),
            "last_hour": row["last_hour"],
            "last_ingest": row["last_ingest"],
        }
        for row in department_freshness()
    ]


def status_check(*, detail: bool) -> Status:
    """Run the readiness checks (and, with detail, the per-department facts)."""
    checks = {"database": _timed(_database), "cache": _timed(_cache), "channel_layer": _timed(_channel_layer)}
    ready = all(check.ok for check in checks.values())
    checks["workers"] = _timed(_workers)
    status = Status(ready=ready, checks=checks)
    if not checks["workers"].ok:
        status.degraded.append("no worker answered the canary: forecasts, plans and alerts wait")
    if detail and checks["database"].ok:
        status.departments = _departments()
    return status
