"""Signals for fan-out to other apps (never for the core flow)."""

from django.dispatch import Signal

# Sent after commit when some hours of a department's workload changed.
# Arguments: department_id (int). Receivers must be cheap: cache invalidation, pushes.
workload_changed = Signal()
