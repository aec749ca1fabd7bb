"""Forecasting domain: models, calibration, no leakage, determinism."""

import pickle

import numpy as np
import pytest

from predictions.evaluation import backtest_run
from predictions.ml import Calibration, History, forecaster_train
from predictions.scores import forecast_scores, poisson_limits


@pytest.fixture(scope="module")
def trained(synthetic):
    history, _, calendar = synthetic
    # More than a year of training, so the annual pattern is seen once at least.
    until = history.first_hour + 600 * 24
    return forecaster_train(history, calendar, until=until), until


def test_history_before_cuts_at_the_issue_hour():
    history = History(100, np.arange(10.0), np.arange(10.0))
    cut = history.before(105)
    assert cut.end_hour == 105 and cut.arrivals.tolist() == [0, 1, 2, 3, 4] and len(cut.census) == 5
    assert np.isnan(history.window(95, 101)[:5]).all() and history.window(95, 101)[5] == 0


def test_training_prefers_a_calendar_model_over_the_seasonal_naive(trained):
    forecaster, _ = trained
    candidates = forecaster.selection["candidates"]
    assert forecaster.algorithm in ("poisson_glm", "poisson_gbm")
    assert candidates[forecaster.algorithm]["poisson_deviance"] < candidates["seasonal_naive"]["poisson_deviance"]
    assert 0.85 <= candidates[forecaster.algorithm]["coverage_90"] <= 0.95


@pytest.mark.parametrize("confidence", [0.8, 0.9])
def test_backtest_is_near_the_poisson_limits_and_calibrated(trained, synthetic, confidence):
    forecaster, until = trained
    history, _, calendar = synthetic
    result = backtest_run(
        forecaster,
        history,
        calendar,
        issues=list(range(until, history.end_hour - 72, 24)),
        horizon=72,
        confidence=confidence,
    )
    scores, limits = result.scores(), result.limits()
    assert scores["r2"] >= 0.95 * limits["r2_ceiling"]
    assert scores["mape_daily"] <= limits["mape_daily_floor"] + 0.015
    assert abs(scores["coverage"] - confidence) <= 0.03


@pytest.mark.parametrize("algorithm", ["seasonal_naive", "poisson_glm", "poisson_gbm"])
def test_a_forecast_issued_at_t_ignores_everything_at_or_after_t(synthetic, algorithm):
    history, _, calendar = synthetic
    until = history.first_hour + 150 * 24
    forecaster = forecaster_train(history, calendar, until=until, algorithms=[algorithm])
    issue = until + 30 * 24 + 7
    before = forecaster.forecast(history, calendar, issue, 168, 0.9)
    tampered = history.arrivals.copy()
    tampered[issue - history.first_hour :] = 1000.0
    after = forecaster.forecast(History(history.first_hour, tampered), calendar, issue, 168, 0.9)
    assert np.array_equal(before.mean, after.mean)
    assert np.array_equal(before.lower, after.lower) and np.array_equal(before.upper, after.upper)
    # ...while data before t does move it.
    tampered[issue - history.first_hour - 24 : issue - history.first_hour] = 50.0
    moved = forecaster.forecast(History(history.first_hour, tampered), calendar, issue, 168, 0.9)
    assert not np.array_equal(before.mean, moved.mean)


def test_training_is_deterministic_and_survives_pickling(synthetic):
    history, _, calendar = synthetic
    until = history.first_hour + 120 * 24
    first = forecaster_train(history, calendar, until=until)
    second = forecaster_train(history, calendar, until=until)
    issue = until + 5 * 24
    a = first.forecast(history, calendar, issue, 72, 0.9)
    b = second.forecast(history, calendar, issue, 72, 0.9)
    c = pickle.loads(pickle.dumps(first)).forecast(history, calendar, issue, 72, 0.9)
    for report in (first.selection, second.selection):
        for scores in report["candidates"].values():
            scores.pop("fit_seconds")  # wall-clock time is the one thing allowed to differ
    assert first.selection == second.selection
    assert np.array_equal(a.mean, b.mean) and np.array_equal(a.mean, c.mean)


def test_training_refuses_a_too_short_history(synthetic):
    history, _, calendar = synthetic
    with pytest.raises(ValueError, match="not enough history"):
        forecaster_train(history, calendar, until=history.first_hour + 60 * 24)


def test_calibration_widens_intervals_for_higher_confidence():
    rng = np.random.default_rng(0)
    mean = rng.uniform(2, 10, size=5000)
    actual = rng.poisson(mean).astype(float)
    ahead = np.zeros(len(mean), dtype=int)
    calibration = Calibration.from_validation(actual, mean, ahead)
    assert calibration.dispersion == pytest.approx(1.0, abs=0.06)
    low_80, high_80 = calibration.interval(mean, 0.8, ahead)
    low_95, high_95 = calibration.interval(mean, 0.95, ahead)
    assert np.all(low_95 <= low_80) and np.all(high_95 >= high_80)
    fresh = rng.poisson(mean)
    assert abs(np.mean((fresh >= low_80) & (fresh <= high_80)) - 0.8) < 0.02


def test_calibration_detects_over_dispersion():
    rng = np.random.default_rng(1)
    mean = rng.uniform(3, 10, size=20_000)
    size = mean  # negative binomial with variance = 2 x mean
    actual = rng.negative_binomial(size, 0.5).astype(float)
    ahead = np.zeros(len(mean), dtype=int)
    calibration = Calibration.from_validation(actual, mean, ahead)
    assert calibration.dispersion == pytest.approx(2.0, rel=0.08)
    low, high = calibration.interval(mean, 0.9, ahead)
    fresh = rng.negative_binomial(size, 0.5)
    assert abs(np.mean((fresh >= low) & (fresh <= high)) - 0.9) < 0.02


def test_calibration_is_kept_per_band_of_hours_ahead():
    rng = np.random.default_rng(2)
    mean = rng.uniform(3, 10, size=30_000)
    ahead = np.tile(np.arange(150), 200)
    # Far-ahead means are off by 30 %: their band needs wider intervals than the near one.
    actual = rng.poisson(np.where(ahead >= 72, mean * rng.choice([0.7, 1.3], size=mean.size), mean)).astype(float)
    calibration = Calibration.from_validation(actual, mean, ahead)
    assert set(calibration.scores) == {0, 1, 2}
    assert calibration.tail(0.9, band=2) < calibration.tail(0.9, band=0)
    low, high = calibration.interval(np.full(2, 6.0), 0.9, np.array([1, 100]))
    assert high[1] - low[1] > high[0] - low[0]


def test_scores_and_poisson_limits_on_known_values():
    actual = np.array([2.0, 4.0, 6.0, 8.0])
    scores = forecast_scores(actual, np.array([3.0, 4.0, 5.0, 8.0]), horizon=2)
    assert scores["mae"] == pytest.approx(0.5)
    assert scores["r2"] == pytest.approx(1 - 2 / 20)
    assert scores["mape_daily"] is None
    # A daily total of 156 Poisson arrivals cannot be forecast better than sqrt(2 / (pi * 156)) ~ 6.4 %.
    limits = poisson_limits(np.full(48, 6.5), horizon=24)
    assert limits["mape_daily_floor"] == pytest.approx(np.sqrt(2 / (np.pi * 156)), rel=0.03)
