"""Scores of forecasts against what happened, and the Poisson limits to read them against.

Plain numpy and scipy. Arrays hold consecutive forecasts of `horizon` hours each, in order.
"""

import numpy as np
from scipy import stats


def block_totals(values: np.ndarray, horizon: int, block: int) -> np.ndarray:
    """Totals of consecutive `block`-hour blocks inside each forecast (whole blocks only)."""
    per_forecast = np.asarray(values, dtype=np.float64).reshape(-1, horizon)
    whole = (horizon // block) * block
    return per_forecast[:, :whole].reshape(len(per_forecast), -1, block).sum(axis=2).ravel()


def mape(actual: np.ndarray, forecast: np.ndarray) -> float | None:
    """Mean absolute percentage error over the positive actuals."""
    positive = actual > 0
    if not positive.any():
        return None
    return float(np.mean(np.abs(actual[positive] - forecast[positive]) / actual[positive]))


def poisson_deviance(actual: np.ndarray, mean: np.ndarray) -> float:
    """Mean Poisson deviance: a proper score for count means (lower is better)."""
    mean = np.maximum(mean, 1e-9)
    ratio = np.where(actual > 0, actual * np.log(np.where(actual > 0, actual, 1) / mean), 0.0)
    return float(np.mean(2 * (ratio - (actual - mean))))


def forecast_scores(
    actual: np.ndarray, mean: np.ndarray, horizon: int, lower: np.ndarray | None = None, upper: np.ndarray | None = None
) -> dict:
    """r2 (hourly, all horizons), mae, mape_daily, mape_72h, poisson_deviance, and coverage when bounds are given.

    MAPEs are over whole 24 h and 72 h blocks of each forecast; None when the horizon is shorter.
    """
    residual = np.sum((actual - mean) ** 2)
    spread = np.sum((actual - actual.mean()) ** 2)
    scores = {
        "r2": float(1 - residual / spread) if spread > 0 else None,
        "mae": float(np.mean(np.abs(actual - mean))),
        "mape_daily": None,
        "mape_72h": None,
        "poisson_deviance": poisson_deviance(actual, mean),
    }
    for key, block in (("mape_daily", 24), ("mape_72h", 72)):
        if horizon >= block:
            scores[key] = mape(block_totals(actual, horizon, block), block_totals(mean, horizon, block))
    if lower is not None and upper is not None:
        scores["coverage"] = float(np.mean((actual >= lower) & (actual <= upper)))
    return scores


def poisson_mape_floor(totals: np.ndarray) -> float | None:
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


def poisson_absolute_deviation(means: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per mean: E|X - mean| and Var|X - mean| for X ~ Poisson(mean)."""
    deviations, variances = [], []
    for mean in np.asarray(means, dtype=np.float64):
        counts = np.arange(0, int(mean + 12 * np.sqrt(mean) + 20))
        probabilities = stats.poisson.pmf(counts, mean)
        deviation = float(np.sum(probabilities * np.abs(counts - mean)))
        deviations.append(deviation)
        variances.append(max(0.0, float(np.sum(probabilities * (counts - mean) ** 2)) - deviation**2))
    return np.array(deviations), np.array(variances)


def poisson_limits(actual: np.ndarray, horizon: int) -> dict:
    """What no forecast can beat when counts are Poisson around a perfectly known mean.

    r2_ceiling = 1 - mean / variance of the actual hourly counts; the MAPE floors take the
    actual daily and 72 h totals as the Poisson means.
    """
    variance = float(np.var(actual))
    limits = {
        "r2_ceiling": 1 - float(np.mean(actual)) / variance if variance > 0 else None,
        "mape_daily_floor": None,
        "mape_72h_floor": None,
    }
    for key, block in (("mape_daily_floor", 24), ("mape_72h_floor", 72)):
        if horizon >= block:
            limits[key] = poisson_mape_floor(block_totals(actual, horizon, block))
    return limits
