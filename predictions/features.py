"""What is known about an hour before it happens: its local calendar.

Plain numpy (and the holidays package), no Django. Hours are epoch hours (UTC hours
since 1970-01-01); the calendar is read in the department's local time, because
patients keep local hours.
"""

from dataclasses import dataclass
from zoneinfo import ZoneInfo

import holidays
import numpy as np

from healthcare.hours import hour_start

HOURS_PER_WEEK = 168
ANNUAL_HARMONICS = 3


@dataclass(frozen=True)
class Calendar:
    """Local calendar of the epoch hours first_hour .. first_hour + len(hour_of_day) - 1."""

    first_hour: int
    hour_of_day: np.ndarray
    weekday: np.ndarray  # Monday 0
    day_of_year: np.ndarray
    holiday: np.ndarray  # bool: a public holiday in the department's country

    @classmethod
    def build(cls, first_hour: int, count: int, *, timezone: str, holiday_country: str = "") -> "Calendar":
        zone = ZoneInfo(timezone)
        local = [hour_start(first_hour + i).astimezone(zone) for i in range(count)]
        if holiday_country and local:
            days = holidays.country_holidays(holiday_country, years=range(local[0].year, local[-1].year + 1))
            holiday = np.fromiter((moment.date() in days for moment in local), dtype=bool, count=count)
        else:
            holiday = np.zeros(count, dtype=bool)
        return cls(
            first_hour=first_hour,
            hour_of_day=np.fromiter((m.hour for m in local), dtype=np.int64, count=count),
            weekday=np.fromiter((m.weekday() for m in local), dtype=np.int64, count=count),
            day_of_year=np.fromiter((m.timetuple().tm_yday for m in local), dtype=np.float64, count=count),
            holiday=holiday,
        )

    @property
    def last_hour(self) -> int:
        return self.first_hour + len(self.hour_of_day) - 1

    def covers(self, start: int, stop: int) -> bool:
        return self.first_hour <= start and stop - 1 <= self.last_hour

    def rows(self, start: int, stop: int) -> slice:
        """Positions of the hours start .. stop - 1."""
        if not self.covers(start, stop):
            raise ValueError(f"calendar covers hours {self.first_hour}..{self.last_hour}, not {start}..{stop - 1}")
        return slice(start - self.first_hour, stop - self.first_hour)


def calendar_matrix(calendar: Calendar, start: int, stop: int) -> np.ndarray:
    """Design matrix of the hours start .. stop - 1 for a log-linear model.

    Columns: hour of week (168 indicators, the daily shape of each weekday), annual
    Fourier terms, and a holiday effect that shifts the level and the daily shape.
    """
    rows = calendar.rows(start, stop)
    hour_of_day = calendar.hour_of_day[rows]
    hour_of_week = calendar.weekday[rows] * 24 + hour_of_day
    count = len(hour_of_day)
    week = np.zeros((count, HOURS_PER_WEEK))
    week[np.arange(count), hour_of_week] = 1.0
    angle = 2 * np.pi * calendar.day_of_year[rows] / 365.25
    annual = [f(k * angle) for k in range(1, ANNUAL_HARMONICS + 1) for f in (np.sin, np.cos)]
    holiday = calendar.holiday[rows].astype(np.float64)
    daily_angle = 2 * np.pi * hour_of_day / 24
    holiday_terms = [holiday, holiday * np.sin(daily_angle), holiday * np.cos(daily_angle)]
    return np.column_stack([week, *annual, *holiday_terms])
