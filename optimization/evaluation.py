"""Staffing policies judged on past weeks against the hindsight oracle. Plain Python.

For each whole week (local Monday 07:00, when the shifts change) and each length-of-stay
draw, the week is replayed with the real arrivals. Every policy plans its roster from the
forecast issued at the week's start (data before it only), then acts hour by hour.
The oracle solves the same week with the census known.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np

from optimization.roster import hindsight_plan
from optimization.rules import StaffingRules, shift_instances
from optimization.simulate import LOOKAHEAD, WEEK_HOURS, Episode, PatientFlow
from predictions.census import StayModel
from predictions.features import Calendar
from predictions.ml import History, TrainedForecaster

WEEK_START_HOUR = 7  # local Monday 07:00: shifts of 8 h (07/15/23) and 12 h (07/19) change then


def week_starts(calendar: Calendar, start: int, end: int, timezone: str) -> list[int]:
    """Epoch hours of the local Mondays 07:00 from start on whose whole week ends by `end`."""
    zone = ZoneInfo(timezone)
    starts = []
    for hour in range(start, end - WEEK_HOURS + 1):
        moment = datetime.fromtimestamp(hour * 3600, tz=UTC).astimezone(zone)
        if moment.weekday() == 0 and moment.hour == WEEK_START_HOUR and moment.minute == 0:
            starts.append(hour)
    return starts


@dataclass
class Replay:
    """Real arrivals of a period with one length-of-stay draw, and the forecaster trained before it."""

    rules: StaffingRules
    history: History  # hourly arrivals (the whole series; forecasts cut it at their issue hour)
    calendar: Calendar
    forecaster: TrainedForecaster
    stays: StayModel
    flow: PatientFlow
    timezone: str

    @classmethod
    def build(cls, *, rules, history, calendar, forecaster, stays, timezone, seed: int) -> "Replay":
        flow = PatientFlow.from_counts(history.first_hour, history.arrivals.astype(np.int64), stays, seed)
        return cls(rules, history, calendar, forecaster, stays, flow, timezone)

    def week(self, start_hour: int) -> Episode:
        forecast = self.forecaster.forecast(self.history, self.calendar, start_hour, WEEK_HOURS, 0.9)
        # The projection reaches LOOKAHEAD hours past the week: repeat the forecast's last day.
        rates = np.concatenate([forecast.mean, forecast.mean[WEEK_HOURS - 24 : WEEK_HOURS - 24 + LOOKAHEAD]])
        rows = self.calendar.rows(start_hour, start_hour + WEEK_HOURS)
        day = np.cumsum(np.r_[0, np.diff(self.calendar.day_of_year[rows]) != 0])
        # Patients who arrived in the 30 days before the week can still be there; stays are never longer.
        flow = self.flow.between(start_hour - 30 * 24, start_hour + WEEK_HOURS + LOOKAHEAD)
        return Episode(
            rules=self.rules,
            flow=flow,
            start_hour=start_hour,
            local_hour=self.calendar.hour_of_day[rows],
            day=day,
            arrival_rates=rates,
            stays=self.stays,
            dispersion=self.forecaster.calibration.dispersion,
        )


def oracle_cost(week: Episode, census: np.ndarray, roster=None) -> float:
    """Hindsight oracle (or, with a roster, the clairvoyant-recourse bound) of the week."""
    instances = shift_instances(week.rules, week.local_hour)
    return hindsight_plan(week.rules, census, instances, week.day, roster=roster).cost


def paired_difference(policy: np.ndarray, baseline: np.ndarray) -> tuple[float, tuple[float, float]]:
    """Mean of (policy - baseline) / baseline over paired weeks, with a 95 % t interval."""
    from scipy import stats

    relative = (np.asarray(policy) - np.asarray(baseline)) / np.asarray(baseline)
    mean = float(np.mean(relative))
    if len(relative) < 2:
        return mean, (mean, mean)
    half = float(stats.t.ppf(0.975, len(relative) - 1) * np.std(relative, ddof=1) / np.sqrt(len(relative)))
    return mean, (mean - half, mean + half)


@dataclass
class WeekCase:
    """One week of one replay: its episode, the census that happened, and the roster's projection."""

    episode: Episode
    census: np.ndarray
    projection: object
    instances: list
    rosters: dict  # z -> Roster, filled on demand

    def roster(self, z: float):
        from optimization.baselines import quantile_roster

        if z not in self.rosters:
            self.rosters[z] = quantile_roster(self.episode.rules, self.projection, self.instances, z)
        return self.rosters[z]


def week_cases(replays: list[Replay], weeks: list[int]) -> list[WeekCase]:
    cases = []
    for replay in replays:
        for start in weeks:
            episode = replay.week(start)
            cases.append(
                WeekCase(
                    episode=episode,
                    census=episode.flow.census(start, WEEK_HOURS),
                    projection=episode.projection(0, WEEK_HOURS),
                    instances=shift_instances(episode.rules, episode.local_hour),
                    rosters={},
                )
            )
    return cases


@dataclass
class Totals:
    """Costs and service of a policy over many weeks."""

    costs: list[float]
    patient_hours: float = 0.0
    uncovered: float = 0.0
    understaffed_hours: int = 0
    callins: int = 0
    decision_seconds: list[float] | None = None

    @property
    def compliance(self) -> float:
        return 1 - self.uncovered / self.patient_hours if self.patient_hours else 1.0


def run_policy(cases: list[WeekCase], z_roster: float, policy) -> Totals:
    """Simulate every week with the policy on its z-quantile roster."""
    from optimization.simulate import simulate

    totals = Totals(costs=[], decision_seconds=[])
    for case in cases:
        outcome = simulate(case.episode, case.roster(z_roster), policy)
        totals.costs.append(outcome.cost)
        totals.patient_hours += outcome.patient_hours
        totals.uncovered += outcome.uncovered_patient_hours
        totals.understaffed_hours += outcome.understaffed_hours
        totals.callins += outcome.callins
        totals.decision_seconds.extend(outcome.decision_seconds)
    return totals


def tune(cases: list[WeekCase], candidates: list[tuple[float, object]], target_compliance: float):
    """The (z_roster, policy) candidate of lowest cost among those meeting the compliance target.

    If none meets it, the most compliant. Returns (candidate, totals, table of all tried).
    """
    tried = []
    for z_roster, policy in candidates:
        totals = run_policy(cases, z_roster, policy)
        tried.append(((z_roster, policy), totals))
    feasible = [entry for entry in tried if entry[1].compliance >= target_compliance]
    if feasible:
        best = min(feasible, key=lambda entry: sum(entry[1].costs))
    else:
        best = max(tried, key=lambda entry: entry[1].compliance)
    return best[0], best[1], tried
