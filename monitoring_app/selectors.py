"""Reads of alerts that depend on who is asking."""

from healthcare.encounters.selectors import departments_visible_to
from monitoring_app.models import Alert


def alerts_visible_to(user):
    """Alerts of the departments the user may see, newest first, with their department and acknowledger."""
    return Alert.objects.filter(department__in=departments_visible_to(user)).select_related(
        "department", "acknowledged_by"
    )
