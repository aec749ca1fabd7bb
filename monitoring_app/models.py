"""Alerts raised for the people who run the wards."""

from django.conf import settings
from django.db import models
from django.db.models import Q, QuerySet

from healthcare.encounters.models import Department


class AlertKind(models.TextChoices):
    UNDERSTAFFING = "understaffing", "Short of nurses, now or soon"
    FORECAST_DRIFT = "forecast_drift", "Forecast drift"
    JOB_FAILED = "job_failed", "Job failed"
    # Raised by Prometheus' rules (deploy/prometheus/rules.yml) through Alertmanager's webhook.
    OPERATIONS = "operations", "System alert"


class AlertSeverity(models.TextChoices):
    WARNING = "warning", "Warning"
    CRITICAL = "critical", "Critical"


class AlertQuerySet(QuerySet):
    def open(self) -> "AlertQuerySet":
        """Neither acknowledged nor resolved."""
        return self.filter(acknowledged_at__isnull=True, resolved_at__isnull=True)


class Alert(models.Model):
    """A condition someone on the ward should see: open until acknowledged, or resolved when it clears.

    key names the condition (for example the hour a shortage was first seen, or a job id):
    raising the same condition again refreshes the alert instead of adding another.
    """

    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(max_length=32, choices=AlertKind.choices)
    severity = models.CharField(max_length=16, choices=AlertSeverity.choices, default=AlertSeverity.WARNING)
    key = models.CharField(max_length=200)
    title = models.CharField(max_length=200)
    detail = models.JSONField(default=dict, blank=True)
    raised_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True, help_text="When the condition cleared by itself.")

    objects = AlertQuerySet.as_manager()

    class Meta:
        ordering = ["-raised_at"]
        constraints = [
            models.UniqueConstraint(fields=["department", "key"], name="alert_unique_condition"),
            models.CheckConstraint(condition=Q(kind__in=AlertKind.values), name="alert_kind_valid"),
            models.CheckConstraint(condition=Q(severity__in=AlertSeverity.values), name="alert_severity_valid"),
        ]
        indexes = [
            models.Index(fields=["department", "acknowledged_at", "resolved_at", "-raised_at"], name="alert_open")
        ]

    def __str__(self) -> str:
        return f"{self.department_id}: {self.title}"

    @property
    def is_open(self) -> bool:
        return self.acknowledged_at is None and self.resolved_at is None


class AuditEvent(models.Model):
    """Who did what, to which object or query, when, from where, and how it ended (HIPAA 164.312(b)).

    Append-only: no screen or endpoint changes or deletes one, and on PostgreSQL a trigger
    refuses UPDATE and DELETE on the table. Never holds patient data: paths carry
    encounter ids of the source systems, not patients; bodies are not stored.
    """

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    # No constraint and no cascade: deleting a user must not touch (or be blocked by) the trail.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    username = models.CharField(
        max_length=150, blank=True, help_text="As it was then (or as tried, for a failed login)."
    )
    action = models.CharField(max_length=32, db_index=True)
    method = models.CharField(max_length=8, blank=True)
    target = models.CharField(max_length=1000, blank=True, help_text="Path and query, or the object.")
    ip = models.GenericIPAddressField(null=True, blank=True)
    outcome = models.PositiveSmallIntegerField(help_text="HTTP status, or 200 / 401 for sign-ins and commands.")

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["user", "-at"], name="auditevent_user_recent")]
        permissions = [("view_metrics", "Can read operational metrics and health detail")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.username or '-'} {self.action} {self.target} {self.outcome}"
