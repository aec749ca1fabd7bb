"""One FilterSet per list endpoint; departments by code or by id."""

import django_filters

from healthcare.encounters.api.filters import DepartmentIdFilter, FilterSet, UtcDateTimeFilter
from predictions.models import Algorithm, Forecast, ForecastModel, ForecastStatus


class ForecastFilterSet(FilterSet):
    department = django_filters.CharFilter(field_name="department__code", help_text="Department code.")
    department_id = DepartmentIdFilter()
    status = django_filters.ChoiceFilter(choices=ForecastStatus.choices)
    issued_after = UtcDateTimeFilter(field_name="issued_at", lookup_expr="gte")

    class Meta:
        model = Forecast
        fields = ["department", "department_id", "status", "issued_after"]


class ForecastModelFilterSet(FilterSet):
    department = django_filters.CharFilter(field_name="department__code", help_text="Department code.")
    department_id = DepartmentIdFilter()
    algorithm = django_filters.ChoiceFilter(choices=Algorithm.choices)

    class Meta:
        model = ForecastModel
        fields = ["department", "department_id", "algorithm", "is_active"]
