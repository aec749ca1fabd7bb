"""Forecast accuracy and speed on real ED arrivals (UIHC), against the Poisson noise limits.

    .venv/bin/python bench/forecast.py

Trains each model on the hours before 2017-04-01 (local time), then forecasts 72 h every
24 h from 2017-04-01 to 2017-10-09, each forecast from the data before its issue hour.
Prints a table per model, the automatically chosen model, the Poisson limits of the same
window, and the goals. Also times a 168 h forecast in process, and through the service
(database read, calendar, arrivals and census) on a throwaway SQLite database.
"""

import os
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("SHARED_DATA_DIR", REPO.parent / "shared" / "data"))
sys.path.insert(0, str(REPO))

ZONE = "America/Chicago"
TRAIN_UNTIL = "2017-04-01T00:00"
BACKTEST_END = "2017-10-09T00:00"
HORIZON, EVERY, CONFIDENCE = 72, 24, 0.9


def local_hour(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(ZONE)).timestamp() // 3600)


def load_history():
    from healthcare.encounters.ingest.arrivals import parse_arrivals_csv
    from predictions.ml import History

    parsed = parse_arrivals_csv(SHARED_DATA / "uihc_ed_hourly_train.csv", default_tz=ZoneInfo(ZONE))
    hours = np.array([int(record.hour.timestamp() // 3600) for record in parsed.records])
    arrivals = np.zeros(hours[-1] - hours[0] + 1)
    arrivals[hours - hours[0]] = [record.arrivals for record in parsed.records]
    return History(int(hours[0]), arrivals)


def forecast_168_ms(forecaster, history, calendar, issues) -> float:
    started = time.perf_counter()
    for issue in issues:
        forecaster.forecast(history, calendar, issue, 168, CONFIDENCE)
    return 1000 * (time.perf_counter() - started) / len(issues)


def service_168_ms() -> float | None:
    """forecast_points for 168 h through the database, on the UIHC data in a temporary SQLite file."""
    folder = tempfile.mkdtemp()
    os.environ.update(DEBUG="true", DATABASE_URL=f"sqlite:///{folder}/bench.sqlite3")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "healthcare.settings")
    import django

    django.setup()
    from io import StringIO

    from django.core.management import call_command

    from healthcare.encounters.models import Department
    from predictions import outlook, services

    quiet = {"stdout": StringIO(), "stderr": StringIO()}
    call_command("migrate", verbosity=0)
    call_command("add_department", "ED", "--name", "UIHC ED", "--unit-type", "ed", "--timezone", ZONE, **quiet)
    call_command("ingest", "arrivals-csv", str(SHARED_DATA / "uihc_ed_hourly_train.csv"), "--department", "ED", **quiet)
    department = Department.objects.get(code="ED")
    until = datetime.fromisoformat(TRAIN_UNTIL).replace(tzinfo=ZoneInfo(ZONE))
    model = services.forecast_model_train(department=department, until=until, activate=True)
    issues = range(local_hour("2017-05-01T00:00"), local_hour("2017-09-01T00:00"), 24 * 7)
    outlook.forecast_points(department=department, model=model, issue_hour=issues[0], horizon=168, confidence=0.9)
    started = time.perf_counter()
    for issue in issues:
        outlook.forecast_points(department=department, model=model, issue_hour=issue, horizon=168, confidence=0.9)
    return 1000 * (time.perf_counter() - started) / len(issues)


def main() -> None:
    from predictions.evaluation import backtest_run
    from predictions.features import Calendar
    from predictions.ml import SIMPLICITY, forecaster_train

    history = load_history()
    until, end = local_hour(TRAIN_UNTIL), local_hour(BACKTEST_END)
    calendar = Calendar.build(history.first_hour, end + 400 - history.first_hour, timezone=ZONE, holiday_country="US")
    issues = list(range(until, end, EVERY))
    timing_issues = issues[::10]

    rows = {}
    for name in [*SIMPLICITY, "auto"]:
        started = time.perf_counter()
        forecaster = forecaster_train(history, calendar, until=until, algorithms=None if name == "auto" else [name])
        fit_seconds = time.perf_counter() - started
        result = backtest_run(forecaster, history, calendar, issues=issues, horizon=HORIZON, confidence=CONFIDENCE)
        scores = result.scores()
        label = f"auto -> {forecaster.algorithm}" if name == "auto" else name
        rows[label] = {
            **scores,
            "fit_seconds": fit_seconds,
            "forecast_168_ms": forecast_168_ms(forecaster, history, calendar, timing_issues),
        }
        limits = result.limits()
        print(f"  {label}: done ({scores['forecasts']} forecasts)", flush=True)

    ceiling, daily_floor, floor_72 = limits["r2_ceiling"], limits["mape_daily_floor"], limits["mape_72h_floor"]
    print()
    print(f"UIHC ED, trained before {TRAIN_UNTIL}, {HORIZON} h forecasts every {EVERY} h to {BACKTEST_END} (local)")
    print()
    print("| model | hourly R² | R² / ceiling | daily MAPE | 72 h MAPE | 90% coverage | fit s | forecast 168 h ms |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for label, row in rows.items():
        accuracy = f"{row['r2']:.4f} | {row['r2'] / ceiling:.1%} | {row['mape_daily']:.2%} | {row['mape_72h']:.2%}"
        cost = f"{row['coverage']:.1%} | {row['fit_seconds']:.2f} | {row['forecast_168_ms']:.2f}"
        print(f"| {label} | {accuracy} | {cost} |")
    limit = f"{ceiling:.4f} (ceiling) | 100% | {daily_floor:.2%} (floor) | {floor_72:.2%} (floor)"
    print(f"| Poisson noise limit | {limit} | | | |")

    chosen = rows[next(label for label in rows if label.startswith("auto"))]
    service_ms = service_168_ms()
    print()
    print("Goals for the chosen model:")
    goals = [
        ("R² >= 97% of ceiling", chosen["r2"] >= 0.97 * ceiling, f"{chosen['r2'] / ceiling:.1%}"),
        (
            "daily MAPE within 1 point of floor",
            chosen["mape_daily"] <= daily_floor + 0.01,
            f"{(chosen['mape_daily'] - daily_floor) * 100:+.2f} points",
        ),
        (
            "72 h MAPE within 1 point of floor",
            chosen["mape_72h"] <= floor_72 + 0.01,
            f"{(chosen['mape_72h'] - floor_72) * 100:+.2f} points",
        ),
        ("coverage 88-92%", 0.88 <= chosen["coverage"] <= 0.92, f"{chosen['coverage']:.1%}"),
        ("168 h forecast < 50 ms in process", chosen["forecast_168_ms"] < 50, f"{chosen['forecast_168_ms']:.2f} ms"),
    ]
    for goal, met, figure in goals:
        print(f"  [{'met' if met else 'MISSED'}] {goal}: {figure}")
    print(f"  (through the service, with the database read and the census: {service_ms:.1f} ms for 168 h)")


if __name__ == "__main__":
    main()
