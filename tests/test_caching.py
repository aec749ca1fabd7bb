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
