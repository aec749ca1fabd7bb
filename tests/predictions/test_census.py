import numpy as np
import pytest

from predictions.census import StayModel, census_forecast


def test_stay_model_survival_and_fit():
    stays = StayModel(median_hours=4.0, sigma=0.7)
    assert stays.survival(np.array([0.0, 4.0]))[0] == 1.0
    assert stays.survival(np.array([4.0]))[0] == pytest.approx(0.5)
    draws = np.random.default_rng(0).lognormal(np.log(10), 0.5, size=20_000)
    fitted = StayModel.from_stays(draws)
    assert fitted.median_hours == pytest.approx(10, rel=0.03) and fitted.sigma == pytest.approx(0.5, rel=0.03)


def test_without_new_arrivals_the_census_only_decays():
    stays = StayModel(median_hours=4.0, sigma=0.5)
    forecast = census_forecast(
        issue_hour=1000,
        past_arrivals=np.full(720, 5.0),
        last_census=None,
        arrival_mean=np.zeros(24),
        arrival_dispersion=1.0,
        stays=stays,
        confidence=0.9,
    )
    assert np.all(np.diff(forecast.mean) <= 1e-9) and forecast.mean[-1] < 0.5
    assert np.all(forecast.lower <= forecast.mean) and np.all(forecast.mean <= forecast.upper)


def test_steady_arrivals_give_the_little_law_census_and_the_anchor_scales_it():
    stays = StayModel(median_hours=4.0, sigma=0.5)
    kwargs = {
        "issue_hour": 1000,
        "past_arrivals": np.full(720, 5.0),
        "arrival_mean": np.full(48, 5.0),
        "arrival_dispersion": 1.0,
        "stays": stays,
        "confidence": 0.9,
    }
    steady = census_forecast(last_census=None, **kwargs)
    # Present at any time in an hour: about rate x (mean stay + 1 h).
    mean_stay = 4.0 * np.exp(0.5**2 / 2)
    assert steady.mean[-1] == pytest.approx(5.0 * (mean_stay + 1), rel=0.05)
    crowded = census_forecast(last_census=float(steady.mean[0]) * 1.5, **kwargs)
    assert crowded.mean[0] > steady.mean[0] * 1.2
    assert crowded.mean[-1] == pytest.approx(steady.mean[-1], rel=0.02)  # the extra patients have gone by then
