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
from django.core.cache.backends.redis import RedisCache
from django.db import transaction

logger = logging.getLogger(__name__)


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
    """A token naming the current state of some data: cache keys that include it are all forgotten
    when the data changes and replace() makes a new one.

    replace() sets it at once (readers in the same transaction, and tests, see the change) and again
    after commit (a reader elsewhere may have cached the old state under the first new token). A
    replacement lost while Redis is unreachable is not retried: entries keyed on a generation must
    also expire by themselves, which bounds how long they can be stale.
    """

    def __init__(self, key: str):
        self.key = key

    def current(self) -> str:
        return str(soft_cache.get(self.key, "0"))

    def replace(self) -> None:
        self._replace()
        transaction.on_commit(self._replace)

    def _replace(self) -> None:
        soft_cache.set(self.key, uuid4().hex, timeout=None)
