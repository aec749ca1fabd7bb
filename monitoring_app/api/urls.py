from django.urls import re_path
from rest_framework.routers import SimpleRouter

from monitoring_app.api import health, metrics, views

app_name = "monitoring-api"

router = SimpleRouter()
router.trailing_slash = "/?"
router.register("alerts", views.AlertViewSet, basename="alert")

urlpatterns = [
    re_path(r"^health/?$", health.HealthView.as_view(), name="health"),
    re_path(r"^status/?$", health.StatusView.as_view(), name="status"),
    re_path(r"^metrics/?$", metrics.MetricsView.as_view(), name="metrics"),
    # Before the router, whose alerts/<pk> would otherwise claim it.
    re_path(r"^alerts/prometheus/?$", views.PrometheusAlertsView.as_view(), name="alerts-prometheus"),
    *router.urls,
]
