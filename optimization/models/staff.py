"""Named staff: nurses, the contracts they work under, their leave and shift requests, and skill cover."""

import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q

from healthcare.encounters.models import Department

skill_code_validator = RegexValidator(
    r"^[a-z][a-z0-9-]{0,31}$", "Use 1-32 lower-case letters, digits or '-' (e.g. rn, charge, paediatric)."
)
shift_code_validator = RegexValidator(r"^[A-Z][A-Z0-9]{0,7}$", "A shift code such as D, E or N (capital letters).")


class Skill(models.Model):
    """Something a nurse is qualified for, that a shift may need (RN, charge, paediatric, trauma...)."""

    code = models.CharField(max_length=32, unique=True, validators=[skill_code_validator])
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


def validate_max_shifts(value) -> None:
    if not isinstance(value, dict) or not value:
        raise ValidationError('Give the most shifts of each type, e.g. {"D": 20, "E": 20, "N": 8}.')
    for code, limit in value.items():
        shift_code_validator(code)
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
            raise ValidationError(f"max_shifts[{code}]: a whole number of shifts, at least 0")


class Contract(models.Model):
    """The labour rules a nurse works under, over each roster period of `period_days` days.

    A run of worked days is between min_consecutive and max_consecutive days long; a run of days
    off between two worked days at least min_days_off; after a shift, the next day's shift must
    leave min_rest_hours of rest. A weekend is worked if its Saturday or Sunday is.
    """

    name = models.CharField(max_length=100, unique=True)
    period_days = models.PositiveSmallIntegerField(default=28, validators=[MinValueValidator(7), MaxValueValidator(84)])
    min_minutes = models.PositiveIntegerField(help_text="Fewest minutes worked in a period.")
    max_minutes = models.PositiveIntegerField(help_text="Most minutes worked in a period.")
    max_shifts = models.JSONField(
        validators=[validate_max_shifts],
        help_text='Most shifts of each type in a period, e.g. {"D": 20, "E": 20, "N": 8}; a type left out is never '
        "worked.",
    )
    max_consecutive = models.PositiveSmallIntegerField(default=5, validators=[MinValueValidator(1)])
    min_consecutive = models.PositiveSmallIntegerField(default=2, validators=[MinValueValidator(1)])
    min_days_off = models.PositiveSmallIntegerField(default=2, validators=[MinValueValidator(1)])
    max_weekends = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Blank: no limit.")
    min_rest_hours = models.PositiveSmallIntegerField(default=11, validators=[MaxValueValidator(24)])

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(min_minutes__lte=F("max_minutes")), name="contract_minutes_ordered"),
            models.CheckConstraint(
                condition=Q(min_consecutive__lte=F("max_consecutive")), name="contract_consecutive_ordered"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors = {}
        if self.min_minutes is not None and self.max_minutes is not None and self.min_minutes > self.max_minutes:
            errors["min_minutes"] = "at most max_minutes"
        if (
            self.min_consecutive is not None
            and self.max_consecutive is not None
            and self.min_consecutive > self.max_consecutive
        ):
            errors["min_consecutive"] = "at most max_consecutive"
        if errors:
            raise ValidationError(errors)


def calendar_token_new() -> str:
    return secrets.token_urlsafe(32)


class Nurse(models.Model):
    """A nurse who can be rostered: where she works, what she may do, and under which contract."""

    employee_number = models.CharField(max_length=32, unique=True)
    display_name = models.CharField(max_length=100)
    home_department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="nurses")
    float_departments = models.ManyToManyField(
        Department, blank=True, related_name="float_nurses", help_text="Departments she may float to."
    )
    skills = models.ManyToManyField(Skill, blank=True, related_name="nurses")
    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="nurses")
    fixed_days_off = models.JSONField(
        default=list, blank=True, help_text="Weekdays never worked: 0 Monday .. 6 Sunday, e.g. [5, 6]."
    )
    takes_oncall = models.BooleanField(default=True, help_text="May be called in from on-call.")
    takes_overtime = models.BooleanField(default=True, help_text="May work beyond her contract's minutes.")
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="nurse",
        help_text="The account she signs in with, for her own page.",
    )
    is_active = models.BooleanField(default=True)
    # The secret in her calendar feed's address: calendar apps cannot sign in.
    calendar_token = models.CharField(max_length=64, unique=True, default=calendar_token_new, editable=False)

    class Meta:
        ordering = ["home_department", "display_name"]
        indexes = [models.Index(fields=["home_department", "is_active"], name="nurse_department_active")]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.employee_number})"

    def clean(self) -> None:
        days = self.fixed_days_off
        if not isinstance(days, list) or any(not isinstance(day, int) or not 0 <= day <= 6 for day in days):
            raise ValidationError({"fixed_days_off": "a list of weekdays 0 (Monday) .. 6 (Sunday)"})


class Leave(models.Model):
    """Days a nurse is away (annual leave, training, sick), first and last day included."""

    nurse = models.ForeignKey(Nurse, on_delete=models.CASCADE, related_name="leave")
    first_day = models.DateField()
    last_day = models.DateField()
    reason = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["nurse", "first_day"]
        verbose_name_plural = "leave"
        constraints = [models.CheckConstraint(condition=Q(last_day__gte=F("first_day")), name="leave_last_after_first")]

    def __str__(self) -> str:
        return f"{self.nurse} away {self.first_day} - {self.last_day}"


class ShiftRequest(models.Model):
    """A nurse asks to work a shift on a day (wanted) or not to; a request not met costs its weight."""

    nurse = models.ForeignKey(Nurse, on_delete=models.CASCADE, related_name="shift_requests")
    day = models.DateField()
    shift = models.CharField(max_length=8, validators=[shift_code_validator])
    wanted = models.BooleanField(default=True)
    weight = models.PositiveSmallIntegerField(default=1, validators=[MinValueValidator(1), MaxValueValidator(10)])
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["day", "nurse"]
        constraints = [
            models.UniqueConstraint(fields=["nurse", "day", "shift"], name="shiftrequest_one_per_shift"),
            models.CheckConstraint(condition=Q(weight__gte=1), name="shiftrequest_weight_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.nurse} {'wants' if self.wanted else 'not'} {self.shift} on {self.day}"


class SkillCover(models.Model):
    """The skill mix of a department: at least `nurses` with the skill on every shift."""

    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="skill_cover")
    skill = models.ForeignKey(Skill, on_delete=models.PROTECT, related_name="+")
    nurses = models.PositiveSmallIntegerField(default=1, validators=[MinValueValidator(1)])
    weight = models.PositiveIntegerField(
        default=100, validators=[MinValueValidator(1)], help_text="Penalty per shift and nurse short of the skill."
    )

    class Meta:
        ordering = ["department", "skill"]
        verbose_name_plural = "skill cover"
        constraints = [models.UniqueConstraint(fields=["department", "skill"], name="skillcover_one_per_skill")]

    def __str__(self) -> str:
        return f"{self.department_id}: {self.nurses} {self.skill_id} per shift"
