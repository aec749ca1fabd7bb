from rest_framework.routers import DefaultRouter

from healthcare.encounters.api import views

app_name = "encounters-api"

router = DefaultRouter(trailing_slash="/?")
router.register("departments", views.DepartmentViewSet, basename="department")
router.register("encounters", views.EncounterViewSet, basename="encounter")
router.register("workload-hours", views.WorkloadHourViewSet, basename="workload-hour")

urlpatterns = router.urls
