from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    """Health, metrics, audit trail and alerts."""

    name = "monitoring_app"
    verbose_name = "Monitoring"

    def ready(self) -> None:
        from healthcare.encounters.signals import workload_changed
        from monitoring_app.receivers import understaffing_recheck

        workload_changed.connect(understaffing_recheck, dispatch_uid="monitoring_app.understaffing_recheck")
        import monitoring_app.metrics  # noqa: F401 - registers the product's collector, once per process
