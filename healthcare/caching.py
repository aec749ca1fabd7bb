"""The cache where it only saves work (cached forecasts, permission sets and counts, sequence numbers,
throttled rechecks): an outage of Redis must not fail the request or task around it.

`soft_cache` has the few methods the product uses; each logs a failure and answers as if the key
were missing (get: the default; add: False; counter_next: None). `Generation` keys cached reads
that every change of their data must forget. Rate limits and the health probe use the real cache:
they must see the outage (ratelimits.py fails closed or open on purpose).
"""

import logging
from uuid import uuid4

from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django.db import transaction
from django_prometheus.cache.backends.redis import NativeRedisCache
from django_prometheus.cache.metrics import (
    django_cache_get_fail_total,
    django_cache_get_total,
    django_cache_hits_total,
    django_cache_misses_total,
)

logger = logging.getLogger(__name__)


# INCRBY only if the key exists; nil otherwise (run by Redis as one command).
_INCR_EXISTING = "if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('INCRBY', KEYS[1], ARGV[1]) end"


class SharedClientRedisCacheClient(RedisCacheClient):
    """Django's Redis cache client, keeping one redis.Redis per connection pool.

    Django's builds a new redis.Redis for every operation, and on redis-py 8 the constructor (which
    fills a table of some 170 response callbacks) costs more than the round trip to Redis. The
    instance holds nothing but the pool and is safe to share between threads; the pool starts over
    by itself in a forked worker.
    """

    def __init__(self, servers, **options):
        super().__init__(servers, **options)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))  # pools live as long as this client: their ids stay theirs
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client

    def incr(self, key, delta):
        """Django's incr (ValueError for a missing key) in one atomic command instead of EXISTS, then
        INCRBY. Each rate-limited request saves a round trip, and a key that expires between the two
        can no longer be created again by INCRBY, without an expiry."""
        value = self.get_client(key, write=True).eval(_INCR_EXISTING, 1, key, delta)
        if value is None:
            raise ValueError(f"Key '{key}' not found.")
        return value


class SharedClientRedisCache(NativeRedisCache):
    """The cache backend in production: django-prometheus' Redis cache (Django's own, counting gets,
    hits, misses and failures) over SharedClientRedisCacheClient."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = SharedClientRedisCacheClient

    def get_many(self, keys, version=None):
        """One MGET, counted key by key as get() counts its one (the dashboards' hit ratio)."""
        keys = list(keys)
        gets = django_cache_get_total.labels(backend="native_redis")
        try:
            found = super().get_many(keys, version=version)
        except Exception:
            gets.inc(len(keys))
            django_cache_get_fail_total.labels(backend="native_redis").inc(len(keys))
            raise
        gets.inc(len(keys))
        django_cache_hits_total.labels(backend="native_redis").inc(len(found))
        django_cache_misses_total.labels(backend="native_redis").inc(len(keys) - len(found))
        return found


class SoftCache:
    """Django's default cache, answering as if the key were missing when the backend fails."""

    def _failed(self, operation: str, key: str) -> None:
        logger.warning("cache %s of %s failed; carrying on without it", operation, key, exc_info=True)

    def get(self, key: str, default=None):
        try:
            return cache.get(key, default)
        except Exception:  # noqa: BLE001 - any backend error is an outage here
            self._failed("get", key)
            return default

    def get_many(self, keys: list[str]) -> dict:
        try:
            return cache.get_many(keys)
        except Exception:  # noqa: BLE001
            self._failed("get_many", ", ".join(keys))
            return {}

    def set(self, key: str, value, timeout=None) -> None:
        try:
            cache.set(key, value, timeout=timeout)
        except Exception:  # noqa: BLE001
            self._failed("set", key)

    def add(self, key: str, value, timeout=None) -> bool:
        try:
            return cache.add(key, value, timeout=timeout)
        except Exception:  # noqa: BLE001
            self._failed("add", key)
            return False

    def delete(self, key: str) -> None:
        try:
            cache.delete(key)
        except Exception:  # noqa: BLE001
            self._failed("delete", key)

    def counter_next(self, key: str) -> int | None:
        """Add 1 to a counter that never expires (starting at 0) and return it; None when unreachable.

        On Redis one INCR (Django's incr() is EXISTS then INCRBY, after an add() to create the key).
        """
        try:
            backend = caches[DEFAULT_CACHE_ALIAS]  # `cache` is a proxy to it
            if isinstance(backend, RedisCache):
                full_key = backend.make_and_validate_key(key)
                return int(backend._cache.get_client(full_key, write=True).incr(full_key))
            backend.add(key, 0, timeout=None)
            return int(backend.incr(key))
        except Exception:  # noqa: BLE001
            self._failed("incr", key)
            return None


soft_cache = SoftCache()


class Generation:
    """A token naming the current state of some data: entries stored under it (store()) are all
    forgotten when the data changes and replace() makes a new one.

    replace() sets it at once (readers in the same transaction, and tests, see the change) and again
    after commit (a reader elsewhere may have stored the old state under the first new token). A
    replacement lost while Redis is unreachable is not retried: entries stored under a generation
    must also expire by themselves, which bounds how long they can be stale.
    """

    def __init__(self, key: str):
        self.key = key

    def current(self) -> str:
        return str(soft_cache.get(self.key, "0"))

    def read(self, key: str) -> tuple[str, object]:
        """(token, value): the current token, and key's value if it was stored under that token (else
        None). One round trip: the token and the entry are read together (MGET on Redis)."""
        found = soft_cache.get_many([self.key, key])
        token = str(found.get(self.key, "0"))
        entry = found.get(key)
        if isinstance(entry, tuple) and len(entry) == 2 and entry[0] == token:
            return token, entry[1]
        return token, None

    def store(self, key: str, token: str, value, timeout: int) -> None:
        """Keep value under key for `token`, the token read() gave before the value was computed: a
        replacement in between leaves it stale at once, never current."""
        soft_cache.set(key, (token, value), timeout=timeout)

    def replace(self) -> None:
        self._replace()
        transaction.on_commit(self._replace)

    def replace_on_m2m_change(self, action: str, **kwargs) -> None:
        """Receiver (m2m_changed): replace once rows of the relation were added or removed."""
        if action in ("post_add", "post_remove", "post_clear"):
            self.replace()

    def _replace(self) -> None:
        soft_cache.set(self.key, uuid4().hex, timeout=None)
