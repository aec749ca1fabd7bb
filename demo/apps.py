from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo hospital: seed_demo builds it across every app, replay plays its patients back live."""

    name = "demo"
