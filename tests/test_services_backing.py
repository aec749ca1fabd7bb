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
def test_cache_round_trip_over_redis():
    assert settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    cache.set("backing-test", {"ok": True}, 30)
    assert cache.get("backing-test") == {"ok": True}
    cache.delete("backing-test")
    assert cache.get("backing-test") is None


@pytest.mark.redis
def test_a_real_celery_worker_consumes_the_queue():
    from celery.contrib.testing.worker import start_worker

    from healthcare.celery import app
    from monitoring_app.tasks import canary_task

    assert not app.conf.task_always_eager
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        assert canary_task.delay("are-you-there").get(timeout=30) == "are-you-there"
