"""Receivers of other apps' signals: cache invalidation only (skipped, with a log line, while Redis is down)."""

from healthcare.caching import soft_cache
from predictions.selectors import latest_forecast_key, workload_version_key


def latest_forecast_forget(sender, department_id: int, **kwargs) -> None:
    """New data for a department: its cached latest forecast is no longer the latest word, and
    arrival forecasts computed from the older data are not reused."""
    soft_cache.delete(latest_forecast_key(department_id))
    soft_cache.counter_next(workload_version_key(department_id))
