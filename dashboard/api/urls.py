from django.urls import re_path

from dashboard.api import views

app_name = "dashboard-api"

urlpatterns = [
    re_path(r"^departments/(?P<code>[^/.]+)/snapshot/?$", views.DepartmentSnapshotView.as_view(), name="snapshot"),
]
