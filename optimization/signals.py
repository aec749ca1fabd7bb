"""Signals for fan-out to the apps above (alerts, dashboards), sent after commit; never for the core flow."""

from django.dispatch import Signal

# Who is on duty in a department changed: a plan put in force, a call-in, a release or an
# absence recorded or cancelled. Arguments: department_id (int).
staffing_changed = Signal()

# A staffing plan succeeded. Arguments: department_id (int), department_code (str), optimization_id (str).
plan_ready = Signal()

# A roster of named nurses was solved. Arguments: department_id (int), roster_id (str).
roster_ready = Signal()

# A roster of named nurses was put in force (an audited action). Arguments: department_id (int),
# roster_id (str), user_id (int or None: the demo seed).
roster_put_in_force = Signal()

# A call-in offer was made, accepted, declined or withdrawn. Arguments: department_id (int),
# offer_id (int), nurse (str, her display name), status (str).
call_in_answered = Signal()
