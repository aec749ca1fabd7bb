"""The cache where it only saves work (cached forecasts, sequence numbers, throttled rechecks): an
outage of Redis must not fail the request or task around it.

`soft_cache` has the few methods the product uses; each logs a failure and answers as if the key
were missing (get: the default; add: False; incr: None). Rate limits and the health probe use
the real cache: they must see the outage (ratelimits.py fails closed or open on purpose).
"""

import logging

from django.core.cache import cache

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

    def incr(self, key: str) -> int | None:
        """Increment a counter created with add(key, 0); None when the cache is unreachable."""
        try:
            return cache.incr(key)
        except ValueError:  # the key expired or was evicted between add() and incr()
            raise
        except Exception:  # noqa: BLE001
            self._failed("incr", key)
            return None


soft_cache = SoftCache()
