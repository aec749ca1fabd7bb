"""Backtests: a trained forecaster issuing forecasts over past data, scored against it.

Plain numpy, no Django. Each forecast sees only the history before its issue hour
(TrainedForecaster.forecast cuts it).
"""

import time
from dataclasses import dataclass

import numpy as np

from predictions.features import Calendar
from predictions.ml import History, TrainedForecaster
from predictions.scores import forecast_scores, poisson_limits


@dataclass
class Backtest:
    """One row per forecast hour, and how long the forecasts took."""

    issued: np.ndarray
    targets: np.ndarray
    means: np.ndarray
    lowers: np.ndarray
    uppers: np.ndarray
    actuals: np.ndarray
    horizon: int
    forecast_ms: float  # mean wall-clock time of one forecast

    def scores(self) -> dict:
        scores = forecast_scores(self.actuals, self.means, self.horizon, self.lowers, self.uppers)
        scores["forecasts"] = len(self.actuals) // self.horizon
        return scores

    def limits(self) -> dict:
        return poisson_limits(self.actuals, self.horizon)


def backtest_run(
    forecaster: TrainedForecaster,
    history: History,
    calendar: Calendar,
    *,
    issues: list[int],
    horizon: int,
    confidence: float,
) -> Backtest:
    """Forecast at every issue hour; forecasts whose hours run past the history are left out."""
    issues = [issue for issue in issues if issue + horizon <= history.end_hour]
    if not issues:
        raise ValueError("no forecast fits inside the history: move the window or shorten the horizon")
    columns = {name: [] for name in ("issued", "targets", "means", "lowers", "uppers", "actuals")}
    elapsed = 0.0
    for issue in issues:
        started = time.perf_counter()
        forecast = forecaster.forecast(history, calendar, issue, horizon, confidence)
        elapsed += time.perf_counter() - started
        columns["issued"].append(np.full(horizon, issue))
        columns["targets"].append(np.arange(issue, issue + horizon))
        columns["means"].append(forecast.mean)
        columns["lowers"].append(forecast.lower)
        columns["uppers"].append(forecast.upper)
        columns["actuals"].append(history.window(issue, issue + horizon))
    arrays = {name: np.concatenate(values) for name, values in columns.items()}
    return Backtest(**arrays, horizon=horizon, forecast_ms=1000 * elapsed / len(issues))
