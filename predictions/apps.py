from django.apps import AppConfig


class PredictionsConfig(AppConfig):
    """Hourly arrival and census forecasts per department (models, backtests, API)."""

    name = "predictions"
