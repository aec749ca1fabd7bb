"""Hourly arrival forecasts with calibrated intervals: models, calibration, training.

Plain Python on numpy, scipy and scikit-learn, no Django. Three mean models compete:

- seasonal naive: the same hour one week earlier;
- Poisson GLM: hour of week, annual Fourier terms and holidays, times the recent level
  (arrivals of the last four weeks over what the calendar expected for them);
- Poisson gradient boosting: calendar, recent level, the same hour a week earlier, horizon.

Hourly arrivals are close to Poisson around the calendar pattern, so the predictive
distribution is a negative binomial (Poisson when the data are not over-dispersed) with
the model's mean. Its intervals are calibrated by split conformal prediction: on a
validation backtest, each actual count gets a centrality score (the smaller of its two
tail probabilities); the interval at confidence c cuts the tails where a share c of the
scores lies, separately for 0-24, 24-72 and 72-168 hours ahead, so that coverage on new
data stays near c even where the model is a little off.

No leakage: every forecast goes through `TrainedForecaster.forecast`, which cuts the
history at the issue hour before any model sees it.

One module because the three models, their calibration and the choice between them are
one contract: a TrainedForecaster that any of them produces and the services use alike.
"""

import time
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from predictions.features import Calendar, calendar_matrix
from predictions.scores import forecast_scores

LEVEL_HOURS = 28 * 24  # the recent level is read over the last four weeks
LAG_HOURS = 168
MAX_HORIZON = 168
VALIDATION_DAYS = 56
VALIDATION_HORIZON = MAX_HORIZON
SEED = 20240601


@dataclass(frozen=True)
class History:
    """Hourly arrivals observed from first_hour on (epoch hours), and the census when known."""

    first_hour: int
    arrivals: np.ndarray
    census: np.ndarray | None = None

    @property
    def end_hour(self) -> int:
        """The first hour not in the history."""
        return self.first_hour + len(self.arrivals)

    def before(self, hour: int) -> "History":
        """Only what was observed before `hour`: the one place a forecast's inputs are cut."""
        keep = max(0, min(len(self.arrivals), hour - self.first_hour))
        census = self.census[:keep] if self.census is not None else None
        return History(self.first_hour, self.arrivals[:keep], census)

    def window(self, start: int, stop: int) -> np.ndarray:
        """Arrivals of the hours start .. stop - 1 (hours before the history count as missing: NaN)."""
        out = np.full(stop - start, np.nan)
        lo, hi = max(start, self.first_hour), min(stop, self.end_hour)
        if lo < hi:
            out[lo - start : hi - start] = self.arrivals[lo - self.first_hour : hi - self.first_hour]
        return out


# --- Mean models ------------------------------------------------------------------------------


class SeasonalNaive:
    """The same hour one week earlier."""

    name = "seasonal_naive"
    features = ["arrivals in the same hour one week earlier"]

    @classmethod
    def unsuitable(cls, history: History) -> str | None:
        return None

    def hyperparameters(self) -> dict:
        return {"lag_hours": LAG_HOURS}

    def fit(self, history: History, calendar: Calendar) -> "SeasonalNaive":
        self.fallback = float(np.mean(history.arrivals)) if len(history.arrivals) else 0.0
        return self

    def predict(self, history: History, calendar: Calendar, issue_hour: int, horizon: int) -> np.ndarray:
        lagged = history.window(issue_hour - LAG_HOURS, issue_hour - LAG_HOURS + horizon)
        return np.where(np.isnan(lagged), self.fallback, lagged)


class PoissonGLM:
    """log mean = calendar terms; times the recent level at the issue hour."""

    name = "poisson_glm"
    features = [
        "hour of week (168 indicators)",
        "annual Fourier terms (3 harmonics)",
        "public holiday (level and daily shape)",
        "recent level: arrivals of the last 28 days over the calendar's expectation",
    ]

    @classmethod
    def unsuitable(cls, history: History) -> str | None:
        return None

    def __init__(self, alpha: float = 1e-4, level_prior_hours: float = 48.0):
        self.alpha = alpha
        # Pseudo-hours at the calendar's expectation: shrink the level ratio of a short history towards 1.
        self.level_prior_hours = level_prior_hours

    def hyperparameters(self) -> dict:
        return {
            "alpha": self.alpha,
            "solver": "newton-cholesky",
            "level_hours": LEVEL_HOURS,
            "level_prior_hours": self.level_prior_hours,
        }

    def fit(self, history: History, calendar: Calendar) -> "PoissonGLM":
        from sklearn.linear_model import PoissonRegressor

        design = calendar_matrix(calendar, history.first_hour, history.end_hour)
        # Newton-Cholesky: a few exact steps on ~180 columns, where L-BFGS needs hundreds.
        self.regressor = PoissonRegressor(alpha=self.alpha, solver="newton-cholesky", max_iter=100, tol=1e-8)
        self.regressor.fit(design, history.arrivals)
        return self

    def calendar_mean(self, calendar: Calendar, start: int, stop: int) -> np.ndarray:
        return self.regressor.predict(calendar_matrix(calendar, start, stop))

    def level(self, history: History, calendar: Calendar, issue_hour: int) -> float:
        """Observed over expected arrivals in the four weeks before the issue hour."""
        start = max(history.first_hour, issue_hour - LEVEL_HOURS)
        if start >= issue_hour:
            return 1.0
        observed = history.window(start, issue_hour)
        expected = self.calendar_mean(calendar, start, issue_hour)
        known = ~np.isnan(observed)
        prior = self.level_prior_hours * float(np.mean(expected))
        return float((observed[known].sum() + prior) / (expected[known].sum() + prior))

    def predict(self, history: History, calendar: Calendar, issue_hour: int, horizon: int) -> np.ndarray:
        base = self.calendar_mean(calendar, issue_hour, issue_hour + horizon)
        return base * self.level(history, calendar, issue_hour)


class PoissonGBM:
    """Gradient-boosted trees with Poisson loss on calendar, recent level, last week and horizon."""

    name = "poisson_gbm"
    features = [
        "hour of day",
        "weekday",
        "public holiday",
        "annual Fourier terms (1 harmonic)",
        "recent level: mean arrivals of the last 28 days",
        "arrivals in the same hour one week earlier",
        "horizon (hours ahead)",
    ]

    # Trees split on noise when counts are sparse or history is short: below these, they are not tried.
    MIN_FITTING_HOURS = 180 * 24
    MIN_MEAN_ARRIVALS = 1.0

    @classmethod
    def unsuitable(cls, history: History) -> str | None:
        """Why trees should not be fitted to this history, if they should not."""
        if len(history.arrivals) < cls.MIN_FITTING_HOURS:
            return f"needs {cls.MIN_FITTING_HOURS // 24} days of history before the validation window"
        if float(np.mean(history.arrivals)) < cls.MIN_MEAN_ARRIVALS:
            return f"needs at least {cls.MIN_MEAN_ARRIVALS:g} arrival per hour on average (sparse counts)"
        return None

    def __init__(self, max_iter: int = 300, learning_rate: float = 0.05, max_leaf_nodes: int = 31, seed: int = SEED):
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.seed = seed

    def hyperparameters(self) -> dict:
        return {
            "max_iter": self.max_iter,
            "learning_rate": self.learning_rate,
            "max_leaf_nodes": self.max_leaf_nodes,
            "min_samples_leaf": 100,
            "seed": self.seed,
        }

    def _rows(self, history: History, calendar: Calendar, targets: np.ndarray, issues: np.ndarray) -> np.ndarray:
        """Feature rows for target hours forecast at issue hours (issue <= target < issue + 168)."""
        cumulative = np.concatenate([[0.0], np.cumsum(history.arrivals)])

        def sum_before(hour):
            return cumulative[np.clip(hour - history.first_hour, 0, len(history.arrivals))]

        # Mean over the hours of the last four weeks that were observed (none after the history ends).
        level_start = np.maximum(issues - LEVEL_HOURS, history.first_hour)
        level_end = np.minimum(issues, history.end_hour)
        observed = np.maximum(level_end - level_start, 1)
        level = (sum_before(level_end) - sum_before(level_start)) / observed
        lag_index = targets - LAG_HOURS - history.first_hour
        known = (lag_index >= 0) & (lag_index < len(history.arrivals))
        lagged = np.full(len(targets), np.nan)
        lagged[known] = history.arrivals[lag_index[known]]
        position = targets - calendar.first_hour
        angle = 2 * np.pi * calendar.day_of_year[position] / 365.25
        return np.column_stack(
            [
                calendar.hour_of_day[position],
                calendar.weekday[position],
                calendar.holiday[position],
                np.sin(angle),
                np.cos(angle),
                level,
                lagged,
                targets - issues,
            ]
        )

    def fit(self, history: History, calendar: Calendar) -> "PoissonGBM":
        from sklearn.ensemble import HistGradientBoostingRegressor

        rng = np.random.default_rng(self.seed)
        targets = np.arange(history.first_hour + LAG_HOURS, history.end_hour)
        # Each training row is seen from a random horizon, so one model serves every horizon.
        issues = targets - rng.integers(0, MAX_HORIZON, size=len(targets))
        rows = self._rows(history, calendar, targets, issues)
        self.regressor = HistGradientBoostingRegressor(
            loss="poisson",
            max_iter=self.max_iter,
            learning_rate=self.learning_rate,
            max_leaf_nodes=self.max_leaf_nodes,
            min_samples_leaf=100,
            categorical_features=[0, 1, 2],
            random_state=self.seed,
        )
        self.regressor.fit(rows, history.arrivals[targets - history.first_hour])
        return self

    def predict(self, history: History, calendar: Calendar, issue_hour: int, horizon: int) -> np.ndarray:
        targets = np.arange(issue_hour, issue_hour + horizon)
        rows = self._rows(history, calendar, targets, np.full(horizon, issue_hour))
        return self.regressor.predict(rows)


MEAN_MODELS = {model.name: model for model in (SeasonalNaive, PoissonGLM, PoissonGBM)}
# On equal scores the simpler model wins.
SIMPLICITY = ["seasonal_naive", "poisson_glm", "poisson_gbm"]


# --- Predictive distribution and its calibration ---------------------------------------------


def _distribution(mean: np.ndarray, dispersion: float):
    """Negative binomial with the given mean and variance = dispersion x mean (Poisson if <= 1)."""
    mean = np.maximum(np.asarray(mean, dtype=np.float64), 1e-9)
    if dispersion <= 1.0 + 1e-6:
        return stats.poisson(mean)
    size = mean / (dispersion - 1.0)
    return stats.nbinom(size, 1.0 / dispersion)


def centrality(actual: np.ndarray, mean: np.ndarray, dispersion: float) -> np.ndarray:
    """The smaller tail probability of each actual count: an interval cutting tails of t covers it iff t <= this."""
    distribution = _distribution(mean, dispersion)
    return np.minimum(distribution.cdf(actual), distribution.sf(actual - 1))


# Intervals widen with the distance from the data: they are calibrated per band of hours ahead.
CALIBRATION_BANDS = ((0, 24), (24, 72), (72, MAX_HORIZON))


def _bands(ahead: np.ndarray) -> np.ndarray:
    """Calibration band of each number of hours ahead (beyond the last band: the last)."""
    upper_edges = np.array([high for _, high in CALIBRATION_BANDS[:-1]])
    return np.searchsorted(upper_edges, np.asarray(ahead), side="right")


@dataclass
class Calibration:
    """Dispersion of the counts around the mean, and validation centrality scores per band of hours ahead."""

    dispersion: float
    scores: dict[int, np.ndarray]  # band index -> sorted centrality scores

    @classmethod
    def from_validation(cls, actual: np.ndarray, mean: np.ndarray, ahead: np.ndarray) -> "Calibration":
        mean = np.maximum(mean, 1e-9)
        # Ratio of sums, not mean of ratios: hours with a near-zero mean must not dominate.
        dispersion = max(1.0, float(np.sum((actual - mean) ** 2) / np.sum(mean)))
        score = centrality(actual, mean, dispersion)
        bands = _bands(ahead)
        scores = {band: np.sort(score[bands == band]) for band in np.unique(bands).tolist()}
        return cls(dispersion=dispersion, scores=scores)

    def tail(self, confidence: float, band: int) -> float:
        """Tail probability to cut on each side so that `confidence` of the band's validation counts are inside."""
        known = [index for index in self.scores if index <= band] or list(self.scores)
        cut = float(np.quantile(self.scores[max(known)], 1.0 - confidence, method="lower"))
        return min(max(cut, 1e-6), 0.5)

    def interval(self, mean: np.ndarray, confidence: float, ahead: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Bounds for means `ahead` hours after the issue hour."""
        bands = _bands(ahead)
        tail_of_band = {band: self.tail(confidence, band) for band in np.unique(bands).tolist()}
        tails = np.array([tail_of_band[band] for band in bands.tolist()])
        distribution = _distribution(mean, self.dispersion)
        return distribution.ppf(tails), distribution.ppf(1.0 - tails)


# --- A trained forecaster ---------------------------------------------------------------------


def library_versions() -> dict:
    """Versions a pickled forecaster depends on: another scikit-learn may not read it correctly."""
    import scipy
    import sklearn

    return {"numpy": np.__version__, "scipy": scipy.__version__, "scikit-learn": sklearn.__version__}


@dataclass
class ArrivalForecast:
    """Expected arrivals and an interval per hour, from issue_hour on."""

    issue_hour: int
    mean: np.ndarray
    lower: np.ndarray
    upper: np.ndarray


@dataclass
class TrainedForecaster:
    """A fitted mean model with its calibration; what a ForecastModel's artifact holds."""

    mean_model: object
    calibration: Calibration
    training_first_hour: int
    training_end_hour: int  # exclusive: trained on hours before it
    selection: dict = field(default_factory=dict)
    library_versions: dict = field(default_factory=lambda: library_versions())
    # The chosen model's validation forecasts (issue hour -> means), for comparing versions.
    # Not stored with the artifact.
    validation_means: dict[int, np.ndarray] = field(default_factory=dict)

    def __getstate__(self) -> dict:
        return {**self.__dict__, "validation_means": {}}

    @property
    def algorithm(self) -> str:
        return self.mean_model.name

    def forecast(
        self, history: History, calendar: Calendar, issue_hour: int, horizon: int, confidence: float
    ) -> ArrivalForecast:
        """Forecast hours issue_hour .. issue_hour + horizon - 1 from what was observed before issue_hour."""
        if horizon < 1:
            raise ValueError("horizon must be at least one hour")
        visible = history.before(issue_hour)
        mean = np.maximum(self.mean_model.predict(visible, calendar, issue_hour, horizon), 0.0)
        lower, upper = self.calibration.interval(mean, confidence, np.arange(horizon))
        return ArrivalForecast(issue_hour, mean, lower, upper)


def mean_backtest(model, history: History, calendar: Calendar, issues: list[int], horizon: int):
    """(hours ahead, means, actuals) of forecasts issued at each hour, each from the history before it."""
    means, actuals = [], []
    for issue in issues:
        means.append(np.maximum(model.predict(history.before(issue), calendar, issue, horizon), 0.0))
        actuals.append(history.window(issue, issue + horizon))
    ahead = np.tile(np.arange(horizon), len(issues))
    return ahead, np.concatenate(means), np.concatenate(actuals)


def validation_issues(validation: dict) -> list[int]:
    """Issue hours of a validation backtest, from its description in TrainedForecaster.selection."""
    return list(range(validation["first_hour"], validation["end_hour"] - validation["horizon_hours"] + 1, 24))


def _rounded(value):
    """Rounded for storage as JSON, which has no NaN."""
    if isinstance(value, float):
        return round(value, 5) if np.isfinite(value) else None
    return value


def forecaster_train(
    history: History,
    calendar: Calendar,
    *,
    until: int,
    algorithms: list[str] | None = None,
    validation_days: int = VALIDATION_DAYS,
    validation_horizon: int = VALIDATION_HORIZON,
) -> TrainedForecaster:
    """Pick the best mean model on a validation backtest, refit it on everything before `until`.

    A cut-off past the end of the history is moved back to it.

    The last `validation_days` before `until` are held out: each suitable candidate is
    fitted on the hours before them and issues a `validation_horizon`-hour forecast every
    24 h across them. The candidate with the lowest Poisson deviance wins; its validation
    forecasts calibrate the intervals, per band of hours ahead. Raises ValueError when the
    history is too short.
    """
    until = min(until, history.end_hour)  # validate on hours that were observed
    training = history.before(until)
    validation_start = until - validation_days * 24
    if validation_start - training.first_hour < 4 * LAG_HOURS:
        raise ValueError(
            f"not enough history: need at least {4 * LAG_HOURS // 24 + validation_days} days before the cut-off, "
            f"have {len(training.arrivals) // 24}"
        )
    validation = {"first_hour": validation_start, "end_hour": until, "horizon_hours": validation_horizon}
    issues = validation_issues(validation)
    fitting = training.before(validation_start)
    names, skipped = [], {}
    for name in algorithms or SIMPLICITY:
        reason = MEAN_MODELS[name].unsuitable(fitting) if algorithms is None else None
        if reason:
            skipped[name] = reason
        else:
            names.append(name)

    candidates, validation_means = {}, {}
    for name in names:
        started = time.perf_counter()
        model = MEAN_MODELS[name]().fit(fitting, calendar)
        fit_seconds = time.perf_counter() - started
        ahead, means, actuals = mean_backtest(model, training, calendar, issues, validation_horizon)
        validation_means[name] = means
        scores = forecast_scores(actuals, means, validation_horizon)
        candidates[name] = {key: _rounded(value) for key, value in scores.items()} | {
            "fit_seconds": round(fit_seconds, 3)
        }
    chosen = min(names, key=lambda name: (candidates[name]["poisson_deviance"], SIMPLICITY.index(name)))
    means = validation_means[chosen]
    # Coverage measured out of sample: calibrate on the first half of the validation
    # forecasts, count on the second. The final calibration then uses all of them.
    half = (len(issues) // 2) * validation_horizon
    trial = Calibration.from_validation(actuals[:half], means[:half], ahead[:half])
    lower, upper = trial.interval(means[half:], 0.9, ahead[half:])
    inside = (actuals[half:] >= lower) & (actuals[half:] <= upper)
    candidates[chosen]["coverage_90"] = _rounded(float(np.mean(inside)))
    calibration = Calibration.from_validation(actuals, means, ahead)
    final = MEAN_MODELS[chosen]().fit(training, calendar)
    selection = {
        "chosen": chosen,
        "reason": "lowest mean Poisson deviance on the validation backtest; the simpler model wins ties",
        "validation": {**validation, "issues": len(issues)},
        "candidates": candidates,
        "skipped": skipped,
        "dispersion": round(calibration.dispersion, 4),
    }
    per_issue = dict(zip(issues, np.split(means, len(issues)), strict=True))
    return TrainedForecaster(final, calibration, training.first_hour, until, selection, validation_means=per_issue)
