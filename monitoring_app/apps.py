from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    """Health, metrics, audit trail and alerts."""

    name = "monitoring_app"
    verbose_name = "Monitoring"

    def ready(self) -> None:
        from celery import signals as celery_signals
        from django.contrib.auth.signals import user_logged_in, user_login_failed

        from healthcare.accounts.signals import token_issued
        from healthcare.encounters.signals import workload_changed
        from healthcare.jobs import job_failed
        from healthcare.tracing import tracing_configure
        from monitoring_app import receivers
        from optimization.signals import roster_put_in_force, staffing_changed
        from predictions.signals import forecast_ready

        tracing_configure()  # before Django builds its middleware chain; a no-op unless OTLP is configured
        workload_changed.connect(receivers.understaffing_recheck, dispatch_uid="monitoring_app.understaffing_recheck")
        staffing_changed.connect(receivers.staffing_recheck, dispatch_uid="monitoring_app.staffing_recheck")
        roster_put_in_force.connect(
            receivers.roster_in_force_audit, dispatch_uid="monitoring_app.roster_in_force_audit"
        )
        forecast_ready.connect(receivers.forecast_recheck, dispatch_uid="monitoring_app.forecast_recheck")
        job_failed.connect(receivers.job_failed_alert, dispatch_uid="monitoring_app.job_failed_alert")
        user_logged_in.connect(receivers.sign_in_audit, dispatch_uid="monitoring_app.sign_in_audit")
        user_login_failed.connect(receivers.sign_in_failure_audit, dispatch_uid="monitoring_app.sign_in_failure_audit")
        token_issued.connect(receivers.token_issued_audit, dispatch_uid="monitoring_app.token_issued_audit")
        celery_signals.task_prerun.connect(receivers.task_prerun, dispatch_uid="monitoring_app.task_prerun")
        celery_signals.task_postrun.connect(receivers.task_postrun, dispatch_uid="monitoring_app.task_postrun")
        celery_signals.worker_init.connect(receivers.worker_started, dispatch_uid="monitoring_app.worker_started")
        celery_signals.worker_shutdown.connect(receivers.worker_shutdown, dispatch_uid="monitoring_app.worker_shutdown")
        import monitoring_app.metrics  # noqa: F401 - registers the product's collector, once per process
