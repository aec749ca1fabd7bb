"""Reads of alerts that depend on who is asking."""

from healthcare.encounters.selectors import departments_visible_to
from monitoring_app.models import Alert


def alerts_visible_to(user):
    """Alerts of the departments the user may see, newest first, with their department and acknowledger."""
    return Alert.objects.filter(department__in=departments_visible_to(user)).select_related(
        "department", "acknowledged_by"
    )


def may_read_metrics(user) -> bool:
    """Operations (and admins): metrics and health detail, through monitoring_app.view_metrics."""
    return user is not None and user.is_authenticated and user.has_perm("monitoring_app.view_metrics")
