from rest_framework.routers import DefaultRouter

from healthcare.encounters.api import views

app_name = "encounters-api"

router = DefaultRouter()
router.trailing_slash = "/?"  # /departments and /departments/ both work (POST cannot follow a redirect)
router.register("departments", views.DepartmentViewSet, basename="department")
router.register("encounters", views.EncounterViewSet, basename="encounter")
router.register("workload-hours", views.WorkloadHourViewSet, basename="workload-hour")

urlpatterns = router.urls
