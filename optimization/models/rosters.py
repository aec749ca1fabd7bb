"""Rosters of named nurses (the solver's job and its shifts), call-ins offered to nurses, and
nurses who volunteer to go home early."""

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

from healthcare.encounters.models import Department
from optimization.models.staff import Nurse
from optimization.models.staffing import DutyChange, RunStatus

# A roster covers whole days: at least a week, at most twelve.
ROSTER_DAYS = (7, 84)
# A solve stays well inside a job's time limit (CELERY_JOB_TIME_LIMIT, at least 60 s).
ROSTER_SECONDS_MAX = 50


class NamedRoster(models.Model):
    """A roster of named nurses for a department's days first_day .. first_day + days - 1.

    It is a job (queued, running, then succeeded or failed with the reason) whose result is its
    shifts; a succeeded roster is a proposal until someone puts it in force. `cover` holds the
    nurses wanted per day and shift ("day:code" -> nurses) that it was solved against. A repair
    (`repair_of`) re-solves the roster in force after a sick call with as few changes as pay.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="named_rosters")
    first_day = models.DateField()
    days = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(ROSTER_DAYS[0]), MaxValueValidator(ROSTER_DAYS[1])]
    )
    seconds = models.PositiveSmallIntegerField(
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(ROSTER_SECONDS_MAX)],
        help_text="The solver's time limit (CP-SAT's deterministic seconds).",
    )
    seed = models.PositiveIntegerField(default=0, help_text="The same seed gives the same roster.")
    repair_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="repairs", help_text="Repairs this one."
    )
    repair_from_day = models.DateField(null=True, blank=True, help_text="Days before this one are kept.")
    note = models.CharField(max_length=200, blank=True)
    # The hours its days' shifts span (UTC): the first shift's start to the last shift's end.
    covers_from = models.DateTimeField()
    covers_until = models.DateTimeField()
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)
    failure_reason = models.TextField(blank=True)
    progress = models.FloatField(default=0.0, help_text="Share of the time limit used so far.")
    cover = models.JSONField(default=dict, blank=True)
    cover_source = models.CharField(max_length=200, blank=True)
    solver_status = models.CharField(max_length=16, blank=True, help_text="optimal or feasible")
    objective = models.FloatField(null=True, blank=True)
    bound = models.FloatField(null=True, blank=True)
    penalty = models.IntegerField(null=True, blank=True, help_text="Requests refused and cover missed, weighted.")
    changes = models.PositiveIntegerField(null=True, blank=True, help_text="Cells changed by a repair.")
    attempts = models.PositiveSmallIntegerField(default=0)
    task_id = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # In force from this hour on (the shift on duty when it was put in force keeps its nurses).
    in_force_from = models.DateTimeField(null=True, blank=True)
    put_in_force_at = models.DateTimeField(null=True, blank=True)
    put_in_force_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=RunStatus.values), name="namedroster_status_valid"),
            models.CheckConstraint(
                condition=Q(days__gte=ROSTER_DAYS[0], days__lte=ROSTER_DAYS[1]), name="namedroster_days_range"
            ),
            models.CheckConstraint(
                condition=Q(in_force_from__isnull=True) | Q(status=RunStatus.SUCCEEDED, put_in_force_at__isnull=False),
                name="namedroster_in_force_succeeded",
            ),
        ]
        indexes = [
            models.Index(fields=["department", "-created_at"], name="namedroster_recent"),
            models.Index(fields=["department", "put_in_force_at"], name="namedroster_in_force"),
        ]

    def __str__(self) -> str:
        kind = "repair" if self.repair_of_id else "roster"
        return f"{self.department_id} {kind} from {self.first_day} ({self.days} days, {self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in (RunStatus.SUCCEEDED, RunStatus.FAILED)

    @property
    def gap(self) -> float | None:
        """(objective - bound) / objective: 0 when proven optimal, None before a roster is found."""
        if self.objective is None or self.bound is None:
            return None
        if self.objective <= 0:
            return 0.0
        return max(self.objective - self.bound, 0.0) / self.objective

    @property
    def gap_percent(self) -> float | None:
        return None if self.gap is None else round(100 * self.gap, 1)


class RosterShift(models.Model):
    """One nurse's shift on one day of a named roster, with its hours (UTC) as the department's clock gives them."""

    roster = models.ForeignKey(NamedRoster, on_delete=models.CASCADE, related_name="shifts")
    nurse = models.ForeignKey(Nurse, on_delete=models.PROTECT, related_name="roster_shifts")
    day = models.DateField()
    shift = models.CharField(max_length=8)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()

    class Meta:
        ordering = ["starts_at", "nurse"]
        constraints = [
            models.UniqueConstraint(fields=["roster", "nurse", "day"], name="rostershift_one_a_day"),
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="rostershift_ends_after_start"),
        ]
        indexes = [
            models.Index(fields=["roster", "starts_at"], name="rostershift_roster_start"),
            models.Index(fields=["nurse", "starts_at"], name="rostershift_nurse_start"),
        ]

    def __str__(self) -> str:
        return f"{self.nurse} {self.shift} on {self.day}"


class OfferStatus(models.TextChoices):
    OFFERED = "offered", "Offered"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"
    WITHDRAWN = "withdrawn", "Withdrawn"


class CallInOffer(models.Model):
    """A call-in offered to a named nurse for hours starts_at .. ends_at; she accepts or declines.

    Accepting records the call-in (`duty_change`); the offer keeps why she was asked: the cost
    class (on-call, overtime) and her call-ins over recent weeks at the time.
    """

    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="call_in_offers")
    nurse = models.ForeignKey(Nurse, on_delete=models.PROTECT, related_name="call_in_offers")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=OfferStatus.choices, default=OfferStatus.OFFERED)
    pay = models.CharField(max_length=16, help_text="on-call or overtime, as ranked when offered")
    cost = models.FloatField(help_text="In rostered nurse-hours, as ranked when offered.")
    recent_call_ins = models.PositiveSmallIntegerField(default=0)
    offered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    offered_at = models.DateTimeField(auto_now_add=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    duty_change = models.OneToOneField(
        DutyChange, on_delete=models.PROTECT, null=True, blank=True, related_name="offer"
    )

    class Meta:
        ordering = ["-offered_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=OfferStatus.values), name="callinoffer_status_valid"),
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="callinoffer_ends_after_start"),
            models.CheckConstraint(
                condition=~Q(status=OfferStatus.ACCEPTED) | Q(duty_change__isnull=False),
                name="callinoffer_accepted_recorded",
            ),
        ]
        indexes = [models.Index(fields=["nurse", "status"], name="callinoffer_nurse_status")]

    def __str__(self) -> str:
        return f"{self.nurse} called in {self.starts_at:%Y-%m-%d %H:00} ({self.status})"


class ReleaseVolunteer(models.Model):
    """A nurse who would go home early from her shift of `day` if the unit can spare her."""

    nurse = models.ForeignKey(Nurse, on_delete=models.CASCADE, related_name="release_volunteering")
    day = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["day", "created_at"]
        constraints = [models.UniqueConstraint(fields=["nurse", "day"], name="releasevolunteer_one_a_day")]

    def __str__(self) -> str:
        return f"{self.nurse} volunteers to leave early on {self.day}"
