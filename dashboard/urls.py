from django.urls import path

from dashboard import views

app_name = "dashboard"

urlpatterns = [
    path("", views.home, name="home"),
    path("departments/<str:code>/", views.department_dashboard, name="department"),
]
