"""Reads for monitoring: alerts that depend on who is asking, and how fresh each department's data and model are."""

from django.db.models import OuterRef, Subquery

from healthcare.encounters.models import Department, Encounter, WorkloadHour
from healthcare.encounters.selectors import departments_visible_to
from monitoring_app.models import Alert
from predictions.models import ForecastModel


def alerts_visible_to(user):
    """Alerts of the departments the user may see, newest first, with their department and acknowledger."""
    return Alert.objects.filter(department__in=departments_visible_to(user)).select_related(
        "department", "acknowledged_by"
    )


def may_read_metrics(user) -> bool:
    """Operations (and admins): metrics and health detail, through monitoring_app.view_metrics."""
    return user is not None and user.is_authenticated and user.has_perm("monitoring_app.view_metrics")


def department_freshness() -> list[dict]:
    """Per department (by code): the active model's version and creation time, the latest recorded
    hour, and the latest encounter write (None where there is none)."""
    active = {
        model.department_id: model
        for model in ForecastModel.objects.filter(is_active=True).only("department_id", "version", "created_at")
    }
    # Subqueries, not joins: a join of encounters with hours would multiply the rows.
    latest_hour = WorkloadHour.objects.filter(department=OuterRef("pk")).order_by("-hour").values("hour")[:1]
    latest_write = Encounter.objects.filter(department=OuterRef("pk")).order_by("-updated_at").values("updated_at")[:1]
    rows = []
    for department in Department.objects.annotate(
        last_hour=Subquery(latest_hour), last_encounter=Subquery(latest_write)
    ).order_by("code"):
        model = active.get(department.id)
        rows.append(
            {
                "department": department.code,
                "model_version": model.version if model else None,
                "model_created_at": model.created_at if model else None,
                "last_hour": department.last_hour,
                "last_ingest": department.last_encounter,
            }
        )
    return rows
