"""A synthetic hospital's patient flow, for demos and tests on a fresh machine.

Arrivals are a non-homogeneous Poisson process: a base rate shaped by hour of day,
weekday, a yearly wave and public holidays, all in the department's local time.
Each stay's length is lognormal. Seeded: the same profile, window and seed give the
same encounters. Plain numpy (and the holidays package), no Django.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays
import numpy as np


@dataclass(frozen=True)
class FlowProfile:
    """How patients come to one department and how long they stay."""

    code: str
    name: str
    unit_type: str
    encounter_class: str
    arrivals_per_hour: float
    hour_of_day: tuple[float, ...]  # 24 relative factors, local time
    weekday: tuple[float, ...]  # 7 relative factors, Monday first
    yearly_amplitude: float  # relative swing of the yearly wave
    yearly_peak_day: int  # day of year of its peak (winter respiratory season ~ 20)
    holiday_factor: float
    los_median_hours: float
    los_sigma: float


DEMO_PROFILES = (
    FlowProfile(
        code="ED",
        name="Emergency Department",
        unit_type="ed",
        encounter_class="EMER",
        arrivals_per_hour=5.5,
        hour_of_day=(
            0.55,
            0.45,
            0.40,
            0.35,
            0.33,
            0.35,
            0.45,
            0.65,
            0.90,
            1.15,
            1.30,
            1.38,
            1.40,
            1.38,
            1.35,
            1.33,
            1.32,
            1.30,
            1.28,
            1.22,
            1.12,
            0.98,
            0.82,
            0.67,
        ),
        weekday=(1.10, 1.03, 1.00, 0.99, 0.98, 0.94, 0.96),
        yearly_amplitude=0.08,
        yearly_peak_day=20,
        holiday_factor=0.92,
        los_median_hours=3.5,
        los_sigma=0.7,
    ),
    FlowProfile(
        code="ICU",
        name="Intensive Care Unit",
        unit_type="icu",
        encounter_class="IMP",
        arrivals_per_hour=0.2,
        hour_of_day=(
            0.75,
            0.70,
            0.65,
            0.65,
            0.65,
            0.70,
            0.80,
            0.90,
            1.05,
            1.15,
            1.25,
            1.30,
            1.30,
            1.30,
            1.30,
            1.25,
            1.20,
            1.15,
            1.10,
            1.05,
            1.00,
            0.95,
            0.85,
            0.80,
        ),
        weekday=(1.05, 1.03, 1.02, 1.00, 1.00, 0.95, 0.95),
        yearly_amplitude=0.10,
        yearly_peak_day=20,
        holiday_factor=1.0,
        los_median_hours=60.0,
        los_sigma=0.9,
    ),
    FlowProfile(
        code="MEDSURG",
        name="Medical-Surgical Ward",
        unit_type="medsurg",
        encounter_class="IMP",
        arrivals_per_hour=0.35,
        hour_of_day=(
            0.40,
            0.35,
            0.30,
            0.30,
            0.30,
            0.35,
            0.45,
            0.60,
            0.85,
            1.10,
            1.30,
            1.45,
            1.55,
            1.65,
            1.70,
            1.70,
            1.65,
            1.55,
            1.40,
            1.25,
            1.05,
            0.85,
            0.65,
            0.50,
        ),
        weekday=(1.15, 1.12, 1.10, 1.08, 1.05, 0.75, 0.75),
        yearly_amplitude=0.06,
        yearly_peak_day=20,
        holiday_factor=0.6,
        los_median_hours=96.0,
        los_sigma=0.8,
    ),
)


@dataclass(frozen=True)
class SyntheticStay:
    encounter_id: str
    patient_id: str
    start: datetime
    end: datetime | None  # None: still in the unit at the end of the window


def arrival_rates(profile: FlowProfile, *, first_hour: datetime, hours: int, tz: ZoneInfo, country: str) -> np.ndarray:
    """Expected arrivals in each hour from first_hour (UTC, on the hour)."""
    hour_factors = np.asarray(profile.hour_of_day) / np.mean(profile.hour_of_day)
    weekday_factors = np.asarray(profile.weekday) / np.mean(profile.weekday)
    local = [(first_hour + timedelta(hours=i)).astimezone(tz) for i in range(hours)]
    years = range(local[0].year, local[-1].year + 1)
    holiday_dates = holidays.country_holidays(country, years=years)
    hour_of_day = np.fromiter((moment.hour for moment in local), dtype=np.int64, count=hours)
    weekday = np.fromiter((moment.weekday() for moment in local), dtype=np.int64, count=hours)
    day_of_year = np.fromiter((moment.timetuple().tm_yday for moment in local), dtype=np.float64, count=hours)
    is_holiday = np.fromiter((moment.date() in holiday_dates for moment in local), dtype=bool, count=hours)
    yearly = 1.0 + profile.yearly_amplitude * np.cos(2 * np.pi * (day_of_year - profile.yearly_peak_day) / 365.25)
    holiday = np.where(is_holiday, profile.holiday_factor, 1.0)
    return profile.arrivals_per_hour * hour_factors[hour_of_day] * weekday_factors[weekday] * yearly * holiday


def synthetic_stays(
    profile: FlowProfile,
    *,
    first_hour: datetime,
    hours: int,
    tz: ZoneInfo,
    seed: int,
    country: str = "US",
) -> list[SyntheticStay]:
    """Stays that begin in the window; those still running at its end have no end time."""
    rng = np.random.default_rng([seed, sum(map(ord, profile.code))])
    rates = arrival_rates(profile, first_hour=first_hour, hours=hours, tz=tz, country=country)
    counts = rng.poisson(rates)
    total = int(counts.sum())
    start_hours = np.repeat(np.arange(hours), counts) + rng.random(total)
    stay_hours = profile.los_median_hours * np.exp(profile.los_sigma * rng.standard_normal(total))
    # About one visit in three is by a returning patient.
    patients = rng.integers(0, max(1, int(total * 0.7)), size=total)
    window_end = hours
    origin = first_hour.astimezone(UTC)
    stays = []
    for index in range(total):
        start = origin + timedelta(hours=float(start_hours[index]))
        end_hour = start_hours[index] + stay_hours[index]
        end = origin + timedelta(hours=float(end_hour)) if end_hour < window_end else None
        stays.append(
            SyntheticStay(
                encounter_id=f"{profile.code}-{index:07d}",
                patient_id=f"demo-patient-{profile.code}-{patients[index]}",
                start=start.replace(microsecond=0),
                end=end.replace(microsecond=0) if end else None,
            )
        )
    return stays
