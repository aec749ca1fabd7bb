"""Staffing policies judged on past weeks against the hindsight oracle. Plain Python.

For each whole week (local Monday 07:00, when the shifts change) and each length-of-stay
draw, the week is replayed with the real arrivals. Every policy plans its roster from the
forecast issued at the week's start (data before it only), then acts hour by hour.
The oracle solves the same week with the census known.

One module because every policy is judged by the same replay, weeks and draws; the figures
of one are comparable with the others' only if they share it.
"""

from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np

from healthcare.hours import hour_start
from optimization.roster import hindsight_plan
from optimization.rules import StaffingRules, shift_instances
from optimization.simulate import LOOKAHEAD, WEEK_HOURS, Episode, PatientFlow
from predictions.census import StayModel
from predictions.features import Calendar
from predictions.ml import History, TrainedForecaster

WEEK_START_HOUR = 7  # local Monday 07:00: shifts of 8 h (07/15/23) and 12 h (07/19) change then


def _is_week_start(hour: int, zone: ZoneInfo) -> bool:
    moment = hour_start(hour).astimezone(zone)
    return moment.weekday() == 0 and moment.hour == WEEK_START_HOUR and moment.minute == 0


def week_starts(calendar: Calendar, start: int, end: int, timezone: str) -> list[int]:
    """Epoch hours of the local Mondays 07:00 from start on whose whole week ends by `end`."""
    zone = ZoneInfo(timezone)
    return [
        hour
        for hour in range(start, end - WEEK_HOURS + 2)
        if _is_week_start(hour, zone) and hour + week_length(hour, timezone) <= end
    ]


def week_length(start_hour: int, timezone: str) -> int:
    """Hours from a local Monday 07:00 to the next: 168, or 167 / 169 across a clock change."""
    zone = ZoneInfo(timezone)
    for length in (WEEK_HOURS, WEEK_HOURS - 1, WEEK_HOURS + 1):
        if _is_week_start(start_hour + length, zone):
            return length
    return WEEK_HOURS


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
        """The week from this local Monday 07:00 to the next, forecast at its start (earlier data only)."""
        hours = week_length(start_hour, self.timezone)
        forecast = self.forecaster.forecast(self.history, self.calendar, start_hour, WEEK_HOURS, 0.9)
        # The projection reaches past the forecast (LOOKAHEAD hours, and an hour more in a
        # 169-hour week): the forecast's last day repeats.
        extra = hours + LOOKAHEAD - WEEK_HOURS
        rates = np.concatenate([forecast.mean, np.resize(forecast.mean[WEEK_HOURS - 24 :], extra)])
        rows = self.calendar.rows(start_hour, start_hour + hours)
        day = np.cumsum(np.r_[0, np.diff(self.calendar.day_of_year[rows]) != 0])
        # Patients who arrived in the 30 days before the week can still be there; stays are never longer.
        flow = self.flow.between(start_hour - 30 * 24, start_hour + hours + LOOKAHEAD)
        return Episode(
            rules=self.rules,
            flow=flow,
            start_hour=start_hour,
            local_hour=self.calendar.hour_of_day[rows],
            day=day,
            arrival_rates=rates,
            stays=self.stays,
            dispersion=self.forecaster.calibration.dispersion,
            hours=hours,
        )


def oracle_cost(week: Episode, census: np.ndarray, roster=None) -> float:
    """Hindsight oracle (or, with a roster, the clairvoyant-recourse bound) of the week: the solver's
    proven lower bound, so no policy's cost can fall below it."""
    instances = shift_instances(week.rules, week.local_hour)
    return hindsight_plan(week.rules, census, instances, week.day, roster=roster).lower_bound


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
                    census=episode.flow.census(start, episode.hours),
                    projection=episode.projection(0, episode.hours),
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


# --- The whole study: tune the baselines, train the policy, judge them all ------------------------

TUNING_WEEKS = 26
QUANTILE_GRID = (0.5, 1.0, 1.5, 1.75, 2.0, 2.25, 2.5)
RULE_GRID = tuple(
    (z_roster, z_call, z_release)
    for z_roster in (1.0, 1.25, 1.5)
    for z_call in (1.0, 1.5, 2.0)
    for z_release in (2.0, 2.5, 3.0)
)
TUNING_SEED, TRAINING_SEED = 100, 200


@dataclass
class Tuned:
    """Baselines tuned on weeks before the evaluation: the quantile roster and the reactive rule."""

    quantile_z: float
    rule_z: float
    rule: object
    table: list[dict]


def tune_baselines(cases: list[WeekCase], target_compliance: float) -> Tuned:
    """Lowest cost meeting the compliance target: a quantile roster alone, and a rule on its roster."""
    from optimization.baselines import ReactiveRule

    (quantile_z, _), _, quantile_tried = tune(cases, [(z, None) for z in QUANTILE_GRID], target_compliance)
    rules = [(z, ReactiveRule(z_call, z_release)) for z, z_call, z_release in RULE_GRID]
    (rule_z, rule), _, rule_tried = tune(cases, rules, target_compliance)
    table = [
        {
            "roster_z": z,
            "z_call": getattr(policy, "z_call", None),
            "z_release": getattr(policy, "z_release", None),
            "cost": round(sum(totals.costs), 1),
            "compliance": round(totals.compliance, 5),
        }
        for (z, policy), totals in quantile_tried + rule_tried
    ]
    return Tuned(quantile_z, rule_z, rule, table)


def split_weeks(weeks: list[int]) -> tuple[list[int], list[int]]:
    """(training weeks, tuning weeks): the last TUNING_WEEKS (at most a third) are held out for tuning."""
    held = min(TUNING_WEEKS, max(1, len(weeks) // 3))
    return weeks[:-held], weeks[-held:]


HELD_OUT_WEEKS = 8


def split_weeks_three(weeks: list[int]) -> tuple[list[int], list[int], list[int]]:
    """(training, tuning, held-out) weeks in time order: the last few judge the tuned rule against PPO."""
    held = min(HELD_OUT_WEEKS, max(2, len(weeks) // 6))
    training, tuning = split_weeks(weeks[:-held])
    return training, tuning, weeks[-held:]


def _summary(totals: Totals, oracle_total: float, weeks: int) -> dict:
    decisions = totals.decision_seconds or []
    return {
        "cost_ratio": round(sum(totals.costs) / oracle_total, 4),
        "compliance": round(totals.compliance, 5),
        "understaffed_hours_per_week": round(totals.understaffed_hours / weeks, 2),
        "callins_per_week": round(totals.callins / weeks, 2),
        "decision_ms": round(1000 * float(np.mean(decisions)), 3) if decisions else None,
    }


@dataclass
class DepartmentData:
    """What the study needs of a department, in plain form."""

    rules: StaffingRules
    history: History
    calendar: Calendar
    stays: StayModel
    timezone: str

    def replays(self, forecaster: TrainedForecaster, seed: int, count: int) -> list[Replay]:
        return [
            Replay.build(
                rules=self.rules,
                history=self.history,
                calendar=self.calendar,
                forecaster=forecaster,
                stays=self.stays,
                timezone=self.timezone,
                seed=seed + index,
            )
            for index in range(count)
        ]


@dataclass
class Trained:
    """The tuned baselines and the PPO policy trained on the same roster."""

    tuned: Tuned
    network: object
    report: object
    learned: object
    tuning_forecasts: str  # "out of sample", or why not


def tune_and_train(
    unit: DepartmentData,
    *,
    training_weeks: list[int],
    tuning_weeks: list[int],
    timesteps: int,
    target_compliance: float,
    fallback_forecaster: TrainedForecaster,
    progress=None,
) -> Trained:
    """Tune the baselines on tuning_weeks, then train PPO on training_weeks (all before them).

    The weeks are forecast by a model trained before the first tuning week, so the tuning
    sees forecasts as uncertain as they will be later (the training weeks are in its sample).
    With too little history for that model, fallback_forecaster (which has seen them) is used.
    """
    from optimization import rl
    from predictions.ml import forecaster_train

    def say(message):
        if progress:
            progress(message)

    try:
        forecaster = forecaster_train(unit.history, unit.calendar, until=tuning_weeks[0])
        tuning_forecasts = "out of sample"
    except ValueError as exc:
        forecaster = fallback_forecaster
        tuning_forecasts = f"in sample ({exc})"
    say(f"tuning the baselines on {len(tuning_weeks)} weeks, forecasts {tuning_forecasts}")
    tuned = tune_baselines(week_cases(unit.replays(forecaster, TUNING_SEED, 1), tuning_weeks), target_compliance)
    say(f"  quantile roster z={tuned.quantile_z:g}; rule on z={tuned.rule_z:g} roster: {tuned.rule}")
    cases = week_cases(unit.replays(forecaster, TRAINING_SEED, 2), training_weeks)
    plans = [(case.episode, case.roster(tuned.rule_z)) for case in cases]
    say(f"training PPO on {len(plans)} week episodes, {timesteps:,} steps")
    network, report = rl.policy_train(
        plans,
        tuned.rule,
        timesteps=timesteps,
        target_compliance=target_compliance,
        progress=(lambda done, total, compliance, _: say(f"  {done:,}/{total:,} steps, compliance {compliance:.4f}"))
        if progress
        else None,
    )
    learned = rl.LearnedPolicy(network, tuned.rule, rl.default_shield(tuned.rule))
    return Trained(tuned, network, report, learned, tuning_forecasts)


def staffing_evaluation(
    unit: DepartmentData,
    *,
    forecaster: TrainedForecaster,
    train_until: int,
    start: int,
    end: int,
    seeds: int = 3,
    timesteps: int = 200_000,
    target_compliance: float = 0.999,
    progress=None,
) -> dict:
    """Tune and train on weeks before train_until; judge every policy on the whole weeks from start to end.

    forecaster: trained before train_until; it forecasts the judged weeks.
    Returns {"policies": {name: {cost_ratio, compliance, understaffed_hours_per_week,
    callins_per_week, decision_ms}}, "ppo_vs_rule": {"diff", "ci95"}, ...}: total cost over
    total oracle cost, and the PPO-rule difference as a share of the rule's cost.
    """
    import time

    if not forecaster.training_end_hour <= train_until <= start:
        raise ValueError("the forecaster and the training must end before the judged weeks begin")
    weeks_before = week_starts(unit.calendar, unit.history.first_hour + 35 * 24, train_until, unit.timezone)
    training_weeks, tuning_weeks = split_weeks(weeks_before)
    evaluation_weeks = week_starts(unit.calendar, start, end, unit.timezone)
    if not evaluation_weeks:
        raise ValueError("no whole week (Monday 07:00 to Monday 07:00) between start and end")
    trained = tune_and_train(
        unit,
        training_weeks=training_weeks,
        tuning_weeks=tuning_weeks,
        timesteps=timesteps,
        target_compliance=target_compliance,
        fallback_forecaster=forecaster,
        progress=progress,
    )
    tuned = trained.tuned
    if progress:
        progress(f"judging on {len(evaluation_weeks)} weeks x {seeds} length-of-stay draws")
    cases = week_cases(unit.replays(forecaster, 1, seeds), evaluation_weeks)
    started = time.perf_counter()
    oracle = [oracle_cost(case.episode, case.census) for case in cases]
    oracle_seconds = (time.perf_counter() - started) / len(cases)
    clairvoyant = [oracle_cost(case.episode, case.census, roster=case.roster(tuned.rule_z)) for case in cases]
    oracle_total = sum(oracle)
    results = {
        "static": run_policy(cases, 0.0, None),
        "quantile": run_policy(cases, tuned.quantile_z, None),
        "rule": run_policy(cases, tuned.rule_z, tuned.rule),
        "ppo": run_policy(cases, tuned.rule_z, trained.learned),
    }
    policies = {
        "oracle": {"cost_ratio": 1.0, "solve_ms_per_week": round(1000 * oracle_seconds, 1)},
        "clairvoyant": {"cost_ratio": round(sum(clairvoyant) / oracle_total, 4)},
    }
    policies.update({name: _summary(totals, oracle_total, len(cases)) for name, totals in results.items()})
    diff, (low, high) = paired_difference(results["ppo"].costs, results["rule"].costs)
    report = trained.report
    return {
        "policies": policies,
        "ppo_vs_rule": {"diff": round(diff, 5), "ci95": [round(low, 5), round(high, 5)]},
        "weeks": len(evaluation_weeks),
        "seeds": seeds,
        "tuned": {
            "forecasts": trained.tuning_forecasts,
            "quantile_z": tuned.quantile_z,
            "rule": {"roster_z": tuned.rule_z, "z_call": tuned.rule.z_call, "z_release": tuned.rule.z_release},
            "table": tuned.table,
        },
        "ppo_training": {
            "timesteps": report.timesteps,
            "seconds": round(report.seconds, 1),
            "imitation_accuracy": round(report.imitation_accuracy, 4),
            "lagrange_final": round(report.lagrange_final, 2),
        },
    }
