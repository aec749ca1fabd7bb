"""Census projection for the next hours from the patients present now and the arrival forecast.

Plain numpy. This is what every real-time decision looks at: a patient who has been in
the unit e hours is still there k hours later with probability S(e + k) / S(e) (S: the
length-of-stay survival function); patients yet to come follow the arrival forecast.
The spread adds the patients' independent departures (binomial) and the arrival noise
(Poisson, scaled by the forecast's dispersion).
"""

from dataclasses import dataclass

import numpy as np

from predictions.census import StayModel, presence_probability


@dataclass(frozen=True)
class Projection:
    """Expected census and its standard deviation for the hours now, now + 1, ..."""

    mean: np.ndarray
    std: np.ndarray

    def quantile(self, z: float) -> np.ndarray:
        """mean + z standard deviations (normal approximation), never below zero."""
        return np.maximum(self.mean + z * self.std, 0.0)


def census_projection(
    *,
    elapsed_hours: np.ndarray,
    arrival_rates: np.ndarray,
    stays: StayModel,
    dispersion: float = 1.0,
) -> Projection:
    """Census of the hours 0 .. len(arrival_rates) - 1 from now.

    elapsed_hours: how long each patient present now has been in the unit.
    arrival_rates: expected arrivals in each of those hours.
    """
    horizon = len(arrival_rates)
    ahead = np.arange(horizon, dtype=np.float64)
    elapsed = np.asarray(elapsed_hours, dtype=np.float64)
    still_here = stays.survival(elapsed[None, :] + ahead[:, None]) / np.maximum(stays.survival(elapsed), 1e-12)
    still_here = np.clip(still_here, 0.0, 1.0)
    coming = presence_probability(np.arange(horizon), np.arange(horizon), stays) * np.asarray(arrival_rates)
    mean = still_here.sum(axis=1) + coming.sum(axis=1)
    variance = (still_here * (1 - still_here)).sum(axis=1) + coming.sum(axis=1) * max(dispersion, 1.0)
    return Projection(mean=mean, std=np.sqrt(variance))
