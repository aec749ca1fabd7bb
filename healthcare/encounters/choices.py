"""Choices and per-unit-type defaults of the patient-flow models."""

from dataclasses import dataclass

from django.db import models


class UnitType(models.TextChoices):
    ED = "ed", "Emergency department"
    ICU = "icu", "Intensive care unit"
    STEPDOWN = "stepdown", "Step-down unit"
    TELEMETRY = "telemetry", "Telemetry unit"
    MEDSURG = "medsurg", "Medical-surgical ward"


class EncounterStatus(models.TextChoices):
    """FHIR R4 Encounter.status values."""

    PLANNED = "planned", "Planned"
    ARRIVED = "arrived", "Arrived"
    TRIAGED = "triaged", "Triaged"
    IN_PROGRESS = "in-progress", "In progress"
    ONLEAVE = "onleave", "On leave"
    FINISHED = "finished", "Finished"
    CANCELLED = "cancelled", "Cancelled"
    ENTERED_IN_ERROR = "entered-in-error", "Entered in error"
    UNKNOWN = "unknown", "Unknown"


# The patient is in the unit now: without an end time, they count until the current hour.
ACTIVE_STATUSES = frozenset({"arrived", "triaged", "in-progress", "onleave"})
# These never brought a patient to the unit, so they add nothing to the workload.
NOT_PRESENT_STATUSES = frozenset({"planned", "cancelled", "entered-in-error"})


@dataclass(frozen=True)
class UnitDefaults:
    """What a new department of a unit type starts with; admins adjust per department."""

    patients_per_nurse: int
    min_nurses: int
    los_median_hours: float
    los_sigma: float


# Ratios after California Title 22 (22 CCR 70217). Lengths of stay are typical
# medians with a lognormal spread; replace them with the unit's own figures.
UNIT_DEFAULTS: dict[str, UnitDefaults] = {
    UnitType.ED: UnitDefaults(patients_per_nurse=4, min_nurses=2, los_median_hours=3.5, los_sigma=0.7),
    UnitType.ICU: UnitDefaults(patients_per_nurse=2, min_nurses=2, los_median_hours=60.0, los_sigma=0.9),
    UnitType.STEPDOWN: UnitDefaults(patients_per_nurse=3, min_nurses=2, los_median_hours=60.0, los_sigma=0.8),
    UnitType.TELEMETRY: UnitDefaults(patients_per_nurse=4, min_nurses=2, los_median_hours=48.0, los_sigma=0.8),
    UnitType.MEDSURG: UnitDefaults(patients_per_nurse=5, min_nurses=2, los_median_hours=96.0, los_sigma=0.8),
}
