from django.core.management.base import BaseCommand, CommandError

from healthcare.encounters.management.arguments import department_by_code, parse_moment
from predictions.ml import MEAN_MODELS
from predictions.outlook import ForecastUnavailable
from predictions.services import forecast_model_train


class Command(BaseCommand):
    help = (
        "Train a department's arrival forecaster on the hours before --until: compare the candidate models on a "
        "validation backtest, keep the best, store it as a new version, and activate it if it beats the active one."
    )

    def add_arguments(self, parser):
        parser.add_argument("--department", required=True)
        parser.add_argument("--until", help="Train on data before this moment (ISO 8601; default: now)")
        parser.add_argument("--activate", action="store_true", help="Activate the new version whatever it scores")
        parser.add_argument(
            "--algorithm", action="append", choices=sorted(MEAN_MODELS), help="Only these candidates (repeatable)"
        )

    def handle(self, *args, **options):
        department = department_by_code(options["department"])
        until = parse_moment(options["until"], department.timezone, "--until") if options["until"] else None
        self.stdout.write(f"Training {department.code} forecaster ...")
        try:
            model = forecast_model_train(
                department=department,
                until=until,
                activate=True if options["activate"] else None,
                algorithms=options["algorithm"],
            )
        except ForecastUnavailable as exc:
            raise CommandError(str(exc)) from None
        metrics = model.backtest_metrics
        validation = metrics["validation"]
        self.stdout.write(
            f"Validation backtest: {validation['issues']} forecasts of {validation['horizon_hours']} h "
            f"from {validation['first_hour']} to {validation['end_hour']}"
        )
        self.stdout.write(
            f"  {'model':<16} {'deviance':>9} {'r2':>7} {'mae':>7} {'mape 24h':>9} {'mape 72h':>9} {'fit s':>7}"
        )
        for name, scores in metrics["candidates"].items():
            marker = "*" if name == model.algorithm else " "
            self.stdout.write(
                f"{marker} {name:<16} {scores['poisson_deviance']:>9.4f} {scores['r2']:>7.3f} {scores['mae']:>7.3f} "
                f"{_percent(scores['mape_daily']):>9} {_percent(scores['mape_72h']):>9} {scores['fit_seconds']:>7.2f}"
            )
        for name, reason in metrics.get("skipped", {}).items():
            self.stdout.write(f"  {name}: not tried ({reason})")
        self.stdout.write(f"  chosen: {model.algorithm}: {metrics['reason']}")
        coverage = metrics["candidates"][model.algorithm].get("coverage_90")
        if coverage is not None:
            self.stdout.write(f"  90% interval coverage on held-out validation forecasts: {coverage:.1%}")
        comparison = metrics.get("comparison", {})
        state = "active" if model.is_active else "stored, not activated"
        if comparison.get("active_version") and not model.is_active:
            state += f" (active v{comparison['active_version']} scored better on the same window)"
        self.stdout.write(self.style.SUCCESS(f"{department.code} forecaster v{model.version}: {state}"))


def _percent(value) -> str:
    return f"{value:.2%}" if value is not None else "-"
