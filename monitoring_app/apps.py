from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    """Health, metrics, audit trail and alerts."""

    name = "monitoring_app"
    verbose_name = "Monitoring"
