"""Named staff through the API: nurses, their leave and shift requests, contracts and skills.

Nurses, leave and requests are those of your departments (a nurse's home department); a nurse
named by employee number or a department by code outside them is unknown, as it is elsewhere.
"""

import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.validators import UniqueValidator

from healthcare.encounters.api.filters import FilterSet
from healthcare.encounters.api.permissions import ModelPermissions
from healthcare.encounters.selectors import departments_visible_to
from healthcare.serializer_fields import TextField
from optimization.models import Contract, Leave, Nurse, ShiftRequest, Skill
from optimization.models.staff import shift_code_validator
from optimization.services.staff import shift_code_check


class KeySlugField(serializers.SlugRelatedField):
    """A related row named by a key; a key PostgreSQL cannot hold (with NUL) names no row, like any unknown key."""

    def to_internal_value(self, data):
        if isinstance(data, str) and "\x00" in data:
            self.fail("does_not_exist", slug_name=self.slug_field, value=data.replace("\x00", "\\x00"))
        return super().to_internal_value(data)


class VisibleSlugField(KeySlugField):
    """A related row named by a key, among the rows the caller may see (others are unknown)."""

    def __init__(self, *, visible, **kwargs):
        self.visible = visible
        super().__init__(**kwargs)

    def get_queryset(self):
        return self.visible(self.context["request"].user)


def _departments(user):
    return departments_visible_to(user)


def _nurses(user):
    return Nurse.objects.filter(home_department__in=departments_visible_to(user))


class NurseSerializer(serializers.ModelSerializer):
    employee_number = TextField(max_length=32, validators=[UniqueValidator(queryset=Nurse.objects.all())])
    display_name = TextField(max_length=100)
    home_department = VisibleSlugField(slug_field="code", visible=_departments)
    float_departments = VisibleSlugField(slug_field="code", visible=_departments, many=True, required=False)
    skills = KeySlugField(slug_field="code", queryset=Skill.objects.all(), many=True, required=False)
    contract = KeySlugField(slug_field="name", queryset=Contract.objects.all())
    fixed_days_off = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=6), max_length=7, required=False
    )

    class Meta:
        model = Nurse
        fields = [
            "id",
            "employee_number",
            "display_name",
            "home_department",
            "float_departments",
            "skills",
            "contract",
            "fixed_days_off",
            "takes_oncall",
            "takes_overtime",
            "is_active",
        ]


class LeaveSerializer(serializers.ModelSerializer):
    nurse = VisibleSlugField(slug_field="employee_number", visible=_nurses)
    reason = TextField(max_length=100, required=False, allow_blank=True)

    class Meta:
        model = Leave
        fields = ["id", "nurse", "first_day", "last_day", "reason"]

    def validate(self, data):
        first = data.get("first_day", getattr(self.instance, "first_day", None))
        last = data.get("last_day", getattr(self.instance, "last_day", None))
        if first and last and last < first:
            raise ValidationError({"last_day": "on or after first_day"})
        return data


class ShiftRequestSerializer(serializers.ModelSerializer):
    nurse = VisibleSlugField(slug_field="employee_number", visible=_nurses)
    shift = TextField(max_length=8, validators=[shift_code_validator], help_text="A shift code: D, E, N...")

    class Meta:
        model = ShiftRequest
        fields = ["id", "nurse", "day", "shift", "wanted", "weight", "created_at"]
        read_only_fields = ["created_at"]


# OpenAPI 3.0 has no propertyNames: the shift codes' pattern is checked by the serializer (a 400 naming the code).
@extend_schema_field(
    {
        "type": "object",
        "minProperties": 1,
        "additionalProperties": {"type": "integer", "minimum": 0, "maximum": 366},
    }
)
class MaxShiftsField(serializers.DictField):
    """Shift code -> the most shifts of that type in a period."""


class ContractSerializer(serializers.ModelSerializer):
    name = TextField(max_length=100, validators=[UniqueValidator(queryset=Contract.objects.all())])
    max_shifts = MaxShiftsField(
        child=serializers.IntegerField(min_value=0, max_value=366),
        allow_empty=False,
        help_text='Most shifts of each type in a period, e.g. {"D": 20, "E": 20, "N": 8}.',
    )

    class Meta:
        model = Contract
        fields = [
            "id",
            "name",
            "period_days",
            "min_minutes",
            "max_minutes",
            "max_shifts",
            "max_consecutive",
            "min_consecutive",
            "min_days_off",
            "max_weekends",
            "min_rest_hours",
        ]
        extra_kwargs = {"min_minutes": {"max_value": 2**31 - 1}, "max_minutes": {"max_value": 2**31 - 1}}

    def validate_max_shifts(self, value):
        for code in value:
            shift_code_validator(code)
        return value

    def validate(self, data):
        def value(name):
            return data.get(name, getattr(self.instance, name, None))

        errors = {}
        for low, high in (("min_minutes", "max_minutes"), ("min_consecutive", "max_consecutive")):
            if None not in (value(low), value(high)) and value(low) > value(high):
                errors[low] = f"at most {high}"
        if errors:
            raise ValidationError(errors)
        return data


class SkillSerializer(serializers.ModelSerializer):
    class Meta:
        model = Skill
        fields = ["id", "code", "name"]


class NurseFilterSet(FilterSet):
    department = django_filters.CharFilter(field_name="home_department__code", help_text="Home department code.")
    is_active = django_filters.BooleanFilter()

    class Meta:
        model = Nurse
        fields = ["department", "is_active"]


class NurseRowFilterSet(FilterSet):
    nurse = django_filters.CharFilter(field_name="nurse__employee_number", help_text="Employee number.")
    department = django_filters.CharFilter(field_name="nurse__home_department__code", help_text="Department code.")


class LeaveFilterSet(NurseRowFilterSet):
    class Meta:
        model = Leave
        fields = ["nurse", "department"]


class ShiftRequestFilterSet(NurseRowFilterSet):
    class Meta:
        model = ShiftRequest
        fields = ["nurse", "department"]


class NurseViewSet(viewsets.ModelViewSet):
    """Nurses whose home is one of your departments; a workforce system or an admin keeps them."""

    serializer_class = NurseSerializer
    permission_classes = [ModelPermissions]
    filterset_class = NurseFilterSet
    queryset = Nurse.objects.none()  # the model of the permissions; rows: get_queryset()

    def get_queryset(self):
        return (
            _nurses(self.request.user)
            .select_related("home_department", "contract")
            .prefetch_related("skills", "float_departments")
            .order_by("employee_number")
        )


class LeaveViewSet(viewsets.ModelViewSet):
    """Leave of the nurses of your departments."""

    serializer_class = LeaveSerializer
    permission_classes = [ModelPermissions]
    filterset_class = LeaveFilterSet
    queryset = Leave.objects.none()

    def get_queryset(self):
        return Leave.objects.filter(nurse__in=_nurses(self.request.user)).select_related("nurse").order_by("id")


class ShiftRequestViewSet(viewsets.ModelViewSet):
    """Shift requests of the nurses of your departments; the shift is one of the nurse's department's codes."""

    serializer_class = ShiftRequestSerializer
    permission_classes = [ModelPermissions]
    filterset_class = ShiftRequestFilterSet
    queryset = ShiftRequest.objects.none()

    def get_queryset(self):
        return ShiftRequest.objects.filter(nurse__in=_nurses(self.request.user)).select_related("nurse").order_by("id")

    def _check_shift(self, serializer):
        nurse = serializer.validated_data.get("nurse") or serializer.instance.nurse
        shift = serializer.validated_data.get("shift") or serializer.instance.shift
        try:
            shift_code_check(nurse=nurse, shift=shift)
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from None

    def perform_create(self, serializer):
        self._check_shift(serializer)
        serializer.save()

    def perform_update(self, serializer):
        self._check_shift(serializer)
        serializer.save()


class ContractViewSet(viewsets.ModelViewSet):
    """Contracts nurses work under; admins keep them."""

    serializer_class = ContractSerializer
    permission_classes = [ModelPermissions]
    queryset = Contract.objects.order_by("name")
    http_method_names = ["get", "post", "put", "patch", "head", "options"]


class SkillViewSet(viewsets.ReadOnlyModelViewSet):
    """Skills nurses may have and shifts may need."""

    serializer_class = SkillSerializer
    permission_classes = [ModelPermissions]
    queryset = Skill.objects.order_by("code")
