"""Staffing API: small input serializers for commands, explicit output serializers."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from healthcare.serializer_fields import TextField
from optimization.models import DutyChange, DutyChangeKind, OptimizationRun
from optimization.services import RISK_LEVELS

# Rules a plan request may override: type and allowed range.
RULE_OVERRIDES = {
    "nurse_hour_cost": (float, 0.01, 1e6),
    "oncall_premium": (float, 1.0, 100.0),
    "oncall_lead_hours": (int, 0, 12),
    "oncall_block_hours": (int, 1, 12),
    "oncall_cap_per_day": (int, 0, 100),
    "release_saving": (float, 0.0, 1.0),
    "release_floor": (int, 0, 100),
    "understaffed_penalty": (float, 0.01, 1e4),
}


@extend_schema_field(
    {
        "type": "object",
        "properties": {
            name: {"type": "integer" if kind is int else "number", "minimum": low, "maximum": high}
            for name, (kind, low, high) in RULE_OVERRIDES.items()
        },
        "additionalProperties": False,
    }
)
class RuleOverridesField(serializers.DictField):
    """Some of the department's rules, replaced for one plan: only the names of RULE_OVERRIDES."""


def plan_request_constraints(result, generator, request, public):
    """drf-spectacular postprocessing hook: a plan request gives a risk_level or a quantile, not both."""
    component = result.get("components", {}).get("schemas", {}).get("OptimizationRequestRequest")
    if component is not None:
        component["not"] = {"required": ["risk_level", "quantile"]}
    return result


class DepartmentCodeField(TextField):
    def __init__(self, **kwargs):
        super().__init__(max_length=16, help_text="Department code, e.g. ED.", **kwargs)

    def to_internal_value(self, data):
        return super().to_internal_value(data).strip().upper()


class OptimizationRequestSerializer(serializers.Serializer):
    """POST /optimize/workload: plan the next hours."""

    department = DepartmentCodeField()
    horizon_hours = serializers.IntegerField(min_value=1, max_value=168, default=72)
    current_patients = serializers.IntegerField(min_value=0, max_value=10_000, required=False)
    current_staff = serializers.IntegerField(min_value=0, max_value=1_000, required=False)
    risk_level = serializers.ChoiceField(
        choices=list(RISK_LEVELS),
        required=False,
        help_text="Risk of under-staffing the roster accepts (low: covers mean + 2 sd of census).",
    )
    quantile = serializers.FloatField(
        min_value=0.5, max_value=0.999, required=False, help_text="Census quantile the roster covers (instead of risk)."
    )
    rule_overrides = RuleOverridesField(
        required=False, help_text=f"Replace some of the department's rules for this plan: {', '.join(RULE_OVERRIDES)}."
    )

    def validate_rule_overrides(self, value: dict) -> dict:
        unknown = sorted(set(value) - set(RULE_OVERRIDES))
        if unknown:
            raise serializers.ValidationError(f"unknown rule(s): {', '.join(unknown)}")
        cleaned = {}
        for name, (kind, low, high) in RULE_OVERRIDES.items():
            if name not in value:
                continue
            number = value[name]
            if isinstance(number, bool) or not isinstance(number, int | float) or not low <= number <= high:
                raise serializers.ValidationError(f"{name}: a number from {low:g} to {high:g}")
            if kind is int and number != int(number):
                raise serializers.ValidationError(f"{name}: a whole number")
            cleaned[name] = kind(number)
        return cleaned

    def validate(self, attrs):
        if "risk_level" in attrs and "quantile" in attrs:
            raise serializers.ValidationError({"quantile": "give a risk_level or a quantile, not both."})
        return attrs


class OptimizationRunSerializer(serializers.ModelSerializer):
    """A plan job; result and timings once it succeeded."""

    optimization_id = serializers.UUIDField(source="id", read_only=True)
    department = serializers.SlugRelatedField(slug_field="code", read_only=True)
    links = serializers.SerializerMethodField()
    put_in_force_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = OptimizationRun
        fields = [
            "optimization_id",
            "department",
            "status",
            "failure_reason",
            "planned_from",
            "params",
            "result",
            "timings",
            "links",
            "created_at",
            "started_at",
            "finished_at",
            "in_force_from",
            "put_in_force_at",
            "put_in_force_by",
        ]
        read_only_fields = fields

    def get_links(self, run: OptimizationRun) -> dict:
        request = self.context.get("request")
        path = f"/api/v1/optimize/status/{run.id}"
        return {"status": request.build_absolute_uri(path) if request else path}


class RecommendRequestSerializer(serializers.Serializer):
    """POST /optimize/recommend: the situation now; what is left out is read from the records."""

    department = DepartmentCodeField()
    current_patients = serializers.IntegerField(
        min_value=0, max_value=10_000, required=False, help_text="Census now; default: the census recorded this hour."
    )
    current_staff = serializers.IntegerField(
        min_value=0,
        max_value=1_000,
        required=False,
        help_text="Nurses on duty now, for this answer only; default: the roster in force and the duty changes.",
    )
    oncall_left = serializers.IntegerField(
        min_value=0, max_value=100, required=False, help_text="Default: the daily cap less today's call-ins."
    )
    releasable = serializers.IntegerField(min_value=0, max_value=1_000, required=False)
    release_hours = serializers.IntegerField(
        min_value=0, max_value=16, required=False, help_text="Hours left in the shift of a nurse who could go home."
    )


class ProjectionHourSerializer(serializers.Serializer):
    hour = serializers.DateTimeField()
    census_mean = serializers.FloatField()
    census_std = serializers.FloatField()
    required_nurses_at_mean = serializers.IntegerField()
    p_short = serializers.FloatField(help_text="Chance that the hour is short after the policy's recourse.")


class RecommendationSerializer(serializers.Serializer):
    required_now = serializers.IntegerField(help_text="Nurses the ratio (and the minimum) requires for the census now.")
    on_duty = serializers.IntegerField(help_text="Nurses on duty now.")
    short_now = serializers.IntegerField(help_text="Nurses fewer on duty than required now (0: covered).")
    call_in = serializers.IntegerField(help_text="On-call nurses to call now (they arrive after the lead time).")
    release = serializers.IntegerField(help_text="Rostered nurses to send home now.")
    short_after_call_in = serializers.IntegerField(help_text="Nurses still missing once the call-ins have come.")
    escalate = serializers.BooleanField(help_text="On-call cannot cover the gap: the house supervisor must.")
    reason = serializers.CharField(help_text="The decision in one plain sentence.")
    lookahead = serializers.BooleanField(help_text="False: no forecast, only the current hour was judged.")
    status = serializers.ChoiceField(choices=["safe", "short", "surplus"])
    oncall_left = serializers.IntegerField(help_text="On-call nurses that may still be called today.")
    policy = serializers.DictField()
    projection = ProjectionHourSerializer(many=True)
    rules = serializers.DictField()


class DutyChangeSerializer(serializers.ModelSerializer):
    """A recorded call-in, release or absence, with who recorded (or cancelled) it and when."""

    department = serializers.SlugRelatedField(slug_field="code", read_only=True)
    recorded_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    cancelled_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = DutyChange
        fields = [
            "id",
            "department",
            "kind",
            "nurses",
            "starts_at",
            "ends_at",
            "note",
            "recorded_by",
            "recorded_at",
            "cancelled_by",
            "cancelled_at",
        ]
        read_only_fields = fields


class DutyChangeCreateSerializer(serializers.Serializer):
    """POST /optimize/duty-changes: record nurses called in, released or absent."""

    department = DepartmentCodeField()
    kind = serializers.ChoiceField(choices=DutyChangeKind.choices)
    nurses = serializers.IntegerField(min_value=1, max_value=100)
    starts_at = serializers.DateTimeField(
        required=False,
        help_text="Default: after the on-call lead time for a call-in, this hour for a release or an absence.",
    )
    hours = serializers.IntegerField(
        min_value=1,
        max_value=24,
        required=False,
        help_text="Default: the on-call block for a call-in; until the running shift ends otherwise.",
    )
    note = TextField(max_length=200, required=False, allow_blank=True, default="")
