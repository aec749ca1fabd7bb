from django.urls import path

from dashboard import staff_views, views

app_name = "dashboard"

urlpatterns = [
    path("", views.home, name="home"),
    path("departments/<str:code>/", views.department_dashboard, name="department"),
    path("departments/<str:code>/duty-changes/", views.duty_change_view, name="duty-change"),
    path("departments/<str:code>/recorded-today/", views.recorded_today, name="recorded-today"),
    path("departments/<str:code>/plans/", views.department_plans, name="plans"),
    path("departments/<str:code>/predictions/", views.department_predictions, name="predictions"),
    path("plans/<uuid:run_id>/", views.plan_detail, name="plan"),
    path("plans/<uuid:run_id>/put-in-force/", views.plan_put_in_force_view, name="plan-put-in-force"),
    path("departments/<str:code>/roster/", staff_views.department_roster, name="department-roster"),
    path("departments/<str:code>/sick-calls/", staff_views.sick_call_view, name="sick-call"),
    path("departments/<str:code>/named-staff/", staff_views.named_staff_panel, name="named-staff"),
    path("departments/<str:code>/call-ins/", staff_views.call_in_offer_view, name="call-in-offer"),
    path("departments/<str:code>/releases/", staff_views.nurse_release_view, name="release"),
    path("rosters/<uuid:roster_id>/", staff_views.roster_detail, name="roster"),
    path("rosters/<uuid:roster_id>/put-in-force/", staff_views.roster_put_in_force_view, name="roster-put-in-force"),
    path("rosters/<uuid:roster_id>/roster.csv", staff_views.roster_csv, name="roster-csv"),
    path("call-ins/<int:offer_id>/withdraw/", staff_views.call_in_withdraw_view, name="call-in-withdraw"),
    path("me/", staff_views.my_page, name="me"),
    path("me/offers/<int:offer_id>/", staff_views.my_offer_answer, name="me-offer"),
    path("me/requests/<int:request_id>/delete/", staff_views.my_request_delete, name="me-request-delete"),
    path("me/volunteer/", staff_views.my_volunteer, name="me-volunteer"),
    path("calendar/<str:token>.ics", staff_views.calendar_feed, name="calendar"),
    path("compliance/", views.compliance, name="compliance"),
    path("alerts/", views.alerts, name="alerts"),
    path("alerts/<int:alert_id>/acknowledge/", views.alert_acknowledge_view, name="alert-acknowledge"),
    path("settings/", views.settings_list, name="settings"),
    path("settings/<str:code>/", views.settings_department, name="settings-department"),
]
