from django.urls import re_path
from rest_framework.routers import DefaultRouter

from healthcare.encounters.api import views

app_name = "encounters-api"

router = DefaultRouter()
router.trailing_slash = "/?"  # /departments and /departments/ both work (POST cannot follow a redirect)
router.register("departments", views.DepartmentViewSet, basename="department")
router.register("encounters", views.EncounterViewSet, basename="encounter")
router.register("workload-hours", views.WorkloadHourViewSet, basename="workload-hour")

urlpatterns = [
    re_path(r"^events/?$", views.EventsView.as_view(), name="events"),
    re_path(r"^fhir/Encounter/?$", views.FhirEncounterCreateView.as_view(), name="fhir-encounter"),
    re_path(r"^fhir/Encounter/(?P<resource_id>[A-Za-z0-9\-.]{1,64})/?$", views.FhirEncounterUpdateView.as_view()),
    *router.urls,
]
