from django.contrib import admin, messages

from healthcare.encounters.admin import ReadOnlyAdmin
from predictions import services
from predictions.models import Forecast, ForecastModel


@admin.register(ForecastModel)
class ForecastModelAdmin(ReadOnlyAdmin):
    """Versions are made by training (train_forecaster); here they are browsed and activated."""

    list_display = ["department", "version", "algorithm", "is_active", "training_end", "created_at"]
    list_filter = ["department", "algorithm", "is_active"]
    list_select_related = ["department"]
    exclude = ["artifact"]
    actions = ["activate"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("artifact")

    @admin.action(description="Activate the selected version", permissions=["activate"])
    def activate(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one version to activate.", messages.ERROR)
            return
        model = services.forecast_model_activate(model=queryset.get())
        self.message_user(request, f"{model.department.code} v{model.version} is now active.", messages.SUCCESS)

    def has_activate_permission(self, request):
        return request.user.has_perm("predictions.change_forecastmodel")


@admin.register(Forecast)
class ForecastAdmin(ReadOnlyAdmin):
    list_display = ["department", "issued_at", "horizon_hours", "confidence_level", "status", "model", "created_at"]
    list_filter = ["department", "status"]
    list_select_related = ["department", "model"]
    date_hierarchy = "issued_at"
    search_fields = ["=id"]
    show_full_result_count = False
