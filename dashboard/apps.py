from django.apps import AppConfig


class DashboardConfig(AppConfig):
    """Pages for staff and their live updates over websockets."""

    name = "dashboard"
