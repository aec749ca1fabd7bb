"""healthcare.caching: counters and generations that carry on when the cache does not answer."""

from unittest import mock

import pytest
from django.core.cache import cache

from healthcare.caching import Generation, SharedClientRedisCache, soft_cache


def test_a_counter_starts_at_one_and_counts_in_the_cache():
    assert [soft_cache.counter_next("test:counter") for _ in range(3)] == [1, 2, 3]
    assert cache.get("test:counter") == 3


@pytest.mark.redis
def test_on_redis_a_counter_is_one_statement_and_reads_back_as_a_number():
    from django.core.cache import caches
    from django.core.cache.backends.redis import RedisCache

    assert isinstance(caches["default"], RedisCache)
    with mock.patch.object(caches["default"], "add", side_effect=AssertionError("add is not needed on Redis")):
        assert [soft_cache.counter_next("test:redis-counter") for _ in range(2)] == [1, 2]
    assert cache.get("test:redis-counter") == 2


def test_the_redis_cache_builds_one_client_per_server_not_one_per_operation():
    # Building clients connects to nothing: no Redis is needed here.
    backend = SharedClientRedisCache("redis://127.0.0.1:1/0", {"OPTIONS": {"socket_connect_timeout": 1}})
    client = backend._cache.get_client("a")
    assert backend._cache.get_client("b", write=True) is client
    assert client.connection_pool.connection_kwargs["socket_connect_timeout"] == 1
    two_servers = SharedClientRedisCache("redis://127.0.0.1:1/0,redis://127.0.0.1:2/0", {})
    writer, reader = two_servers._cache.get_client(write=True), two_servers._cache.get_client()
    assert writer is not reader  # reads go to the replica, writes to the first server
    ports = [client.connection_pool.connection_kwargs["port"] for client in (writer, reader)]
    assert ports == [1, 2]
    assert two_servers._cache.get_client() is reader


@pytest.mark.redis
def test_the_shared_redis_client_serves_threads_at_once():
    from concurrent.futures import ThreadPoolExecutor

    def round_trip(number: int) -> int:
        cache.set(f"test:thread:{number}", number, 30)
        return cache.get(f"test:thread:{number}")

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(round_trip, range(200))) == list(range(200))
    cache.delete_many([f"test:thread:{number}" for number in range(200)])


def test_an_unreachable_cache_gives_no_number_and_no_error(caplog):
    from django.core.cache import caches

    unreachable = mock.Mock(spec=type(caches["default"]))  # Redis or in-memory, as configured
    for method in (unreachable.make_and_validate_key, unreachable.add, unreachable.incr):
        method.side_effect = ConnectionError("down")
    with mock.patch("healthcare.caching.caches", {"default": unreachable}):
        assert soft_cache.counter_next("test:counter") is None
    assert "cache incr of test:counter failed" in caplog.text


def test_a_generation_is_replaced_by_a_new_token_and_reads_zero_before_any(db):
    generation = Generation("test:generation")
    assert generation.current() == "0"
    generation.replace()
    first = generation.current()
    generation.replace()
    assert generation.current() not in ("0", first)


def test_a_stored_value_is_read_back_only_under_the_token_it_was_computed_for(db):
    generation = Generation("test:stored-generation")
    token, value = generation.read("test:stored")
    assert (token, value) == ("0", None)
    generation.store("test:stored", token, {"rows": 12}, timeout=30)
    assert generation.read("test:stored") == ("0", {"rows": 12})

    generation.replace()  # the data changed: what was stored before is forgotten
    token, value = generation.read("test:stored")
    assert token != "0" and value is None

    generation.replace()  # ... and so is a value computed before a change but stored after it
    generation.store("test:stored", token, {"rows": 13}, timeout=30)
    assert generation.read("test:stored")[1] is None


def test_a_generation_read_with_the_cache_unreachable_finds_nothing(caplog):
    with mock.patch("healthcare.caching.cache.get_many", side_effect=ConnectionError("down")):
        assert Generation("test:down").read("test:down-entry") == ("0", None)
    assert "cache get_many of test:down, test:down-entry failed" in caplog.text


@pytest.mark.redis
def test_reading_a_generation_on_redis_is_one_command_counted_per_key():
    from django.core.cache import caches
    from django_prometheus.cache.metrics import django_cache_get_total, django_cache_hits_total

    generation = Generation("test:redis-generation")
    generation._replace()
    token, _ = generation.read("test:redis-entry")
    generation.store("test:redis-entry", token, 7, timeout=30)
    gets, hits = (
        counter.labels(backend="native_redis") for counter in (django_cache_get_total, django_cache_hits_total)
    )
    gets_before, hits_before = gets._value.get(), hits._value.get()
    client = caches["default"]._cache.get_client()
    with mock.patch.object(client, "get", side_effect=AssertionError("one MGET, no GET")):
        assert generation.read("test:redis-entry") == (token, 7)
    assert (gets._value.get() - gets_before, hits._value.get() - hits_before) == (2, 2)
    cache.delete_many(["test:redis-generation", "test:redis-entry"])


@pytest.mark.redis
def test_on_redis_incr_is_one_command_that_never_creates_a_key():
    from django.core.cache import caches

    backend = caches["default"]
    client = backend._cache.get_client(write=True)
    cache.set("test:incr", 5, 30)
    with mock.patch.object(client, "exists", side_effect=AssertionError("EXISTS is not needed")):
        assert cache.incr("test:incr", 2) == 7
        assert cache.decr("test:incr") == 6
    assert 0 < client.ttl(backend.make_and_validate_key("test:incr")) <= 30  # the expiry is kept
    cache.delete("test:incr")
    with pytest.raises(ValueError, match="not found"):
        cache.incr("test:incr")
    assert cache.get("test:incr") is None
