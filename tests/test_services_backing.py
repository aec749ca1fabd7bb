"""The real backing services: PostgreSQL constraints, Redis channel layer and cache, a Celery worker.

Redis tests are skipped only outside CI when REDIS_URL is unset; under CI=true they always run.
"""

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from healthcare.encounters.models import Encounter, WorkloadHour
from tests.factories import hour


@pytest.mark.django_db
def test_the_database_rejects_an_encounter_ending_before_it_starts(ed):
    with pytest.raises(IntegrityError), transaction.atomic():
        Encounter.objects.create(
            source="t",
            source_id="1",
            patient_key="k",
            department=ed,
            encounter_class="EMER",
            status="finished",
            start=hour(2, 10),
            end=hour(2, 9),
            created_at=timezone.now(),
            updated_at=timezone.now(),
        )


@pytest.mark.django_db
def test_the_database_rejects_duplicate_source_ids_and_duplicate_hours(ed):
    now = timezone.now()
    fields = {
        "patient_key": "k",
        "department": ed,
        "encounter_class": "EMER",
        "status": "finished",
        "start": hour(2, 1),
        "created_at": now,
        "updated_at": now,
    }
    Encounter.objects.create(source="t", source_id="1", **fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        Encounter.objects.create(source="t", source_id="1", **fields)
    WorkloadHour.objects.create(department=ed, hour=hour(2, 1), arrivals=1, discharges=0, census=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        WorkloadHour.objects.create(department=ed, hour=hour(2, 1), arrivals=2, discharges=0, census=2)


@pytest.mark.redis
def test_channel_layer_round_trip_over_redis():
    layer = get_channel_layer()
    assert type(layer).__module__.startswith("channels_redis")
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.send)(channel, {"type": "ping", "value": 42})
    assert async_to_sync(layer.receive)(channel)["value"] == 42


@pytest.mark.redis
def test_cache_round_trip_over_redis_is_counted_for_metrics():
    from django_prometheus.cache.metrics import django_cache_hits_total, django_cache_misses_total

    assert settings.CACHES["default"]["BACKEND"] == "healthcare.caching.SharedClientRedisCache"
    hits, misses = (
        counter.labels(backend="native_redis") for counter in (django_cache_hits_total, django_cache_misses_total)
    )
    hits_before, misses_before = hits._value.get(), misses._value.get()
    cache.set("backing-test", {"ok": True}, 30)
    assert cache.get("backing-test") == {"ok": True}
    cache.delete("backing-test")
    assert cache.get("backing-test") is None
    assert (hits._value.get() - hits_before, misses._value.get() - misses_before) == (1, 1)


@pytest.mark.redis
def test_a_real_celery_worker_consumes_the_queue():
    from celery.contrib.testing.worker import start_worker

    from healthcare.celery import app
    from monitoring_app.tasks import canary_task

    assert not app.conf.task_always_eager
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        assert canary_task.delay("are-you-there").get(timeout=30) == "are-you-there"


@pytest.mark.redis
def test_a_real_worker_is_counted_with_its_tasks_in_redis():
    """Workers' figures reach the web's /metrics through Redis: the worker's heartbeat and its task counts."""
    from celery.contrib.testing.worker import start_worker

    from healthcare.celery import app
    from monitoring_app import receivers, task_stats
    from monitoring_app.tasks import canary_task

    def canaries_succeeded(figures):
        rows = [row for row in figures["tasks"] if row["task"] == "monitoring_app.tasks.canary_task"]
        return rows[0]["succeeded"] if rows else 0

    # Other workers may come and go on the same Redis meanwhile (the ops tests run real ones): this
    # worker is followed by its own heartbeat key, and the canary count only rises.
    heartbeat = f"{task_stats.WORKER_KEY_PREFIX}metrics-test@backing"
    before = task_stats.task_figures()
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10, hostname="metrics-test@backing"):
        assert canary_task.delay("counted").get(timeout=30) == "counted"
        during = task_stats.task_figures()
        beating = task_stats.redis_client().exists(heartbeat)
    # The test worker stops cold, without Celery's worker_shutdown signal (the CLI's warm stop sends it).
    receivers.worker_shutdown()
    assert beating and during["workers"] >= 1
    assert canaries_succeeded(during) >= canaries_succeeded(before) + 1
    assert not task_stats.redis_client().exists(heartbeat)  # the stop removed the heartbeat
