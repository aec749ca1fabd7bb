"""Signals for fan-out to other apps (never for the core flow), sent after commit."""

from django.dispatch import Signal

# Some hours of a department's workload changed. Arguments: department_id (int), department_code
# (str), change (dict: hours_written, hours_deleted and, when they can be listed, the changed
# hours of the live window as {hour, arrivals, census}). Receivers must be cheap: caches, pushes.
workload_changed = Signal()
