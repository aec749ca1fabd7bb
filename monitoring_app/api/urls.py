from rest_framework.routers import SimpleRouter

from monitoring_app.api import views

app_name = "monitoring-api"

router = SimpleRouter()
router.trailing_slash = "/?"
router.register("alerts", views.AlertViewSet, basename="alert")

urlpatterns = router.urls
