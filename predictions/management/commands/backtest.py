import csv
import json
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from healthcare.encounters.management.arguments import department_by_code, parse_moment
from healthcare.hours import epoch_hour, hour_start, iso_utc
from predictions.evaluation import backtest_run
from predictions.features import Calendar
from predictions.ml import MAX_HORIZON, MEAN_MODELS, forecaster_train
from predictions.selectors import department_history


class Command(BaseCommand):
    help = (
        "Train once on the hours before --train-until, then forecast every --every hours from --start to --end, each "
        "forecast from the data before its issue hour only. Writes one CSV row per forecast hour and prints a JSON "
        "summary. Times without an offset are local to the department."
    )

    def add_arguments(self, parser):
        parser.add_argument("--department", required=True)
        parser.add_argument("--train-until", required=True)
        parser.add_argument("--start", required=True, help="First issue time")
        parser.add_argument("--end", required=True, help="No issue at or after this time")
        parser.add_argument("--horizon", type=int, default=72, help=f"Hours per forecast, 1-{MAX_HORIZON}")
        parser.add_argument("--every", type=int, default=24, help="Hours between issues")
        parser.add_argument("--output", required=True, type=Path, help="CSV file to write")
        parser.add_argument("--confidence", type=float, default=0.9, help="Interval confidence, 0.5-0.99")
        parser.add_argument("--algorithm", action="append", choices=sorted(MEAN_MODELS), help="Only these candidates")

    def handle(self, *args, **options):
        department = department_by_code(options["department"])
        zone = department.timezone
        train_until = epoch_hour(parse_moment(options["train_until"], zone, "--train-until"))
        start = epoch_hour(parse_moment(options["start"], zone, "--start"))
        end = epoch_hour(parse_moment(options["end"], zone, "--end"))
        horizon, every, confidence = options["horizon"], options["every"], options["confidence"]
        if not 1 <= horizon <= MAX_HORIZON:
            raise CommandError(f"--horizon must be 1-{MAX_HORIZON}")
        if every < 1:
            raise CommandError("--every must be at least 1")
        if not 0.5 <= confidence <= 0.99:
            raise CommandError("--confidence must be 0.5-0.99")
        if start < train_until:
            raise CommandError("--start must not be before --train-until (the model would have seen those hours)")
        if end <= start:
            raise CommandError("--end must be after --start")

        history = department_history(department, until=hour_start(end + horizon))
        if history is None:
            raise CommandError(f"{department.code} has no workload data")
        calendar = Calendar.build(
            history.first_hour,
            end + horizon - history.first_hour,
            timezone=zone,
            holiday_country=department.holiday_country,
        )
        started = time.perf_counter()
        try:
            forecaster = forecaster_train(history, calendar, until=train_until, algorithms=options["algorithm"])
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        fit_seconds = time.perf_counter() - started
        try:
            result = backtest_run(
                forecaster,
                history,
                calendar,
                issues=list(range(start, end, every)),
                horizon=horizon,
                confidence=confidence,
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None

        options["output"].parent.mkdir(parents=True, exist_ok=True)
        with options["output"].open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["issued_at", "target", "horizon", "mean", "lower", "upper"])
            for issued, target, mean, lower, upper in zip(
                result.issued, result.targets, result.means, result.lowers, result.uppers, strict=True
            ):
                writer.writerow(
                    [_iso(issued), _iso(target), int(target - issued + 1), f"{mean:.4f}", int(lower), int(upper)]
                )

        scores = result.scores()
        summary = {
            "r2": scores["r2"],
            "mae": scores["mae"],
            "mape_daily": scores["mape_daily"],
            "mape_72h": scores["mape_72h"],
            "coverage": scores["coverage"],
            "fit_seconds": round(fit_seconds, 3),
            "forecast_ms": round(result.forecast_ms, 3),
            "algorithm": forecaster.algorithm,
            "forecasts": scores["forecasts"],
            "confidence": confidence,
            "poisson_limits": result.limits(),
        }
        self.stdout.write(json.dumps(summary, indent=2))


def _iso(epoch: int) -> str:
    return iso_utc(hour_start(int(epoch)))
