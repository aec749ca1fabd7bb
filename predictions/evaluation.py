"""Backtests and their scores, and the Poisson noise limits they are read against.

Plain numpy, no Django. A backtest issues a forecast every `every` hours; each one sees
only the history before its issue hour (TrainedForecaster.forecast cuts it).
"""

import time
from dataclasses import dataclass

import numpy as np
from scipy import stats

from predictions.features import Calendar
from predictions.ml import History, TrainedForecaster


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

    @property
    def horizons(self) -> np.ndarray:
        return self.targets - self.issued


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
    if not issues:
        raise ValueError("no forecast fits inside the history: move the window or shorten the horizon")
    arrays = {name: np.concatenate(values) for name, values in columns.items()}
    return Backtest(**arrays, horizon=horizon, forecast_ms=1000 * elapsed / len(issues))


def _block_totals(values: np.ndarray, horizon: int, block: int) -> np.ndarray:
    """Totals of consecutive `block`-hour blocks inside each forecast (whole blocks only)."""
    per_forecast = values.reshape(-1, horizon)
    whole = (horizon // block) * block
    return per_forecast[:, :whole].reshape(len(per_forecast), -1, block).sum(axis=2).ravel()


def _mape(actual: np.ndarray, forecast: np.ndarray) -> float | None:
    positive = actual > 0
    if not positive.any():
        return None
    return float(np.mean(np.abs(actual[positive] - forecast[positive]) / actual[positive]))


def backtest_scores(result: Backtest) -> dict:
    """r2 (hourly, all horizons), mae, mape_daily, mape_72h, coverage; MAPEs where the horizon allows."""
    actual, mean = result.actuals, result.means
    residual = np.sum((actual - mean) ** 2)
    spread = np.sum((actual - actual.mean()) ** 2)
    scores = {
        "r2": float(1 - residual / spread) if spread > 0 else None,
        "mae": float(np.mean(np.abs(actual - mean))),
        "mape_daily": None,
        "mape_72h": None,
        "coverage": float(np.mean((actual >= result.lowers) & (actual <= result.uppers))),
        "forecasts": int(len(actual) // result.horizon),
        "hours": int(len(actual)),
    }
    for key, block in (("mape_daily", 24), ("mape_72h", 72)):
        if result.horizon >= block:
            scores[key] = _mape(
                _block_totals(actual, result.horizon, block), _block_totals(mean, result.horizon, block)
            )
    return scores


def _poisson_mape_floor(totals: np.ndarray) -> float | None:
    """Expected MAPE of a perfect forecast of the mean when totals are Poisson around it."""
    totals = totals[totals > 0]
    if not len(totals):
        return None
    floors = []
    for mean in totals:
        counts = np.arange(1, int(mean + 12 * np.sqrt(mean) + 20))
        probabilities = stats.poisson.pmf(counts, mean)
        floors.append(np.sum(probabilities * np.abs(counts - mean) / counts) / probabilities.sum())
    return float(np.mean(floors))


def poisson_limits(result: Backtest) -> dict:
    """What no forecast can beat when counts are Poisson around a perfectly known mean.

    r2_ceiling = 1 - mean / variance of the actual hourly counts; the MAPE floors take the
    actual daily and 72 h totals as the Poisson means.
    """
    actual = result.actuals
    variance = float(np.var(actual))
    limits = {
        "r2_ceiling": 1 - float(np.mean(actual)) / variance if variance > 0 else None,
        "mape_daily_floor": None,
        "mape_72h_floor": None,
    }
    for key, block in (("mape_daily_floor", 24), ("mape_72h_floor", 72)):
        if result.horizon >= block:
            limits[key] = _poisson_mape_floor(_block_totals(actual, result.horizon, block))
    return limits
