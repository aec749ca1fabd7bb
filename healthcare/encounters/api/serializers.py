"""Output serializers list their fields explicitly; input serializers only validate shape."""

from zoneinfo import available_timezones

from django.conf import settings
from django.db import models
from rest_framework import serializers

from healthcare.encounters.choices import EncounterStatus
from healthcare.encounters.models import Department, Encounter, WorkloadHour, source_validator
from healthcare.hours import iso_utc
from healthcare.private_pieces import private_piece_enabled
from healthcare.serializer_fields import TextField


class AwareDateTimeField(serializers.DateTimeField):
    """ISO 8601 date-time that must carry its UTC offset: an integrator's local time is ambiguous."""

    def enforce_timezone(self, value):
        if value.tzinfo is None:
            raise serializers.ValidationError("Include a UTC offset, e.g. 2024-03-01T14:00:00Z or +01:00.")
        return super().enforce_timezone(value)


def department_choices(result, generator, request, public):
    """drf-spectacular postprocessing hook: a department's time zone and holiday country are one of a
    known list (the IANA zones this Python has; the holidays package's countries, or blank)."""
    import holidays

    zones = sorted(available_timezones())
    countries = ["", *sorted(holidays.list_supported_countries())]
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.startswith(("Department", "PatchedDepartment")):
            properties = component.get("properties", {})
            if "timezone" in properties:
                properties["timezone"] = {**properties["timezone"], "enum": zones}
            if "holiday_country" in properties:
                properties["holiday_country"] = {**properties["holiday_country"], "enum": countries}
            for field in ("timezone", "holiday_country"):
                properties.get(field, {}).pop("pattern", None)
    return result


class DepartmentSerializer(serializers.ModelSerializer):
    """A department and its staffing rules."""

    serializer_field_mapping = {**serializers.ModelSerializer.serializer_field_mapping, models.CharField: TextField}

    class Meta:
        model = Department
        fields = [
            "id",
            "code",
            "name",
            "unit_type",
            "patients_per_nurse",
            "min_nurses",
            "los_median_hours",
            "los_sigma",
            "timezone",
            "holiday_country",
            "created_at",
            "updated_at",
        ]
        # id: what the lists' department_id filter takes; code is the identity integrations use.
        read_only_fields = ["id", "created_at", "updated_at"]


class DepartmentCreateSerializer(DepartmentSerializer):
    """Fields left out take the defaults of the unit type."""

    class Meta(DepartmentSerializer.Meta):
        extra_kwargs = {
            "patients_per_nurse": {"required": False},
            "min_nurses": {"required": False},
            "los_median_hours": {"required": False},
            "los_sigma": {"required": False},
            "timezone": {"required": False},
            "holiday_country": {"required": False},
        }


class DepartmentUpdateSerializer(DepartmentSerializer):
    """The code is a department's identity in every integration: it cannot change."""

    class Meta(DepartmentSerializer.Meta):
        read_only_fields = ["id", "code", "created_at", "updated_at"]


class EncounterSerializer(serializers.ModelSerializer):
    """An encounter without its patient: the pseudonym never leaves the database.

    Serializes rows annotated by selectors.with_department_code, as the viewset reads them.
    """

    department = serializers.CharField(source="department_code", read_only=True, help_text="Department code.")
    length_of_stay_hours = serializers.SerializerMethodField()

    class Meta:
        model = Encounter
        fields = [
            "id",
            "source",
            "source_id",
            "department",
            "encounter_class",
            "status",
            "start",
            "end",
            "length_of_stay_hours",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_length_of_stay_hours(self, encounter: Encounter) -> float | None:
        stay = encounter.length_of_stay
        return round(stay.total_seconds() / 3600, 3) if stay is not None else None

    def to_representation(self, encounter: Encounter) -> dict:
        if not private_piece_enabled("representation"):
            return super().to_representation(encounter)
        # A list answers up to 1000 of these: written by hand, exactly as the declared fields would
        # (tests compare the two), as DRF's field by field costs a page much more (docs/performance.md).
        return {
            "id": encounter.id,
            "source": encounter.source,
            "source_id": encounter.source_id,
            "department": encounter.department_code,
            "encounter_class": encounter.encounter_class,
            "status": encounter.status,
            "start": iso_utc(encounter.start),
            "end": iso_utc(encounter.end) if encounter.end is not None else None,
            "length_of_stay_hours": self.get_length_of_stay_hours(encounter),
            "created_at": iso_utc(encounter.created_at),
            "updated_at": iso_utc(encounter.updated_at),
        }


class EncounterInputSerializer(serializers.Serializer):
    """One encounter of a batch. patient is the source's id; only its pseudonym is stored."""

    id = TextField(max_length=128, help_text="The encounter's id in the source system.")
    patient = TextField(max_length=128, write_only=True)
    department = TextField(max_length=16, help_text="Department code, e.g. ED.")
    encounter_class = TextField(max_length=32, help_text="e.g. EMER, IMP, emergency.")
    status = serializers.ChoiceField(choices=EncounterStatus.choices)
    start = AwareDateTimeField()
    end = AwareDateTimeField(required=False, allow_null=True, default=None)

    def validate_department(self, value: str) -> str:
        return value.strip().upper()

    def validate(self, attrs):
        if attrs["end"] is not None and attrs["end"] < attrs["start"]:
            raise serializers.ValidationError({"end": "must not be before start."})
        return attrs


class EncounterBatchSerializer(serializers.Serializer):
    """POST /encounters/batch/: one sending system's encounters, validated record by record."""

    source = TextField(
        max_length=32,
        validators=[source_validator],
        help_text="Name of the sending system; (source, id) identifies an encounter across batches.",
    )
    encounters = EncounterInputSerializer(
        many=True, allow_empty=False, min_length=1, max_length=settings.ENCOUNTER_BATCH_MAX
    )


class IngestSummarySerializer(serializers.Serializer):
    """What a batch did."""

    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    workload_hours_written = serializers.IntegerField()
    workload_hours_deleted = serializers.IntegerField()
    notes = serializers.ListField(child=serializers.CharField())


class WorkloadHourSerializer(serializers.ModelSerializer):
    """One department's arrivals, discharges and census in one UTC hour (rows annotated by
    selectors.with_department_code)."""

    department = serializers.CharField(source="department_code", read_only=True, help_text="Department code.")

    class Meta:
        model = WorkloadHour
        fields = ["department", "hour", "arrivals", "discharges", "census"]
        read_only_fields = fields

    def to_representation(self, row: WorkloadHour) -> dict:
        if not private_piece_enabled("representation"):
            return super().to_representation(row)
        # By hand for the same reason as EncounterSerializer's, and tested against the declared fields.
        return {
            "department": row.department_code,
            "hour": iso_utc(row.hour),
            "arrivals": row.arrivals,
            "discharges": row.discharges,
            "census": row.census,
        }


class EventInputSerializer(serializers.Serializer):
    """One live event. admit needs department and patient; transfer needs department."""

    event_id = TextField(max_length=128, help_text="Unique per source: a resent event is skipped.")
    kind = serializers.ChoiceField(choices=["admit", "discharge", "transfer"])
    encounter_id = TextField(max_length=120, help_text="The encounter's id in the source system.")
    occurred_at = AwareDateTimeField()
    department = TextField(max_length=16, required=False, default="")
    patient = TextField(max_length=128, required=False, default="", write_only=True)
    encounter_class = TextField(max_length=32, required=False, default="live")

    def validate_department(self, value: str) -> str:
        return value.strip().upper()

    def validate(self, attrs):
        if attrs["kind"] in ("admit", "transfer") and not attrs["department"]:
            raise serializers.ValidationError({"department": f"is required to {attrs['kind']}."})
        if attrs["kind"] == "admit" and not attrs["patient"]:
            raise serializers.ValidationError({"patient": "is required to admit."})
        return attrs


class EventBatchSerializer(serializers.Serializer):
    source = TextField(max_length=32, validators=[source_validator])
    events = EventInputSerializer(many=True, allow_empty=False, min_length=1, max_length=settings.ENCOUNTER_BATCH_MAX)


class EventSummarySerializer(serializers.Serializer):
    applied = serializers.IntegerField(help_text="Events applied now.")
    duplicates = serializers.IntegerField(help_text="Events already received before (skipped).")
    workload_hours_written = serializers.IntegerField()
