"""Receivers of other apps' signals: cache invalidation only."""

from django.core.cache import cache

from predictions.selectors import latest_forecast_key


def latest_forecast_forget(sender, department_id: int, **kwargs) -> None:
    """New data for a department: its cached latest forecast is no longer the latest word."""
    cache.delete(latest_forecast_key(department_id))
