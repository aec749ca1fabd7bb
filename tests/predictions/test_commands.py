"""train_forecaster and backtest from the command line."""

import csv
import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from predictions.models import ForecastModel


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_train_forecaster_reports_the_candidates_and_stores_a_version(ed_history):
    output = run("train_forecaster", "--department", "ed")
    assert "seasonal_naive" in output and "poisson_glm" in output
    assert "poisson_gbm: not tried" in output
    assert "ED forecaster v1: active" in output
    assert ForecastModel.objects.get().is_active


def test_train_forecaster_explains_bad_input(ed_history, ed):
    with pytest.raises(CommandError, match="unknown department 'XX'"):
        run("train_forecaster", "--department", "XX")
    with pytest.raises(CommandError, match="not an ISO 8601"):
        run("train_forecaster", "--department", "ED", "--until", "yesterday")
    with pytest.raises(CommandError, match="no workload data before 2000-01-01"):
        run("train_forecaster", "--department", "ED", "--until", "2000-01-01T00:00")
    first_hour = ed_history.workload_hours.order_by("hour").first().hour
    with pytest.raises(CommandError, match="not enough history"):
        run("train_forecaster", "--department", "ED", "--until", (first_hour + timedelta(days=60)).isoformat())


def test_backtest_writes_one_row_per_forecast_hour_and_a_json_summary(ed_history, tmp_path):
    first_hour = ed_history.workload_hours.order_by("hour").first().hour
    train_until = (first_hour + timedelta(days=100)).isoformat()
    start = train_until
    end = (first_hour + timedelta(days=120)).isoformat()
    output_file = tmp_path / "out" / "backtest.csv"
    summary = json.loads(
        run(
            "backtest",
            "--department",
            "ED",
            "--train-until",
            train_until,
            "--start",
            start,
            "--end",
            end,
            "--horizon",
            "48",
            "--every",
            "24",
            "--output",
            str(output_file),
        )
    )
    assert set(summary) >= {"r2", "mae", "mape_daily", "mape_72h", "coverage", "fit_seconds", "forecast_ms"}
    assert summary["mape_72h"] is None  # a 48 h horizon has no 72 h block
    assert 0.75 <= summary["coverage"] <= 1.0 and summary["forecasts"] == 20
    rows = list(csv.DictReader(output_file.open()))
    assert len(rows) == 20 * 48
    assert list(rows[0]) == ["issued_at", "target", "horizon", "mean", "lower", "upper"]
    assert rows[0]["issued_at"] == rows[0]["target"] and rows[47]["horizon"] == "48"
    assert int(rows[0]["lower"]) <= float(rows[0]["mean"]) <= int(rows[0]["upper"])


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--horizon", "0"], "--horizon must be 1-168"),
        (["--confidence", "1.5"], "--confidence must be 0.5-0.99"),
        (["--start", "2020-01-01T00:00"], "must not be before --train-until"),
        (["--end", "2020-01-01T00:00"], "--end must be after --start"),
    ],
)
def test_backtest_refuses_bad_windows(ed_history, tmp_path, options, message):
    base = {
        "--train-until": "2021-01-01T00:00",
        "--start": "2021-01-01T00:00",
        "--end": "2021-02-01T00:00",
        "--output": str(tmp_path / "b.csv"),
    }
    for flag, value in zip(options[::2], options[1::2], strict=True):
        base[flag] = value
    arguments = ["backtest", "--department", "ED"] + [item for pair in base.items() for item in pair]
    with pytest.raises(CommandError, match=message):
        run(*arguments)
