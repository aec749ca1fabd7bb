"""One FilterSet per list endpoint; departments by code or by id."""

import django_filters

from healthcare.encounters.choices import EncounterStatus, UnitType
from healthcare.encounters.models import Department, Encounter, WorkloadHour


class DepartmentFilterSet(django_filters.FilterSet):
    unit_type = django_filters.ChoiceFilter(choices=UnitType.choices)

    class Meta:
        model = Department
        fields = ["unit_type"]


class EncounterFilterSet(django_filters.FilterSet):
    department = django_filters.CharFilter(field_name="department__code", help_text="Department code.")
    department_id = django_filters.NumberFilter(field_name="department_id")
    status = django_filters.ChoiceFilter(choices=EncounterStatus.choices)
    start_after = django_filters.IsoDateTimeFilter(field_name="start", lookup_expr="gte")
    start_before = django_filters.IsoDateTimeFilter(field_name="start", lookup_expr="lt")

    class Meta:
        model = Encounter
        fields = ["department", "department_id", "source", "source_id", "encounter_class", "status"]


class WorkloadHourFilterSet(django_filters.FilterSet):
    department = django_filters.CharFilter(field_name="department__code", help_text="Department code.")
    department_id = django_filters.NumberFilter(field_name="department_id")
    start = django_filters.IsoDateTimeFilter(field_name="hour", lookup_expr="gte", help_text="First hour (inclusive).")
    end = django_filters.IsoDateTimeFilter(field_name="hour", lookup_expr="lt", help_text="Last hour (exclusive).")

    class Meta:
        model = WorkloadHour
        fields = ["department", "department_id", "start", "end"]
