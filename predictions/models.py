"""Versioned forecast models and the forecasts they issue."""

import hashlib
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from healthcare.encounters.models import Department


class Algorithm(models.TextChoices):
    SEASONAL_NAIVE = "seasonal_naive", "Seasonal naive (same hour last week)"
    POISSON_GLM = "poisson_glm", "Poisson GLM (calendar, holidays, recent level)"
    POISSON_GBM = "poisson_gbm", "Gradient boosting, Poisson loss"


class ForecastModel(models.Model):
    """One trained version of a department's arrival forecaster.

    The artifact is the pickled predictions.ml.TrainedForecaster; its SHA-256 is checked
    before it is loaded. At most one version per department is active.
    """

    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="forecast_models")
    version = models.PositiveIntegerField()
    algorithm = models.CharField(max_length=32, choices=Algorithm.choices)
    hyperparameters = models.JSONField(default=dict)
    features = models.JSONField(default=list)
    training_start = models.DateTimeField()
    training_end = models.DateTimeField(help_text="Trained on hours before this moment.")
    backtest_metrics = models.JSONField(default=dict, help_text="Validation backtest of every candidate.")
    stay_model = models.JSONField(default=dict, help_text="Length of stay used for census forecasts.")
    artifact = models.BinaryField()
    artifact_sha256 = models.CharField(max_length=64)
    is_active = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["department", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["department", "version"], name="forecastmodel_unique_version"),
            models.UniqueConstraint(
                fields=["department"], condition=Q(is_active=True), name="forecastmodel_one_active_per_department"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.department_id} v{self.version} ({self.algorithm})"

    def artifact_intact(self) -> bool:
        return hashlib.sha256(bytes(self.artifact)).hexdigest() == self.artifact_sha256


class ForecastStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class Forecast(models.Model):
    """A forecast job and, once it succeeded, its hourly points.

    points: [{hour, arrivals_mean, arrivals_lower, arrivals_upper, census_mean, census_lower,
    census_upper}] for the hours issued_at .. issued_at + horizon_hours - 1 (UTC).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="forecasts")
    model = models.ForeignKey(ForecastModel, on_delete=models.PROTECT, related_name="forecasts", null=True, blank=True)
    issued_at = models.DateTimeField(help_text="Start of the first forecast hour; only earlier data was used.")
    horizon_hours = models.PositiveSmallIntegerField()
    confidence_level = models.FloatField()
    points = models.JSONField(default=list, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=16, choices=ForecastStatus.choices, default=ForecastStatus.QUEUED)
    failure_reason = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # The Celery message of the latest start: a second message for the same job must not run it meanwhile.
    task_id = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(horizon_hours__gte=1) & Q(horizon_hours__lte=168), name="forecast_horizon_1_168"
            ),
            models.CheckConstraint(
                condition=Q(confidence_level__gte=0.5) & Q(confidence_level__lte=0.99),
                name="forecast_confidence_range",
            ),
            models.CheckConstraint(condition=Q(status__in=ForecastStatus.values), name="forecast_status_valid"),
        ]
        indexes = [models.Index(fields=["department", "status", "-issued_at"], name="forecast_latest")]

    def __str__(self) -> str:
        return f"{self.department_id} {self.issued_at:%Y-%m-%d %H:00} +{self.horizon_hours}h ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in (ForecastStatus.SUCCEEDED, ForecastStatus.FAILED)
