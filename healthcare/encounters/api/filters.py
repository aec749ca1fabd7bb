"""One FilterSet per list endpoint; departments by code or by id."""

from datetime import UTC

import django_filters
from django import forms
from django.db.models import Subquery
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework.exceptions import ValidationError

from healthcare.encounters.choices import EncounterStatus, UnitType
from healthcare.encounters.models import Department, Encounter, WorkloadHour


class FilterSet(django_filters.FilterSet):
    """django-filter's FilterSet, stricter about values the schema would not allow."""

    def is_valid(self) -> bool:
        """Also refuses a filter given empty (`?start=`) unless it takes any text, and a yes/no filter
        given anything but true or false: the schema promises a value of its type, where django-filter
        would quietly not filter."""
        valid = super().is_valid()
        getlist = getattr(self.data, "getlist", None)
        for name in self.filters:
            values = getlist(name) if getlist is not None else [self.data.get(name)] if name in self.data else []
            filter_ = self.filters[name]
            if "" in values and not isinstance(filter_, django_filters.CharFilter):
                self.form.add_error(name, "Give a value, or leave the parameter out.")
                valid = False
            elif isinstance(filter_, django_filters.BooleanFilter) and set(values) - {"true", "false"}:
                self.form.add_error(name, "true or false.")  # django-filter would ignore any other word
                valid = False
        return valid


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    """An ISO 8601 moment, compared in UTC.

    Python accepts offsets up to 23:59 and PostgreSQL only up to 15:59: the moment is sent as
    UTC, and one that cannot be (a date at the end of time) is a 400 naming the field it filters.
    """

    def filter(self, qs, value):
        if value is not None:
            try:
                value = value.astimezone(UTC)
            except OverflowError:
                raise ValidationError({self.field_name: ["is out of range"]}) from None
        return super().filter(qs, value)


class DepartmentCodeFilter(django_filters.CharFilter):
    """A department by code, as the id it names: PostgreSQL then walks the (department, ...) indexes
    backwards and stops at the page, where a join on the code sorted every row of the department."""

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", "Department code.")
        super().__init__(field_name="department_id", **kwargs)

    def filter(self, qs, value):
        if value in django_filters.constants.EMPTY_VALUES:
            return qs
        return qs.filter(department_id=Subquery(Department.objects.filter(code=value).values("id")[:1]))


@extend_schema_field(OpenApiTypes.INT64)
class DepartmentIdFilter(django_filters.NumberFilter):
    """A department's id: a whole number a database column can hold. Beyond 64 bits SQLite raises
    instead of matching nothing; here such a value is a 400 naming the parameter."""

    field_class = forms.IntegerField

    def __init__(self, **kwargs):
        super().__init__(field_name="department_id", min_value=-(2**63), max_value=2**63 - 1, **kwargs)


class DepartmentFilterSet(FilterSet):
    unit_type = django_filters.ChoiceFilter(choices=UnitType.choices)

    class Meta:
        model = Department
        fields = ["unit_type"]


class EncounterFilterSet(FilterSet):
    department = DepartmentCodeFilter()
    department_id = DepartmentIdFilter()
    status = django_filters.ChoiceFilter(choices=EncounterStatus.choices)
    start_after = UtcDateTimeFilter(field_name="start", lookup_expr="gte")
    start_before = UtcDateTimeFilter(field_name="start", lookup_expr="lt")

    class Meta:
        model = Encounter
        fields = ["department", "department_id", "source", "source_id", "encounter_class", "status"]


class WorkloadHourFilterSet(FilterSet):
    department = DepartmentCodeFilter()
    department_id = DepartmentIdFilter()
    start = UtcDateTimeFilter(field_name="hour", lookup_expr="gte", help_text="First hour (inclusive).")
    end = UtcDateTimeFilter(field_name="hour", lookup_expr="lt", help_text="Last hour (exclusive).")

    class Meta:
        model = WorkloadHour
        fields = ["department", "department_id", "start", "end"]
