"""Signals for fan-out to the apps above (alerts, dashboards), sent after commit."""

from django.dispatch import Signal

# A forecast job succeeded. Arguments: department_id (int), department_code (str), forecast_id (str).
forecast_ready = Signal()
