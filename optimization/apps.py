from django.apps import AppConfig


class OptimizationConfig(AppConfig):
    """Nurse staffing: exact roster, real-time policy, baselines and runs."""

    name = "optimization"
