from django.urls import re_path
from rest_framework.routers import SimpleRouter

from predictions.api import views

app_name = "predictions-api"

# SimpleRouter: the browsable API root at /api/v1/ belongs to the encounters router.
router = SimpleRouter()
router.trailing_slash = "/?"  # /departments and /departments/ both work (POST cannot follow a redirect)
router.register("predict/jobs", views.ForecastViewSet, basename="forecast")
router.register("predict/models", views.ForecastModelViewSet, basename="forecast-model")

urlpatterns = [
    re_path(r"^predict/workload/?$", views.ForecastRequestView.as_view(), name="forecast-request"),
    re_path(r"^predict/performance/?$", views.PerformanceView.as_view(), name="performance"),
    *router.urls,
]
