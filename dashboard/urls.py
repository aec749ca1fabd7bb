from django.urls import path

from dashboard import views

app_name = "dashboard"

urlpatterns = [
    path("", views.home, name="home"),
    path("departments/<str:code>/", views.department_dashboard, name="department"),
    path("departments/<str:code>/duty-changes/", views.duty_change_view, name="duty-change"),
    path("departments/<str:code>/plans/", views.department_plans, name="plans"),
    path("departments/<str:code>/predictions/", views.department_predictions, name="predictions"),
    path("plans/<uuid:run_id>/", views.plan_detail, name="plan"),
    path("plans/<uuid:run_id>/put-in-force/", views.plan_put_in_force_view, name="plan-put-in-force"),
    path("compliance/", views.compliance, name="compliance"),
    path("alerts/", views.alerts, name="alerts"),
    path("alerts/<int:alert_id>/acknowledge/", views.alert_acknowledge_view, name="alert-acknowledge"),
    path("settings/", views.settings_list, name="settings"),
    path("settings/<str:code>/", views.settings_department, name="settings-department"),
]
