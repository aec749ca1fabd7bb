"""Receivers of other apps' signals: cache invalidation only."""

from django.core.cache import cache

from predictions.selectors import latest_forecast_key, workload_version_key


def latest_forecast_forget(sender, department_id: int, **kwargs) -> None:
    """New data for a department: its cached latest forecast is no longer the latest word, and
    arrival forecasts computed from the older data are not reused."""
    cache.delete(latest_forecast_key(department_id))
    key = workload_version_key(department_id)
    cache.add(key, 0, timeout=None)
    cache.incr(key)
