from django.contrib import admin

from healthcare.encounters.admin import DepartmentScopedAdmin, ReadOnlyAdmin
from optimization.models import (
    CallInOffer,
    Contract,
    DutyChange,
    Leave,
    NamedRoster,
    Nurse,
    OptimizationRun,
    ShiftRequest,
    Skill,
    SkillCover,
    StaffingPolicy,
    StaffingRuleSet,
)


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
        ("Named call-ins", {"fields": ["overtime_premium", "agency_premium"]}),
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
        "nurse",
        "starts_at",
        "ends_at",
        "recorded_by",
        "recorded_at",
        "cancelled_at",
    ]
    list_filter = ["department", "kind", ("cancelled_at", admin.EmptyFieldListFilter)]
    list_select_related = ["department", "recorded_by", "cancelled_by", "nurse"]
    date_hierarchy = "starts_at"
    search_fields = ["note", "nurse__display_name", "nurse__employee_number"]


@admin.register(NamedRoster)
class NamedRosterAdmin(ReadOnlyAdmin):
    """Rosters of named nurses are solved, repaired and put in force on the roster page or the API;
    here they are browsed (their shifts are on the roster page's grid and in its CSV)."""

    list_display = [
        "department",
        "first_day",
        "days",
        "status",
        "penalty",
        "gap_percent",
        "repair_of",
        "in_force_from",
        "put_in_force_by",
    ]
    list_filter = ["department", "status", ("in_force_from", admin.EmptyFieldListFilter)]
    list_select_related = ["department", "put_in_force_by", "repair_of"]
    date_hierarchy = "created_at"
    search_fields = ["=id", "note"]


@admin.register(CallInOffer)
class CallInOfferAdmin(ReadOnlyAdmin):
    """Call-ins offered to named nurses and their answers (offered on the department page, answered by the nurse)."""

    list_display = ["department", "nurse", "starts_at", "ends_at", "status", "pay", "offered_by", "answered_at"]
    list_filter = ["department", "status", "pay"]
    list_select_related = ["department", "nurse", "offered_by"]
    date_hierarchy = "starts_at"
    search_fields = ["nurse__display_name", "nurse__employee_number"]


class LeaveInline(admin.TabularInline):
    model = Leave
    extra = 0


class ShiftRequestInline(admin.TabularInline):
    model = ShiftRequest
    extra = 0
    fields = ["day", "shift", "wanted", "weight"]


@admin.register(Nurse)
class NurseAdmin(DepartmentScopedAdmin):
    """Nurses of the departments the signed-in user may see, with their leave and requests."""

    department_lookup = "home_department__in"
    list_display = ["display_name", "employee_number", "home_department", "contract", "takes_oncall", "is_active"]
    list_filter = ["home_department", "contract", "skills", "takes_oncall", "is_active"]
    list_select_related = ["home_department", "contract"]
    search_fields = ["display_name", "employee_number"]
    filter_horizontal = ["skills", "float_departments"]
    raw_id_fields = ["user"]
    inlines = [LeaveInline, ShiftRequestInline]


@admin.register(Contract)
class ContractAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "period_days",
        "min_minutes",
        "max_minutes",
        "max_consecutive",
        "min_consecutive",
        "min_days_off",
        "max_weekends",
        "min_rest_hours",
    ]
    search_fields = ["name"]


@admin.register(Skill)
class SkillAdmin(admin.ModelAdmin):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]


@admin.register(SkillCover)
class SkillCoverAdmin(DepartmentScopedAdmin):
    list_display = ["department", "skill", "nurses", "weight"]
    list_select_related = ["department", "skill"]
