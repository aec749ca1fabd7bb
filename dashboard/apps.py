from django.apps import AppConfig


class DashboardConfig(AppConfig):
    """Pages for staff and their live updates over websockets."""

    name = "dashboard"

    def ready(self) -> None:
        from dashboard import receivers
        from healthcare.encounters.signals import workload_changed
        from monitoring_app.signals import alert_changed, staffing_judged
        from optimization.signals import call_in_answered, plan_ready, roster_ready
        from predictions.signals import forecast_ready

        workload_changed.connect(receivers.workload_push, dispatch_uid="dashboard.workload_push")
        forecast_ready.connect(receivers.forecast_push, dispatch_uid="dashboard.forecast_push")
        plan_ready.connect(receivers.plan_push, dispatch_uid="dashboard.plan_push")
        roster_ready.connect(receivers.roster_push, dispatch_uid="dashboard.roster_push")
        call_in_answered.connect(receivers.call_in_push, dispatch_uid="dashboard.call_in_push")
        alert_changed.connect(receivers.alert_push, dispatch_uid="dashboard.alert_push")
        staffing_judged.connect(receivers.staffing_push, dispatch_uid="dashboard.staffing_push")
