"""Census forecast: who is still there, plus who will come and stay.

Plain numpy and scipy, no Django. The census of hour h counts every patient present at
any time during it (as WorkloadHour does). A patient who arrived in hour s is present in
hour h >= s with probability 1 if h == s, else S(h - s - 1/2): the length-of-stay
survival function at the time from mid-arrival-hour to the start of h.

Patients already in the unit are represented by the arrival counts of the past 30 days,
scaled so that their expected census in the last observed hour equals the census seen
then (this corrects a length-of-stay model that is off, and uses no later data). New
arrivals come from the arrival forecast. The interval is a normal approximation: the
present patients leave independently (binomial), new ones come as a thinned count
process with the arrival forecast's dispersion.
"""

from dataclasses import dataclass

import numpy as np
from scipy import stats

LOOKBACK_HOURS = 30 * 24
ANCHOR_LIMITS = (0.5, 2.0)


@dataclass(frozen=True)
class StayModel:
    """Lognormal length of stay in hours."""

    median_hours: float
    sigma: float

    def survival(self, hours: np.ndarray) -> np.ndarray:
        """P(stay > hours); 1 for hours <= 0."""
        hours = np.asarray(hours, dtype=np.float64)
        safe = np.where(hours > 0, hours, 1.0)
        survival = stats.norm.sf((np.log(safe) - np.log(self.median_hours)) / self.sigma)
        return np.where(hours > 0, survival, 1.0)

    @classmethod
    def from_stays(cls, stay_hours: np.ndarray) -> "StayModel":
        logs = np.log(np.maximum(stay_hours, 1 / 60))
        return cls(median_hours=float(np.exp(np.median(logs))), sigma=max(float(np.std(logs)), 0.05))


@dataclass
class CensusForecast:
    mean: np.ndarray
    std: np.ndarray
    lower: np.ndarray
    upper: np.ndarray


def presence_probability(arrival_hours: np.ndarray, target_hours: np.ndarray, stays: StayModel) -> np.ndarray:
    """P(present in target hour | arrived in arrival hour), targets x arrivals; 0 before arrival."""
    elapsed = target_hours[:, None] - arrival_hours[None, :]
    presence = stays.survival(elapsed - 0.5)
    presence[elapsed == 0] = 1.0
    presence[elapsed < 0] = 0.0
    return presence


def census_forecast(
    *,
    issue_hour: int,
    past_arrivals: np.ndarray,
    last_census: float | None,
    arrival_mean: np.ndarray,
    arrival_dispersion: float,
    stays: StayModel,
    confidence: float,
    anchor_limits: tuple[float, float] = ANCHOR_LIMITS,
) -> CensusForecast:
    """Census of the hours issue_hour .. issue_hour + len(arrival_mean) - 1.

    past_arrivals: arrivals of the hours just before issue_hour (last element = issue_hour - 1);
    last_census: census of issue_hour - 1, if observed. The patients still expected from past
    arrivals are scaled to it, within anchor_limits (a recorded census may be off; one a person
    counted and gives is believed whole).
    """
    horizon = len(arrival_mean)
    past = np.nan_to_num(np.asarray(past_arrivals, dtype=np.float64)[-LOOKBACK_HOURS:])
    past_hours = np.arange(issue_hour - len(past), issue_hour)
    targets = np.arange(issue_hour, issue_hour + horizon)

    present = presence_probability(past_hours, targets, stays)  # still here from the past
    anchor = 1.0
    if last_census is not None and len(past):
        expected_last = float(presence_probability(past_hours, np.array([issue_hour - 1]), stays)[0] @ past)
        if expected_last > 0:
            anchor = float(np.clip(last_census / expected_last, *anchor_limits))
    staying = present * past * anchor
    coming = presence_probability(targets, targets, stays) * arrival_mean

    mean = staying.sum(axis=1) + coming.sum(axis=1)
    variance = (staying * (1 - present)).sum(axis=1) + coming.sum(axis=1) * max(arrival_dispersion, 1.0)
    z = stats.norm.ppf(0.5 + confidence / 2)
    spread = z * np.sqrt(variance)
    return CensusForecast(mean=mean, std=np.sqrt(variance), lower=np.maximum(mean - spread, 0.0), upper=mean + spread)
