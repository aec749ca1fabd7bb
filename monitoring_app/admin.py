from django.contrib import admin

from healthcare.encounters.admin import ReadOnlyAdmin
from monitoring_app.models import Alert, AuditEvent
from monitoring_app.services import alert_acknowledge


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    """Alerts are raised by checks; here they are searched and acknowledged."""

    list_display = [
        "department",
        "kind",
        "severity",
        "title",
        "raised_at",
        "acknowledged_at",
        "acknowledged_by",
        "resolved_at",
    ]
    list_filter = [
        "department",
        "kind",
        "severity",
        ("acknowledged_at", admin.EmptyFieldListFilter),
        ("resolved_at", admin.EmptyFieldListFilter),
    ]
    list_select_related = ["department", "acknowledged_by"]
    search_fields = ["title", "key"]
    date_hierarchy = "raised_at"
    actions = ["acknowledge"]

    @admin.action(description="Acknowledge the selected alerts", permissions=["acknowledge"])
    def acknowledge(self, request, queryset):
        open_alerts = list(queryset.filter(acknowledged_at__isnull=True).select_related("department"))
        for alert in open_alerts:  # one by one: each dashboard hears of it
            alert_acknowledge(alert=alert, user=request.user)
        self.message_user(request, f"{len(open_alerts)} alert(s) acknowledged.")

    def has_acknowledge_permission(self, request):
        return request.user.has_perm("monitoring_app.change_alert")


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """The audit trail: searched and filtered here, never changed (append-only)."""

    list_display = ["at", "username", "action", "method", "target", "outcome", "ip"]
    list_filter = ["action", "method", "outcome"]
    search_fields = ["username", "target", "=ip"]
    date_hierarchy = "at"
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
