from django.contrib import admin

from healthcare.encounters.admin import DepartmentScopedAdmin, ReadOnlyAdmin
from optimization.models import DutyChange, OptimizationRun, StaffingPolicy, StaffingRuleSet


@admin.register(StaffingRuleSet)
class StaffingRuleSetAdmin(DepartmentScopedAdmin):
    """Shift patterns and costs; the ratio and minimum nurses are edited on the department."""

    list_display = [
        "department",
        "shifts",
        "nurse_hour_cost",
        "oncall_premium",
        "oncall_lead_hours",
        "oncall_block_hours",
        "oncall_cap_per_day",
        "release_saving",
        "understaffed_penalty",
        "risk_threshold",
    ]
    list_select_related = ["department"]
    fieldsets = [
        (None, {"fields": ["department", "shifts", "nurse_hour_cost"]}),
        ("On-call", {"fields": ["oncall_premium", "oncall_lead_hours", "oncall_block_hours", "oncall_cap_per_day"]}),
        ("Early release", {"fields": ["release_saving", "release_floor"]}),
        ("Under-staffing", {"fields": ["understaffed_penalty", "risk_threshold"]}),
    ]


@admin.register(StaffingPolicy)
class StaffingPolicyAdmin(ReadOnlyAdmin):
    """Versions come from train_policy; here they are browsed."""

    list_display = ["department", "version", "algorithm", "is_active", "training_end", "created_at"]
    list_filter = ["department", "algorithm", "is_active"]
    list_select_related = ["department"]
    exclude = ["artifact"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("artifact")


@admin.register(OptimizationRun)
class OptimizationRunAdmin(ReadOnlyAdmin):
    """Plans are requested and put in force on the dashboard or the API; here they are browsed."""

    list_display = ["department", "planned_from", "status", "finished_at", "in_force_from", "put_in_force_by"]
    list_filter = ["department", "status", ("in_force_from", admin.EmptyFieldListFilter)]
    list_select_related = ["department", "put_in_force_by"]
    date_hierarchy = "created_at"
    search_fields = ["=id"]
    show_full_result_count = False


@admin.register(DutyChange)
class DutyChangeAdmin(ReadOnlyAdmin):
    """Call-ins, releases and absences as recorded (on the dashboard or the API), with who and when.

    Facts are not edited here: a mistake is cancelled where it was recorded, and the row stays.
    """

    list_display = [
        "department",
        "kind",
        "nurses",
        "starts_at",
        "ends_at",
        "recorded_by",
        "recorded_at",
        "cancelled_at",
    ]
    list_filter = ["department", "kind", ("cancelled_at", admin.EmptyFieldListFilter)]
    list_select_related = ["department", "recorded_by", "cancelled_by"]
    date_hierarchy = "starts_at"
    search_fields = ["note"]
