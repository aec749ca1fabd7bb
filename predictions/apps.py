from django.apps import AppConfig


class PredictionsConfig(AppConfig):
    """Hourly arrival and census forecasts per department (models, backtests, API)."""

    name = "predictions"

    def ready(self) -> None:
        from healthcare.encounters.signals import workload_changed
        from predictions.receivers import latest_forecast_forget

        workload_changed.connect(latest_forecast_forget, dispatch_uid="predictions.latest_forecast_forget")
