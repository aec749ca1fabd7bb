from django.contrib import admin

from healthcare.encounters.admin import DepartmentScopedAdmin, ReadOnlyAdmin
from optimization.models import OptimizationRun, StaffingPolicy, StaffingRuleSet


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
    ]
    list_select_related = ["department"]
    fieldsets = [
        (None, {"fields": ["department", "shifts", "nurse_hour_cost"]}),
        ("On-call", {"fields": ["oncall_premium", "oncall_lead_hours", "oncall_block_hours", "oncall_cap_per_day"]}),
        ("Early release", {"fields": ["release_saving", "release_floor"]}),
        ("Under-staffing", {"fields": ["understaffed_penalty"]}),
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
    list_display = ["department", "planned_from", "status", "created_at", "finished_at"]
    list_filter = ["department", "status"]
    list_select_related = ["department"]
    date_hierarchy = "created_at"
    search_fields = ["=id"]
    show_full_result_count = False
