"""Signals for the dashboards, sent after commit."""

from django.dispatch import Signal

# An alert was raised, resolved or acknowledged. Arguments: department_code (str), change
# ("raised", "resolved" or "acknowledged"), alert (dict: id, and for "raised" what a page shows).
alert_changed = Signal()

# A department's staffing was judged. Arguments: department_code (str), staffing (dict, the
# staffing state), verdict (dict, the sentence and status a page shows).
staffing_judged = Signal()
