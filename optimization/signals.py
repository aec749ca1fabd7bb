"""Signals for fan-out to the apps above (alerts, dashboards); never for the core flow."""

from django.dispatch import Signal

# Sent after commit when who is on duty in a department changed: a plan put in force, a call-in,
# a release or an absence recorded or cancelled. Arguments: department_id (int).
staffing_changed = Signal()
