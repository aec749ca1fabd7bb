"""Staffing policies on the real UIHC ED arrivals, judged against the hindsight oracle.

    .venv/bin/python bench/staffing.py [--timesteps 200000] [--seeds 3] [--shifts 8 12]

The ED: lognormal stays (median 4 h, sigma 0.6), 1 nurse per 4 patients, at least 2 nurses,
default costs (on-call 1.5x with 2 h lead and 4 h blocks, 4 call-ins a day, releases save
half, 10x penalty per patient-hour beyond the ratio). Forecaster, baselines and PPO are
trained and tuned only on data before 2016-12-01; every whole week from 2016-12-01 to
2017-10-09 is replayed with the real arrivals and `--seeds` length-of-stay draws.
Prints the table per policy, the paired PPO - rule difference, and the goals.
"""

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.forecast import ZONE, load_history, local_hour  # noqa: E402

TRAIN_UNTIL, END = "2016-12-01T00:00", "2017-10-09T00:00"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timesteps", type=int, default=200_000)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--shifts", type=int, nargs="+", default=[8, 12], choices=[8, 12])
    parser.add_argument("--json", type=Path, help="Also write the full reports here")
    args = parser.parse_args()

    from optimization.evaluation import DepartmentData, staffing_evaluation
    from optimization.rules import EIGHT_HOUR_SHIFTS, TWELVE_HOUR_SHIFTS, StaffingRules
    from predictions.census import StayModel
    from predictions.features import Calendar
    from predictions.ml import forecaster_train

    history = load_history()
    train_until, end = local_hour(TRAIN_UNTIL), local_hour(END)
    calendar = Calendar.build(history.first_hour, end + 400 - history.first_hour, timezone=ZONE, holiday_country="US")
    forecaster = forecaster_train(history, calendar, until=train_until)
    stays = StayModel(median_hours=4.0, sigma=0.6)
    reports = {}
    for hours in args.shifts:
        rules = StaffingRules(
            patients_per_nurse=4,
            min_nurses=2,
            shifts=EIGHT_HOUR_SHIFTS if hours == 8 else TWELVE_HOUR_SHIFTS,
        )
        started = time.perf_counter()
        report = staffing_evaluation(
            DepartmentData(rules=rules, history=history, calendar=calendar, stays=stays, timezone=ZONE),
            forecaster=forecaster,
            train_until=train_until,
            start=train_until,
            end=end,
            seeds=args.seeds,
            timesteps=args.timesteps,
            progress=lambda message, hours=hours: print(f"[{hours} h shifts] {message}", flush=True),
        )
        report["seconds"] = round(time.perf_counter() - started, 1)
        reports[f"{hours}h"] = report
        print_report(hours, report)
    if args.json:
        args.json.write_text(json.dumps(reports, indent=2))


def print_report(hours: int, report: dict) -> None:
    policies = report["policies"]
    print()
    print(f"UIHC ED, {hours} h shifts: {report['weeks']} weeks x {report['seeds']} stay draws ({report['seconds']} s)")
    print()
    print("| policy | cost / oracle | compliance | under-staffed h/week | call-ins/week | decision ms |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, row in policies.items():
        cells = [
            f"{row['cost_ratio']:.3f}",
            _cell(row.get("compliance"), ".3%"),
            _cell(row.get("understaffed_hours_per_week"), ".1f"),
            _cell(row.get("callins_per_week"), ".1f"),
            _cell(row.get("decision_ms"), ".3f"),
        ]
        print(f"| {name} | {' | '.join(cells)} |")
    difference = report["ppo_vs_rule"]
    low, high = difference["ci95"]
    print(f"\nPPO - rule, paired by week and draw: {difference['diff']:+.2%} of the rule's cost", end=" ")
    print(f"(95% CI {low:+.2%} to {high:+.2%})")
    ppo, rule = policies["ppo"], policies["rule"]
    best_static = min(policies["static"]["cost_ratio"], policies["quantile"]["cost_ratio"])
    goals = [
        ("PPO <= 1.25x oracle", ppo["cost_ratio"] <= 1.25, f"{ppo['cost_ratio']:.3f}"),
        ("compliance >= 99.9%", ppo["compliance"] >= 0.999, f"{ppo['compliance']:.3%}"),
        ("<= 2 under-staffed h/week", ppo["understaffed_hours_per_week"] <= 2, f"{ppo['understaffed_hours_per_week']}"),
        (
            "12% cheaper than best static",
            ppo["cost_ratio"] <= 0.88 * best_static,
            f"{ppo['cost_ratio'] / best_static - 1:+.1%}",
        ),
        (
            "2% cheaper than the rule, CI excluding 0",
            difference["diff"] <= -0.02 and high < 0,
            f"{difference['diff']:+.2%} [{low:+.2%}, {high:+.2%}]",
        ),
    ]
    for goal, met, figure in goals:
        print(f"  [{'met' if met else 'MISSED'}] {goal}: {figure}")
    print(f"  rule for comparison: {rule['cost_ratio']:.3f}x oracle, compliance {rule['compliance']:.3%}")


def _cell(value, spec: str) -> str:
    return "-" if value is None else format(value, spec)


if __name__ == "__main__":
    main()
