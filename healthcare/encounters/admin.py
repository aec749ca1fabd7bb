from django.contrib import admin, messages

from healthcare.encounters import services
from healthcare.encounters.models import ArrivalCount, Department, Encounter, HeldAdtEvent, Hl7Message, WorkloadHour
from healthcare.encounters.selectors import departments_visible_to
from healthcare.encounters.services.departments import department_rebuild_queue

admin.site.site_header = "Hospital Workload administration"
admin.site.site_title = "Hospital Workload"


class DepartmentScopedAdmin(admin.ModelAdmin):
    """Rows of the departments the signed-in user may see, like everywhere else."""

    department_lookup = "department__in"

    def get_queryset(self, request):
        return super().get_queryset(request).filter(**{self.department_lookup: departments_visible_to(request.user)})


class ReadOnlyAdmin(DepartmentScopedAdmin):
    """Data that only ingestion writes: browse and search it here, change it by importing again."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Department)
class DepartmentAdmin(DepartmentScopedAdmin):
    department_lookup = "pk__in"
    list_display = [
        "code",
        "name",
        "unit_type",
        "patients_per_nurse",
        "min_nurses",
        "los_median_hours",
        "los_sigma",
        "timezone",
    ]
    list_filter = ["unit_type"]
    search_fields = ["code", "name"]
    filter_horizontal = ["members"]
    readonly_fields = ["created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["code", "name", "unit_type", "timezone", "holiday_country"]}),
        ("Staffing rules", {"fields": ["patients_per_nurse", "min_nurses"]}),
        ("Length of stay (used where a stay has no end)", {"fields": ["los_median_hours", "los_sigma"]}),
        ("Access", {"fields": ["members"]}),
        ("History", {"fields": ["created_at", "updated_at"]}),
    ]
    actions = ["rebuild_workload"]

    def get_readonly_fields(self, request, obj=None):
        # The code is every integration's key to the department: fixed once created.
        return [*self.readonly_fields, "code"] if obj else self.readonly_fields

    def save_model(self, request, obj, form, change):
        if not change:
            super().save_model(request, obj, form, change)
            return
        # Through the service, so a new length-of-stay model rebuilds the census.
        stored = Department.objects.get(pk=obj.pk)
        changes = {name: form.cleaned_data[name] for name in form.changed_data if name != "members"}
        services.department_update(department=stored, **changes)

    @admin.action(description="Rebuild hourly workload of the selected departments")
    def rebuild_workload(self, request, queryset):
        for department_id in queryset.values_list("id", flat=True):
            department_rebuild_queue(department_id)
        self.message_user(request, f"Rebuild started for {queryset.count()} department(s).", messages.SUCCESS)


@admin.register(Encounter)
class EncounterAdmin(ReadOnlyAdmin):
    list_display = ["source_id", "source", "department", "encounter_class", "status", "start", "end"]
    list_filter = ["department", "status", "source", "encounter_class"]
    list_select_related = ["department"]
    search_fields = ["=source_id", "=patient_key"]
    date_hierarchy = "start"
    show_full_result_count = False


@admin.register(WorkloadHour)
class WorkloadHourAdmin(ReadOnlyAdmin):
    list_display = ["department", "hour", "arrivals", "discharges", "census"]
    list_filter = ["department"]
    list_select_related = ["department"]
    date_hierarchy = "hour"
    show_full_result_count = False


@admin.register(ArrivalCount)
class ArrivalCountAdmin(ReadOnlyAdmin):
    list_display = ["department", "hour", "arrivals", "source"]
    list_filter = ["department", "source"]
    list_select_related = ["department"]
    date_hierarchy = "hour"
    show_full_result_count = False


@admin.register(Hl7Message)
class Hl7MessageAdmin(admin.ModelAdmin):
    """What each ADT message did, as its acknowledgement said; the messages' text is never stored."""

    list_display = ["received_at", "control_id", "message_type", "outcome", "note", "error"]
    list_filter = ["outcome", "source", "message_type"]
    search_fields = ["control_id", "visit"]
    date_hierarchy = "received_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(HeldAdtEvent)
class HeldAdtEventAdmin(admin.ModelAdmin):
    """Discharges that came before their admission; each is applied when its admission arrives.

    Delete one only when its visit will never be admitted here (it then never counts)."""

    list_display = ["received_at", "visit", "trigger", "occurred_at", "control_id"]
    list_filter = ["source"]
    search_fields = ["visit", "control_id"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
