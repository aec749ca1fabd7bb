"""Departments, encounters, imported hourly arrival counts and the hourly workload.

Encounter and ArrivalCount are primary data (what came in); WorkloadHour is derived
from them by services.workload_rebuild() and can be rebuilt at any time.
"""

from datetime import timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q

from healthcare.encounters.choices import EncounterStatus, UnitType

department_code_validator = RegexValidator(
    r"^[A-Z0-9][A-Z0-9_-]{0,15}$",
    "Use 1-16 capital letters, digits, '-' or '_' (e.g. ED, ICU, MEDSURG-4).",
)
source_validator = RegexValidator(
    r"^[a-z0-9][a-z0-9._-]{0,31}$",
    "Use 1-32 lower-case letters, digits, '.', '-' or '_' (e.g. synthea-csv, epic-adt).",
)


def validate_timezone(value: str) -> None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"'{value}' is not an IANA time zone (e.g. America/Chicago).") from None
    if value not in available_timezones():  # the list the API's schema offers
        raise ValidationError(f"'{value}' is not an IANA time zone (e.g. America/Chicago).")


def validate_holiday_country(value: str) -> None:
    import holidays

    if value and value not in holidays.list_supported_countries():
        raise ValidationError(f"'{value}' is not a country code the holidays package knows (e.g. US, GB, DE).")


def default_timezone() -> str:
    return settings.HOSPITAL_TIME_ZONE


class Department(models.Model):
    """A hospital unit that is staffed to a nurse:patient ratio."""

    code = models.CharField(max_length=16, unique=True, validators=[department_code_validator])
    name = models.CharField(max_length=100)
    unit_type = models.CharField(max_length=16, choices=UnitType.choices)
    patients_per_nurse = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(12)],
        help_text="Mandated ratio: at most this many patients per nurse on duty.",
    )
    min_nurses = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1)], help_text="Nurses on duty at all times, however few patients."
    )
    los_median_hours = models.FloatField(
        "length-of-stay median (h)",
        validators=[MinValueValidator(0.1), MaxValueValidator(24 * 60)],
        help_text="Lognormal length-of-stay model, used where a stay has no recorded end.",
    )
    los_sigma = models.FloatField(
        "length-of-stay spread (σ of log)",
        validators=[MinValueValidator(0.05), MaxValueValidator(3.0)],
    )
    timezone = models.CharField(
        max_length=64,
        default=default_timezone,
        validators=[validate_timezone],
        help_text="IANA zone; naive timestamps in its hourly arrival counts are read in it.",
    )
    holiday_country = models.CharField(
        max_length=8,
        default="US",
        blank=True,
        validators=[validate_holiday_country],
        help_text="Country whose public holidays shape forecasts (ISO code, e.g. US); blank for none.",
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        related_name="departments",
        blank=True,
        help_text="Users who may see this department (admins see every department).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]
        permissions = [("view_all_departments", "Can see every department")]
        constraints = [
            models.CheckConstraint(condition=Q(patients_per_nurse__gte=1), name="department_ratio_positive"),
            models.CheckConstraint(condition=Q(min_nurses__gte=1), name="department_min_nurses_positive"),
            models.CheckConstraint(condition=Q(los_median_hours__gt=0), name="department_los_median_positive"),
            models.CheckConstraint(condition=Q(los_sigma__gt=0), name="department_los_sigma_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.name})"

    def nurses_required(self, census: int) -> int:
        """Nurses the ratio requires for a census: max(minimum, ceil(census / ratio))."""
        return max(self.min_nurses, -(-census // self.patients_per_nurse))


class Encounter(models.Model):
    """One patient's stay in one department, as a source system reported it.

    The patient is known only by a keyed pseudonym (HMAC of the source's patient id).
    """

    source = models.CharField(max_length=32, validators=[source_validator])
    source_id = models.CharField(max_length=128)
    patient_key = models.CharField(max_length=64, db_index=True, help_text="HMAC-SHA256 pseudonym of the patient.")
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="encounters")
    encounter_class = models.CharField(max_length=32, help_text="Class code as the source gave it.")
    status = models.CharField(max_length=16, choices=EncounterStatus.choices)
    start = models.DateTimeField()
    end = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-start"]
        constraints = [
            models.UniqueConstraint(fields=["source", "source_id"], name="encounter_unique_source_id"),
            models.CheckConstraint(
                condition=Q(end__isnull=True) | Q(end__gte=models.F("start")), name="encounter_end_after_start"
            ),
            models.CheckConstraint(condition=Q(status__in=EncounterStatus.values), name="encounter_status_valid"),
        ]
        indexes = [
            models.Index(fields=["department", "start"], name="encounter_department_start"),
            # The stays still running at an hour are found from their end: a live event rebuilds
            # the current hour without scanning the department's whole history.
            models.Index(fields=["department", "end"], name="encounter_department_end"),
            # The latest write per department: data freshness in /metrics and /api/v1/status.
            models.Index(fields=["department", "updated_at"], name="encounter_department_updated"),
            # A live event finds its encounter's open stay by source id or by the prefix of a transfer's
            # ("<id>/..."). LIKE 'prefix%' uses a btree only with the pattern operators (the database's
            # collation is not C): without this index each event read every open stay of its source.
            models.Index(
                fields=["source", "source_id"],
                name="encounter_source_id_prefix",
                opclasses=["varchar_pattern_ops", "varchar_pattern_ops"],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source}:{self.source_id}"

    @property
    def length_of_stay(self) -> timedelta | None:
        return self.end - self.start if self.end else None


class ArrivalCount(models.Model):
    """Arrivals in one hour, imported as a count (no encounter-level data behind it)."""

    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="arrival_counts")
    hour = models.DateTimeField(help_text="Start of the hour, UTC.")
    arrivals = models.PositiveIntegerField()
    source = models.CharField(max_length=255, help_text="File the count came from.")

    class Meta:
        ordering = ["department", "hour"]
        constraints = [
            models.UniqueConstraint(fields=["department", "hour"], name="arrivalcount_unique_hour"),
            models.CheckConstraint(condition=Q(arrivals__gte=0), name="arrivalcount_nonnegative"),
        ]

    def __str__(self) -> str:
        return f"{self.department_id} {self.hour:%Y-%m-%d %H:00}: {self.arrivals}"


class WorkloadHour(models.Model):
    """One department's patient flow in one hour (UTC), derived from encounters and counts.

    census counts every patient present at any time during the hour, because the ratio
    applies at all times. An hour without a row had no patient at all.
    """

    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="workload_hours")
    hour = models.DateTimeField(help_text="Start of the hour, UTC.")
    arrivals = models.PositiveIntegerField()
    discharges = models.PositiveIntegerField()
    census = models.PositiveIntegerField()

    class Meta:
        ordering = ["department", "hour"]
        # The unique index on (department, hour) also serves range reads of one department.
        constraints = [
            models.UniqueConstraint(fields=["department", "hour"], name="workloadhour_unique_hour"),
            models.CheckConstraint(
                condition=Q(arrivals__gte=0) & Q(discharges__gte=0) & Q(census__gte=0),
                name="workloadhour_nonnegative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.department_id} {self.hour:%Y-%m-%d %H:00}: census {self.census}"


class EventKind(models.TextChoices):
    ADMIT = "admit", "Admit"
    DISCHARGE = "discharge", "Discharge"
    TRANSFER = "transfer", "Transfer"


class PatientEvent(models.Model):
    """A live admit, discharge or transfer as an integrator sent it; (source, event_id) makes resending harmless."""

    source = models.CharField(max_length=32, validators=[source_validator])
    event_id = models.CharField(max_length=128)
    kind = models.CharField(max_length=16, choices=EventKind.choices)
    encounter_id = models.CharField(max_length=128, help_text="The encounter's id in the source system.")
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="events")
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at"]
        constraints = [
            models.UniqueConstraint(fields=["source", "event_id"], name="patientevent_unique_event_id"),
            models.CheckConstraint(condition=Q(kind__in=EventKind.values), name="patientevent_kind_valid"),
        ]
        indexes = [models.Index(fields=["source", "encounter_id"], name="patientevent_encounter")]

    def __str__(self) -> str:
        return f"{self.source}:{self.event_id} {self.kind}"


class Hl7Outcome(models.TextChoices):
    """HL7 table 0008 acknowledgement codes (original mode)."""

    ACCEPTED = "AA", "AA: accepted"
    ERROR = "AE", "AE: refused"
    REJECTED = "AR", "AR: unreadable"


class Hl7Message(models.Model):
    """One ADT message received over MLLP and how it was answered; never its text (it holds names).

    An accepted control id is stored once per source, which makes a resend a no-op.
    """

    source = models.CharField(max_length=32, validators=[source_validator])
    control_id = models.CharField(max_length=64, blank=True, help_text="MSH-10; empty when it could not be read.")
    message_type = models.CharField(max_length=16, blank=True, help_text="MSH-9, e.g. ADT^A01.")
    version = models.CharField(max_length=8, blank=True, help_text="MSH-12.")
    sender = models.CharField(max_length=128, blank=True, help_text="MSH-3^MSH-4.")
    visit = models.CharField(max_length=128, blank=True, help_text="PV1-19 (or PID-18): the encounter id.")
    outcome = models.CharField(max_length=2, choices=Hl7Outcome.choices)
    note = models.CharField(max_length=32, blank=True, help_text="What it did: applied, held, duplicate, ignored...")
    error = models.CharField(max_length=300, blank=True, help_text="Segment, field and reason of an AE or AR.")
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at"]
        verbose_name = "HL7 message"
        constraints = [
            models.UniqueConstraint(
                fields=["source", "control_id"],
                condition=Q(outcome="AA"),
                name="hl7message_unique_accepted",
            ),
            models.CheckConstraint(condition=Q(outcome__in=Hl7Outcome.values), name="hl7message_outcome_valid"),
        ]
        indexes = [models.Index(fields=["outcome", "received_at"], name="hl7message_outcome_received")]

    def __str__(self) -> str:
        return f"{self.source}:{self.control_id} {self.message_type} {self.outcome}"


class HeldAdtEvent(models.Model):
    """A discharge that arrived before its admission and could not be reconciled (no PV1-44).

    Applied, and deleted, when the admission of its visit arrives.
    """

    source = models.CharField(max_length=32, validators=[source_validator])
    visit = models.CharField(max_length=128)
    control_id = models.CharField(max_length=64)
    trigger = models.CharField(max_length=3)
    occurred_at = models.DateTimeField()
    patient_key = models.CharField(max_length=64, help_text="HMAC-SHA256 pseudonym of the patient.")
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["received_at"]
        verbose_name = "held ADT event"
        indexes = [models.Index(fields=["source", "visit"], name="heldadtevent_visit")]

    def __str__(self) -> str:
        return f"{self.source}:{self.visit} {self.trigger} held"
