from django.urls import re_path
from rest_framework.routers import DefaultRouter

from healthcare.encounters.api import fhir, views

app_name = "encounters-api"

router = DefaultRouter()
router.trailing_slash = "/?"  # /departments and /departments/ both work (POST cannot follow a redirect)
router.register("departments", views.DepartmentViewSet, basename="department")
router.register("encounters", views.EncounterViewSet, basename="encounter")
router.register("workload-hours", views.WorkloadHourViewSet, basename="workload-hour")

urlpatterns = [
    re_path(r"^events/?$", views.EventsView.as_view(), name="events"),
    re_path(r"^fhir/metadata/?$", fhir.FhirMetadataView.as_view(), name="fhir-metadata"),
    re_path(r"^fhir/Encounter/?$", fhir.FhirEncounterTypeView.as_view(), name="fhir-encounter"),
    re_path(
        r"^fhir/Encounter/(?P<resource_id>[A-Za-z0-9\-.]{1,64})/?$",
        fhir.FhirEncounterInstanceView.as_view(),
        name="fhir-encounter-instance",
    ),
    # Every other path under fhir/ is a FHIR 404 (an OperationOutcome), not the API's plain one.
    re_path(r"^fhir/(?P<rest>.*)$", fhir.fhir_not_found, name="fhir"),
    *router.urls,
]
