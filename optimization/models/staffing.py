"""Staffing rules per department, versioned real-time policies, and optimization runs."""

import hashlib
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from healthcare.encounters.models import Department
from optimization.rules import DEFAULT_RISK_THRESHOLD, Shift, StaffingRules


def default_shifts() -> list[list[int]]:
    return [[7, 8], [15, 8], [23, 8]]


class StaffingRuleSet(models.Model):
    """How a department may be staffed and what it costs (the ratio and minimum are on the department)."""

    department = models.OneToOneField(Department, on_delete=models.CASCADE, related_name="staffing_rules")
    shifts = models.JSONField(
        default=default_shifts,
        help_text="Shift patterns as [start hour (local), hours]: [[7, 8], [15, 8], [23, 8]] or [[7, 12], [19, 12]].",
    )
    nurse_hour_cost = models.FloatField(default=1.0, validators=[MinValueValidator(0.01)])
    oncall_premium = models.FloatField(
        default=1.5, validators=[MinValueValidator(1.0)], help_text="An on-call hour costs this many rostered hours."
    )
    oncall_lead_hours = models.PositiveSmallIntegerField(default=2, validators=[MaxValueValidator(12)])
    oncall_block_hours = models.PositiveSmallIntegerField(
        default=4, validators=[MinValueValidator(1), MaxValueValidator(12)]
    )
    oncall_cap_per_day = models.PositiveSmallIntegerField(default=4, help_text="On-call nurses available per day.")
    release_saving = models.FloatField(
        default=0.5,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Share of a released hour's cost that is saved.",
    )
    overtime_premium = models.FloatField(
        default=1.5,
        validators=[MinValueValidator(1.0)],
        help_text="An hour beyond a nurse's contract costs this many rostered hours.",
    )
    agency_premium = models.FloatField(
        default=2.5,
        validators=[MinValueValidator(1.0)],
        help_text="An agency nurse's hour costs this many rostered hours (when no nurse of ours can come).",
    )
    release_floor = models.PositiveSmallIntegerField(
        default=0, help_text="Never release below this many nurses on duty (the minimum always holds)."
    )
    understaffed_penalty = models.FloatField(
        default=10.0,
        validators=[MinValueValidator(0.01)],
        help_text="Cost of one patient-hour beyond the ratio, in rostered nurse-hours.",
    )
    risk_threshold = models.FloatField(
        default=DEFAULT_RISK_THRESHOLD,
        validators=[MinValueValidator(0.01), MaxValueValidator(0.99)],
        help_text="A coming hour is at risk when it is left short with a probability above this.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "staffing rules"
        verbose_name_plural = "staffing rules"

    def __str__(self) -> str:
        return f"Staffing rules of {self.department_id}"

    def clean(self) -> None:
        try:
            self.to_rules(self.department)
        except (ValueError, TypeError) as exc:
            raise ValidationError({"shifts": str(exc)}) from None

    def to_rules(self, department: Department) -> StaffingRules:
        """The plain rules the optimizer uses. Raises ValueError naming what is wrong."""
        try:
            shifts = tuple(Shift(int(start), int(hours)) for start, hours in self.shifts)
        except (TypeError, ValueError):
            raise ValueError("shifts: give a list of [start hour, hours] pairs") from None
        return StaffingRules(
            patients_per_nurse=department.patients_per_nurse,
            min_nurses=department.min_nurses,
            shifts=shifts,
            nurse_hour_cost=self.nurse_hour_cost,
            oncall_premium=self.oncall_premium,
            oncall_lead_hours=self.oncall_lead_hours,
            oncall_block_hours=self.oncall_block_hours,
            oncall_cap_per_day=self.oncall_cap_per_day,
            release_saving=self.release_saving,
            release_floor=self.release_floor,
            understaffed_penalty=self.understaffed_penalty,
        )


class PolicyAlgorithm(models.TextChoices):
    PPO = "ppo", "PPO (learned)"
    RULE = "rule", "Two-threshold reactive rule"


class StaffingPolicy(models.Model):
    """One trained version of a department's real-time policy (with the roster quantile it plans with).

    A PPO version carries its network as a stable-baselines3 zip; a rule version only its
    thresholds. At most one version per department is active.
    """

    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="staffing_policies")
    version = models.PositiveIntegerField()
    algorithm = models.CharField(max_length=16, choices=PolicyAlgorithm.choices)
    parameters = models.JSONField(default=dict, help_text="Roster quantile (z), rule thresholds, shield.")
    hyperparameters = models.JSONField(default=dict)
    training_start = models.DateTimeField()
    training_end = models.DateTimeField(help_text="Trained and tuned on weeks before this moment.")
    metrics = models.JSONField(default=dict, help_text="Tuning table and held-out comparison with the rule.")
    artifact = models.BinaryField(blank=True, default=b"")
    artifact_sha256 = models.CharField(max_length=64, blank=True)
    is_active = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["department", "-version"]
        verbose_name_plural = "staffing policies"
        constraints = [
            models.UniqueConstraint(fields=["department", "version"], name="staffingpolicy_unique_version"),
            models.UniqueConstraint(
                fields=["department"], condition=Q(is_active=True), name="staffingpolicy_one_active_per_department"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.department_id} policy v{self.version} ({self.algorithm})"

    def artifact_intact(self) -> bool:
        return hashlib.sha256(bytes(self.artifact)).hexdigest() == self.artifact_sha256


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class OptimizationRun(models.Model):
    """A staffing plan job: its request, status, result and timings."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="optimization_runs")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    params = models.JSONField(default=dict)
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)
    failure_reason = models.TextField(blank=True)
    result = models.JSONField(default=dict, blank=True)
    timings = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # The Celery message of the latest start: a second message for the same job must not run it meanwhile.
    task_id = models.CharField(max_length=64, blank=True, default="")
    planned_from = models.DateTimeField(help_text="First hour of the plan (the hour it was requested in).")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # A plan is only a proposal until someone puts it in force; then its hours from in_force_from on
    # are the roster that "on duty" reads (optimization.on_duty.plan_put_in_force).
    in_force_from = models.DateTimeField(null=True, blank=True)
    put_in_force_at = models.DateTimeField(null=True, blank=True)
    put_in_force_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=RunStatus.values), name="optimizationrun_status_valid"),
            models.CheckConstraint(
                condition=Q(in_force_from__isnull=True) | Q(status=RunStatus.SUCCEEDED, put_in_force_at__isnull=False),
                name="optimizationrun_in_force_succeeded",
            ),
        ]
        indexes = [
            models.Index(fields=["department", "-created_at"], name="optimizationrun_recent"),
            models.Index(fields=["department", "put_in_force_at"], name="optimizationrun_in_force"),
        ]

    def __str__(self) -> str:
        return f"{self.department_id} plan {self.planned_from:%Y-%m-%d %H:00} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in (RunStatus.SUCCEEDED, RunStatus.FAILED)


class DutyChangeKind(models.TextChoices):
    CALL_IN = "call_in", "Call-in confirmed"
    RELEASE = "release", "Released early"
    ABSENCE = "absence", "Absent (sick call)"


class DutyChange(models.Model):
    """A recorded change to who is on duty: nurses called in, sent home or absent for whole hours.

    The hours starts_at .. ends_at (on the hour, end excluded) are changed by `nurses`: added for a
    call-in, taken off the roster in force for a release or an absence. Rows are facts: they are
    never edited, and a mistake is corrected by cancelling the row (who and when are kept).
    """

    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="duty_changes")
    kind = models.CharField(max_length=16, choices=DutyChangeKind.choices)
    nurses = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(100)])
    nurse = models.ForeignKey(
        "optimization.Nurse",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="duty_changes",
        help_text="The nurse called in, released or absent, when one is named (then nurses is 1).",
    )
    starts_at = models.DateTimeField(help_text="First hour changed (on the hour).")
    ends_at = models.DateTimeField(help_text="The hour after the last one changed (on the hour).")
    note = models.CharField(max_length=200, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-recorded_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=DutyChangeKind.values), name="dutychange_kind_valid"),
            models.CheckConstraint(condition=Q(nurses__gte=1), name="dutychange_nurses_positive"),
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="dutychange_ends_after_start"),
            models.CheckConstraint(condition=Q(nurse__isnull=True) | Q(nurses=1), name="dutychange_named_is_one"),
        ]
        indexes = [
            models.Index(fields=["department", "starts_at"], name="dutychange_department_start"),
            models.Index(fields=["nurse", "kind", "starts_at"], name="dutychange_nurse_kind"),
        ]

    def __str__(self) -> str:
        if self.nurse_id:
            return f"{self.department_id} {self.get_kind_display()}: {self.nurse} from {self.starts_at:%Y-%m-%d %H:00}"
        return f"{self.department_id} {self.get_kind_display()}: {self.nurses} from {self.starts_at:%Y-%m-%d %H:00}"

    @property
    def signed_nurses(self) -> int:
        """Nurses this change adds to the roster in force in each of its hours (negative: takes off)."""
        return self.nurses if self.kind == DutyChangeKind.CALL_IN else -self.nurses
