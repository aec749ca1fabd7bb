"""Hours flagged "at risk" of being short, against the hours that were short, in simulated weeks.

    DEBUG=true .venv/bin/python bench/staffing_risk.py [--weeks 16] [--seed 1] [--demo-units ED ICU MEDSURG]

Each week is run hour by hour in the department simulator with the default policy: at the
start of hour t, decide() (the reactive rule on the quantile roster, both from DEFAULT_POLICY)
gives the call-ins and releases the simulation then carries out, and hours_ahead() gives, for
the hours t + 1 .. t + 12, the chance of being short after those call-ins and the recourse the
policy can still take. The projection is taken 13 hours long (the policy itself still sees the
12 hours of its observation), so that hour t + 12 is judged too. An hour counts as short when
the staff on duty in it is below what the ratio requires for its census in the finished week
(as Outcome.understaffed_hours counts); pairs whose hour falls past the week's end are dropped.

Precision (share of the flagged hours that were short) and recall (share of the short hours
that were flagged) are given per threshold and per band of hours ahead; the goal is recall of
at least 80 % with precision of at least 50 % at 1-12 h ahead, at the default threshold. The
current hour is checked too: decide()'s short_now against the finished week, both for the census
of the whole hour (the simulator's) and for the census at its start (what decide() is given).

Two data sets:
- UIHC ED: the real arrivals (lognormal stays, median 4 h, sigma 0.6, as bench/staffing.py),
  1 nurse per 4 patients, at least 2, default costs; the forecaster is trained before
  2016-12-01 and `--weeks` whole weeks spread evenly from then to 2017-10-09 are replayed
  with one length-of-stay draw (`--seed`).
- The demo hospital: the stays the demo generator seeds (`--demo-days` days up to `--demo-end`,
  `--demo-seed`), each unit with its unit type's default ratio and its length-of-stay profile;
  its forecaster is trained before the last `--weeks` whole weeks, which are replayed.

The product's estimate is also scored without the recourse the policy can take after the
decision made now, to show what modelling it is worth. Progress goes to stderr; the Markdown
tables, then the JSON report, to stdout.

One script because the flags, the simulated weeks and the figures they are judged by come from one
simulation run; split, the parts would have to agree on it.
"""

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "healthcare.settings")

import django  # noqa: E402

django.setup()

from bench.forecast import ZONE, load_history, local_hour  # noqa: E402
from bench.staffing import END, TRAIN_UNTIL  # noqa: E402
from demo.seeding import DEMO_TIME_ZONE  # noqa: E402
from healthcare.encounters.choices import UNIT_DEFAULTS  # noqa: E402
from healthcare.encounters.synthetic import DEMO_PROFILES, FlowProfile, synthetic_stays  # noqa: E402
from optimization.baselines import ReactiveRule  # noqa: E402
from optimization.evaluation import DepartmentData, Replay, WeekCase, week_cases, week_starts  # noqa: E402
from optimization.policies import DEFAULT_POLICY  # noqa: E402
from optimization.rules import DEFAULT_RISK_THRESHOLD, StaffingRules  # noqa: E402
from optimization.simulate import LOOKAHEAD, PatientFlow, Simulation  # noqa: E402
from optimization.staffing import decide, hours_ahead  # noqa: E402
from predictions.census import StayModel  # noqa: E402
from predictions.features import Calendar  # noqa: E402
from predictions.ml import History, forecaster_train  # noqa: E402

# Offsets 0 .. HORIZON - 1 are judged: one hour more than the policy's own look-ahead.
HORIZON = LOOKAHEAD + 1
THRESHOLDS = (0.05, DEFAULT_RISK_THRESHOLD, 0.20, 0.30)
BANDS = {"1-3 h": (1, 3), "4-6 h": (4, 6), "7-12 h": (7, 12), "1-12 h": (1, 12)}
OVERALL = "1-12 h"
GOAL_RECALL, GOAL_PRECISION = 0.80, 0.50
# Bins of p_short for the calibration table (left-closed).
CALIBRATION_EDGES = (0.0, 0.01, 0.05, 0.10, 0.20, 0.30, 0.50, 1.0)
# Thresholds tried when looking for one that would meet the goal.
THRESHOLD_STEP, THRESHOLD_SCAN_TO = 0.005, 0.5
THRESHOLD_SCAN = tuple(
    round(step * THRESHOLD_STEP, 3) for step in range(1, int(round(THRESHOLD_SCAN_TO / THRESHOLD_STEP)) + 1)
)
# The UIHC ED's lengths of stay, as the staffing evaluation assumes them.
UIHC_STAYS = StayModel(median_hours=4.0, sigma=0.6)
DEMO_END = "2026-03-02T00:00"


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- Simulating a week --------------------------------------------------------------------------


@dataclass
class WeekRun:
    """One simulated week: what hours_ahead was given at the start of each hour, and what happened.

    mean, std, planned: (hours, HORIZON) arrays, the projection and the planned staff as known at
    the start of each hour (planned before that hour's decision); call_in, oncall_left: per hour,
    the decision's call-ins and the on-call nurses left when it was made; day: the local day of
    each hour (the on-call cap is per day); short: whether each hour
    of the finished week was short (staff below the ratio for the hour's census); short_now:
    decide()'s verdict; short_at_start: the finished week's staff against the census at the hour's
    start; census_hour, census_start: the two censuses.
    """

    rules: StaffingRules
    mean: np.ndarray
    std: np.ndarray
    planned: np.ndarray
    call_in: np.ndarray
    oncall_left: np.ndarray
    day: np.ndarray
    short: np.ndarray
    short_now: np.ndarray
    short_at_start: np.ndarray
    census_hour: np.ndarray
    census_start: np.ndarray
    projection_mismatch: float  # largest gap between the observation's projection and the 13-hour one


def run_week(case: WeekCase, *, z_roster: float, policy: ReactiveRule) -> WeekRun:
    """Simulate the week with decide() as the product makes it, recording every hour's inputs."""
    episode, rules = case.episode, case.episode.rules
    simulation = Simulation(episode, case.roster(z_roster))
    hours = episode.hours
    mean, std = np.zeros((hours, HORIZON)), np.zeros((hours, HORIZON))
    planned = np.zeros((hours, HORIZON), dtype=np.int64)
    call_in, oncall_left = np.zeros(hours, dtype=np.int64), np.zeros(hours, dtype=np.int64)
    short_now, census_start = np.zeros(hours, dtype=bool), np.zeros(hours, dtype=np.int64)
    mismatch = 0.0
    while not simulation.done:
        hour = simulation.hour
        observation = simulation.observe()
        decision = decide(
            rules=observation.rules,
            census_now=observation.census_now,
            on_duty=int(observation.planned[0]),
            oncall_left=observation.oncall_left,
            observation=observation,
            policy=policy,
        )
        # The longer projection and plan are read before the decision is carried out, as the
        # observation is: hours_ahead adds the decided call-ins itself.
        projection = episode.projection(hour, HORIZON)
        if len(projection.mean) != HORIZON:
            raise ValueError(f"the arrival forecast does not reach {HORIZON} hours past hour {hour}")
        mismatch = max(
            mismatch,
            float(np.max(np.abs(projection.mean[:LOOKAHEAD] - observation.projection.mean))),
            float(np.max(np.abs(projection.std[:LOOKAHEAD] - observation.projection.std))),
        )
        mean[hour], std[hour] = projection.mean, projection.std
        planned[hour] = simulation.planned(HORIZON)
        call_in[hour], oncall_left[hour] = decision.call_in, observation.oncall_left
        short_now[hour], census_start[hour] = decision.short_now > 0, observation.census_now
        simulation.advance(decision.call_in, decision.release)
    outcome = simulation.finish()
    return WeekRun(
        rules=rules,
        mean=mean,
        std=std,
        planned=planned,
        call_in=call_in,
        oncall_left=oncall_left,
        day=np.asarray(episode.day, dtype=np.int64),
        short=outcome.staff < rules.required(outcome.census),
        short_now=short_now,
        short_at_start=outcome.staff < rules.required(census_start),
        census_hour=np.asarray(outcome.census, dtype=np.int64),
        census_start=census_start,
        projection_mismatch=mismatch,
    )


# --- What is scored: the product's hours_ahead ----------------------------------------------------

# An estimator gives p_short for offsets 0 .. HORIZON - 1, from what was known at the start of
# one hour of a simulated week (run, hour).
Estimator = Callable[[WeekRun, int], np.ndarray]


def product_estimator(z_recourse: float | None, max_call: int) -> Estimator:
    """optimization.staffing.hours_ahead as the product calls it (z_recourse: the policy's z_call;
    None: no recourse after the decision made now, for comparison)."""

    def estimate(run: WeekRun, hour: int) -> np.ndarray:
        last = len(run.day) - 1
        day = run.day[np.minimum(hour + np.arange(HORIZON), last)]
        ahead = hours_ahead(
            rules=run.rules,
            mean=run.mean[hour],
            std=run.std[hour],
            planned=run.planned[hour],
            call_in=int(run.call_in[hour]),
            oncall_left=int(run.oncall_left[hour]),
            z_recourse=z_recourse,
            max_call=max_call,
            day=day,
        )
        return np.array([hour_ahead.p_short for hour_ahead in ahead])

    return estimate


# --- Scoring ------------------------------------------------------------------------------------


@dataclass
class Pairs:
    """(offset, p_short, really short) for every judged hour ahead of one data set."""

    offset: np.ndarray
    p_short: np.ndarray
    short: np.ndarray


def pairs_of(runs: list[WeekRun], estimator: Estimator) -> Pairs:
    """Every (hour t, offset k) with t + k inside its week, k = 1 .. HORIZON - 1."""
    offsets, chances, truths = [], [], []
    for run in runs:
        hours = len(run.short)
        for hour in range(hours):
            p_short = estimator(run, hour)
            ahead = np.arange(1, min(HORIZON, hours - hour))
            offsets.append(ahead)
            chances.append(p_short[ahead])
            truths.append(run.short[hour + ahead])
    return Pairs(np.concatenate(offsets), np.concatenate(chances), np.concatenate(truths))


def scores(pairs: Pairs, threshold: float, band: tuple[int, int]) -> dict:
    """Flagged, short and flagged-and-short hours of the band, with precision and recall."""
    inside = (pairs.offset >= band[0]) & (pairs.offset <= band[1])
    flagged = inside & (pairs.p_short > threshold)
    short = inside & pairs.short
    hits = int(np.sum(flagged & short))
    # Were p_short exactly right, a flagged hour would be short with chance p_short: these are the
    # precision and recall the estimator itself expects (its own ceiling, however it is thresholded).
    expected_hits, expected_short = float(np.sum(pairs.p_short[flagged])), float(np.sum(pairs.p_short[inside]))
    return {
        "pairs": int(inside.sum()),
        "flagged": int(flagged.sum()),
        "short": int(short.sum()),
        "hits": hits,
        "precision": hits / int(flagged.sum()) if flagged.any() else None,
        "recall": hits / int(short.sum()) if short.any() else None,
        "precision_if_exact": expected_hits / int(flagged.sum()) if flagged.any() else None,
        "recall_if_exact": expected_hits / expected_short if expected_short else None,
    }


def meets_goal(row: dict) -> bool:
    return (row["recall"] or 0.0) >= GOAL_RECALL and (row["precision"] or 0.0) >= GOAL_PRECISION


def calibration(pairs: Pairs) -> list[dict]:
    """Per bin of p_short (1-12 h): how many, the mean chance, and the share that were short."""
    rows = []
    edges = CALIBRATION_EDGES
    for low, high in zip(edges[:-1], edges[1:], strict=True):
        inside = (pairs.p_short >= low) & ((pairs.p_short < high) if high < 1.0 else (pairs.p_short <= high))
        count = int(inside.sum())
        rows.append(
            {
                "p_from": low,
                "p_to": high,
                "pairs": count,
                "mean_p": float(np.mean(pairs.p_short[inside])) if count else None,
                "short_rate": float(np.mean(pairs.short[inside])) if count else None,
            }
        )
    return rows


def _runs(thresholds: list[float]) -> list[list[float]]:
    """Thresholds of the scan as [first, last] of each run of consecutive steps."""
    runs: list[list[float]] = []
    for threshold in thresholds:
        if runs and round(threshold - runs[-1][1], 3) <= THRESHOLD_STEP:
            runs[-1][1] = threshold
        else:
            runs.append([threshold, threshold])
    return runs


def threshold_scan(pairs: Pairs) -> dict:
    """The thresholds of THRESHOLD_SCAN meeting the goal at 1-12 h (as [first, last] runs), and the
    one of best precision among those with recall at the goal (None when no threshold reaches it)."""
    band = BANDS[OVERALL]
    tried = {threshold: scores(pairs, threshold, band) for threshold in THRESHOLD_SCAN}
    meeting = [threshold for threshold, row in tried.items() if meets_goal(row)]
    with_recall = [threshold for threshold, row in tried.items() if (row["recall"] or 0.0) >= GOAL_RECALL]
    best = max(with_recall, key=lambda threshold: tried[threshold]["precision"] or 0.0) if with_recall else None
    return {
        "thresholds_meeting_goal": _runs(meeting),
        "best_at_goal_recall": {"threshold": float(best), **tried[best]} if best is not None else None,
    }


def estimator_report(runs: list[WeekRun], estimator: Estimator) -> dict:
    pairs = pairs_of(runs, estimator)
    return {
        "thresholds": {
            str(threshold): {band: scores(pairs, threshold, bounds) for band, bounds in BANDS.items()}
            for threshold in THRESHOLDS
        },
        "brier": float(np.mean((pairs.p_short - pairs.short) ** 2)),
        "calibration": calibration(pairs),
        "scan": threshold_scan(pairs),
    }


def now_check(runs: list[WeekRun]) -> dict:
    """decide()'s short_now against the finished week, on the hour's census and on its start."""
    short_now = np.concatenate([run.short_now for run in runs])
    hour = np.concatenate([run.short for run in runs])
    start = np.concatenate([run.short_at_start for run in runs])
    census_hour = np.concatenate([run.census_hour for run in runs])
    census_start = np.concatenate([run.census_start for run in runs])

    def agreement(truth: np.ndarray) -> dict:
        return {
            "agree": float(np.mean(short_now == truth)),
            "short": int(truth.sum()),
            "short_now_and_short": int(np.sum(short_now & truth)),
            "short_now_not_short": int(np.sum(short_now & ~truth)),
            "short_not_short_now": int(np.sum(~short_now & truth)),
        }

    return {
        "hours": len(short_now),
        "short_now": int(short_now.sum()),
        "hour_census": agreement(hour),
        "start_census": agreement(start),
        "census_hour_above_start": float(np.mean(census_hour > census_start)),
        "census_hour_minus_start_mean": float(np.mean(census_hour - census_start)),
    }


# --- The data sets ------------------------------------------------------------------------------


def evenly_spread(items: list[int], count: int) -> list[int]:
    """`count` of the items, evenly spread from the first to the last (all when there are fewer)."""
    if count >= len(items):
        return list(items)
    return [items[int(round(position))] for position in np.linspace(0, len(items) - 1, count)]


def uihc_cases(weeks: int, seed: int) -> tuple[list[WeekCase], dict]:
    """The UIHC ED weeks as the staffing evaluation replays them (forecaster trained before TRAIN_UNTIL)."""
    history = load_history()
    train_until, end = local_hour(TRAIN_UNTIL), local_hour(END)
    calendar = Calendar.build(history.first_hour, end + 400 - history.first_hour, timezone=ZONE, holiday_country="US")
    say(f"UIHC ED: training the forecaster on the hours before {TRAIN_UNTIL}")
    forecaster = forecaster_train(history, calendar, until=train_until)
    defaults = UNIT_DEFAULTS["ed"]
    rules = StaffingRules(patients_per_nurse=defaults.patients_per_nurse, min_nurses=defaults.min_nurses)
    unit = DepartmentData(rules=rules, history=history, calendar=calendar, stays=UIHC_STAYS, timezone=ZONE)
    chosen = evenly_spread(week_starts(calendar, train_until, end, ZONE), weeks)
    about = {
        "forecaster": forecaster.algorithm,
        "trained_before": TRAIN_UNTIL,
        "weeks_from": _local_text(chosen[0], ZONE),
        "weeks_to": _local_text(chosen[-1], ZONE),
        "rules": {"patients_per_nurse": rules.patients_per_nurse, "min_nurses": rules.min_nurses},
    }
    return week_cases(unit.replays(forecaster, seed, 1), chosen), about


def demo_cases(profile: FlowProfile, *, weeks: int, days: int, seed: int, end: datetime) -> tuple[list[WeekCase], dict]:
    """The demo unit's seeded stays replayed as they are; forecaster trained before the last `weeks` weeks."""
    zone = ZoneInfo(DEMO_TIME_ZONE)
    first = end - timedelta(hours=days * 24)
    stays = synthetic_stays(profile, first_hour=first, hours=days * 24, tz=zone, seed=seed)
    arrivals = np.array([stay.start.timestamp() / 3600 for stay in stays])
    # A stay still running at the window's end is "still here" (the simulator's +inf).
    departures = np.array([stay.end.timestamp() / 3600 if stay.end else np.inf for stay in stays])
    order = np.argsort(arrivals, kind="stable")
    flow = PatientFlow(arrivals[order], departures[order])
    first_hour, end_hour = int(first.timestamp() // 3600), int(end.timestamp() // 3600)
    counts = np.bincount(np.floor(arrivals).astype(np.int64) - first_hour, minlength=end_hour - first_hour)
    history = History(first_hour, counts[: end_hour - first_hour].astype(np.float64))
    calendar = Calendar.build(first_hour, end_hour + 400 - first_hour, timezone=DEMO_TIME_ZONE, holiday_country="US")
    chosen = week_starts(calendar, first_hour, end_hour, DEMO_TIME_ZONE)[-weeks:]
    if not chosen:
        raise SystemExit(f"demo {profile.code}: no whole week in {days} days; give more --demo-days")
    say(f"demo {profile.code}: {len(stays):,} stays; training the forecaster before {_local_text(chosen[0], zone)}")
    forecaster = forecaster_train(history, calendar, until=chosen[0])
    defaults = UNIT_DEFAULTS[profile.unit_type]
    rules = StaffingRules(patients_per_nurse=defaults.patients_per_nurse, min_nurses=defaults.min_nurses)
    replay = Replay(
        rules=rules,
        history=history,
        calendar=calendar,
        forecaster=forecaster,
        stays=StayModel(profile.los_median_hours, profile.los_sigma),
        flow=flow,
        timezone=DEMO_TIME_ZONE,
    )
    about = {
        "forecaster": forecaster.algorithm,
        "stays": len(stays),
        "weeks_from": _local_text(chosen[0], zone),
        "weeks_to": _local_text(chosen[-1], zone),
        "rules": {"patients_per_nurse": rules.patients_per_nurse, "min_nurses": rules.min_nurses},
    }
    return week_cases([replay], chosen), about


def _local_text(hour: int, zone: str | ZoneInfo) -> str:
    zone = ZoneInfo(zone) if isinstance(zone, str) else zone
    return datetime.fromtimestamp(hour * 3600, tz=UTC).astimezone(zone).strftime("%Y-%m-%d %H:%M")


def default_policy() -> ReactiveRule:
    """The policy a department without a trained one runs (optimization.policies.active_policy)."""
    return ReactiveRule(DEFAULT_POLICY["z_call"], DEFAULT_POLICY["z_release"])


def data_set_report(name: str, cases: list[WeekCase], about: dict, estimators: dict[str, Estimator]) -> dict:
    """Simulate the weeks once, then score every estimator on the same hours."""
    started = time.perf_counter()
    policy = default_policy()
    runs = []
    for index, case in enumerate(cases, 1):
        runs.append(run_week(case, z_roster=DEFAULT_POLICY["z_roster"], policy=policy))
        say(f"  {name}: week {index}/{len(cases)} simulated, {int(runs[-1].short.sum())} short hours")
    simulated = time.perf_counter() - started
    report = {
        "name": name,
        **about,
        "weeks": len(runs),
        "hours": int(sum(len(run.short) for run in runs)),
        "short_hours": int(sum(run.short.sum() for run in runs)),
        "max_offset": HORIZON - 1,
        "projection_mismatch": max(run.projection_mismatch for run in runs),
        "now_check": now_check(runs),
        "estimators": {},
    }
    for label, estimator in estimators.items():
        report["estimators"][label] = estimator_report(runs, estimator)
        say(f"  {name}: scored {label}")
    report["seconds"] = round(time.perf_counter() - started, 1)
    report["simulate_seconds"] = round(simulated, 1)
    return report


# --- Printing -----------------------------------------------------------------------------------

PRODUCT = "product"
RATES = ("precision", "recall", "precision_if_exact", "recall_if_exact")


def print_tables(reports: list[dict]) -> None:
    for report in reports:
        check = report["now_check"]
        print()
        print(
            f"## {report['name']}: {report['weeks']} weeks ({report['weeks_from']} to {report['weeks_to']}),"
            f" {report['hours']} hours, {report['short_hours']} short, forecaster {report['forecaster']}"
        )
        print()
        print(
            f"Current hour: decide() short_now in {check['short_now']} hours; agrees with the finished week"
            f" {check['start_census']['agree']:.2%} of hours on the census at the hour's start"
            f" ({check['start_census']['short']} short), {check['hour_census']['agree']:.2%} on the census of"
            f" the whole hour ({check['hour_census']['short']} short; that census exceeds the start's in"
            f" {check['census_hour_above_start']:.1%} of hours, by {check['census_hour_minus_start_mean']:.1f}"
            f" patients on average). On the whole hour's census, {check['hour_census']['short_not_short_now']}"
            f" short hours were not short at the start, {check['hour_census']['short_now_not_short']} the other way."
        )
        product = report["estimators"][PRODUCT]
        print()
        print(f"Product hours_ahead (z_recourse = z_call = {DEFAULT_POLICY['z_call']:g}):")
        print()
        print(
            "| threshold | hours ahead | pairs | flagged | short | hits | precision | recall"
            " | precision if p exact | recall if p exact |"
        )
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for threshold, bands in product["thresholds"].items():
            label = f"{threshold}{' (default)' if float(threshold) == DEFAULT_RISK_THRESHOLD else ''}"
            for band, row in bands.items():
                cells = [str(row[key]) for key in ("pairs", "flagged", "short", "hits")]
                cells += [_percent(row[key]) for key in RATES]
                print(f"| {label} | {band} | {' | '.join(cells)} |")
        print()
        print("Calibration of the product's p_short, 1-12 h ahead:")
        print()
        print("| p_short | pairs | mean p_short | share short |")
        print("| --- | --- | --- | --- |")
        for row in product["calibration"]:
            cells = [str(row["pairs"]), _percent(row["mean_p"], ".2%"), _percent(row["short_rate"], ".2%")]
            print(f"| {row['p_from']:g}-{row['p_to']:g} | {' | '.join(cells)} |")
        print()
        print("The product with and without the recourse after the decision now, 1-12 h ahead:")
        print()
        print("| estimator | threshold | flagged | hits | precision | recall | goal |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for label, scored in report["estimators"].items():
            for threshold, bands in scored["thresholds"].items():
                row = bands[OVERALL]
                cells = [str(row["flagged"]), str(row["hits"]), _percent(row["precision"]), _percent(row["recall"])]
                print(f"| {label} | {threshold} | {' | '.join(cells)} | {'met' if meets_goal(row) else 'missed'} |")
            best = scored["scan"]["best_at_goal_recall"]
            if best:
                cells = [str(best["flagged"]), str(best["hits"]), _percent(best["precision"]), _percent(best["recall"])]
                verdict = "met" if meets_goal(best) else "missed"
                threshold = f"{best['threshold']:g} (best at recall {GOAL_RECALL:.0%})"
                print(f"| {label} | {threshold} | {' | '.join(cells)} | {verdict} |")
        print()
        for label, scored in report["estimators"].items():
            row = scored["thresholds"][str(DEFAULT_RISK_THRESHOLD)][OVERALL]
            verdict = "met" if meets_goal(row) else "MISSED"
            meeting = scored["scan"]["thresholds_meeting_goal"]
            print(
                f"  [{verdict}] {label}: recall >= {GOAL_RECALL:.0%} with precision >= {GOAL_PRECISION:.0%}"
                f" at 1-12 h, threshold {DEFAULT_RISK_THRESHOLD:g}:"
                f" recall {_percent(row['recall'])}, precision {_percent(row['precision'])};"
                f" thresholds meeting it: {_ranges(meeting) or 'none'}"
                f" (tried {THRESHOLD_SCAN[0]:g} to {THRESHOLD_SCAN[-1]:g} by {THRESHOLD_STEP:g})"
            )


def _ranges(runs: list[list[float]]) -> str:
    """[first, last] runs of thresholds as "0.15-0.2, 0.26"."""
    return ", ".join(f"{first:g}" if first == last else f"{first:g}-{last:g}" for first, last in runs)


def _rounded(value):
    """The report with its floats to 4 decimals: more would be noise, and the JSON stays readable."""
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_rounded(item) for item in value]
    return value


def _percent(value: float | None, spec: str = ".2%") -> str:
    return "-" if value is None else format(value, spec)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weeks", type=int, default=16, help="Weeks per data set")
    parser.add_argument("--seed", type=int, default=1, help="Length-of-stay draw of the UIHC replay")
    parser.add_argument("--demo-units", nargs="*", default=[profile.code for profile in DEMO_PROFILES])
    parser.add_argument("--demo-days", type=int, default=400, help="Days the demo generator seeds")
    parser.add_argument("--demo-seed", type=int, default=2026, help="The demo generator's seed")
    parser.add_argument("--demo-end", default=DEMO_END, help="End of the demo window (UTC)")
    parser.add_argument("--skip-uihc", action="store_true")
    parser.add_argument("--json", type=Path, help="Also write the JSON report here")
    args = parser.parse_args()
    if args.weeks < 1:
        parser.error("--weeks must be at least 1")

    started = time.perf_counter()
    z_call = DEFAULT_POLICY["z_call"]
    policy = default_policy()
    estimators: dict[str, Estimator] = {
        PRODUCT: product_estimator(z_call, policy.max_call),
        "product, no recourse": product_estimator(None, policy.max_call),
    }
    reports = []
    if not args.skip_uihc:
        cases, about = uihc_cases(args.weeks, args.seed)
        reports.append(data_set_report("UIHC ED", cases, about, estimators))
    end = datetime.fromisoformat(args.demo_end).replace(tzinfo=UTC)
    profiles = {profile.code: profile for profile in DEMO_PROFILES}
    for code in args.demo_units:
        if code not in profiles:
            parser.error(f"--demo-units: no demo unit {code} (have {', '.join(profiles)})")
        cases, about = demo_cases(profiles[code], weeks=args.weeks, days=args.demo_days, seed=args.demo_seed, end=end)
        reports.append(data_set_report(f"demo {code}", cases, about, estimators))
    document = {
        "policy": DEFAULT_POLICY,
        "default_threshold": DEFAULT_RISK_THRESHOLD,
        "goal": {"recall": GOAL_RECALL, "precision": GOAL_PRECISION, "hours_ahead": OVERALL},
        "seed": args.seed,
        "demo_seed": args.demo_seed,
        "data_sets": reports,
        "seconds": round(time.perf_counter() - started, 1),
    }
    print_tables(reports)
    print()
    text = json.dumps(_rounded(document), indent=2)
    print(text)
    if args.json:
        args.json.write_text(text)


if __name__ == "__main__":
    main()
