"""Signals for fan-out to the apps above (alerts, dashboards), sent after commit; never for the core flow."""

from django.dispatch import Signal

# Who is on duty in a department changed: a plan put in force, a call-in, a release or an
# absence recorded or cancelled. Arguments: department_id (int).
staffing_changed = Signal()

# A staffing plan succeeded. Arguments: department_id (int), department_code (str), optimization_id (str).
plan_ready = Signal()
