"""train_policy and evaluate_staffing from the command line (small budgets)."""

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from optimization.models import StaffingPolicy


def run(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_train_policy_stores_the_better_of_rule_and_ppo_as_active(ed_history):
    output, _ = run("train_policy", "--department", "ED", "--timesteps", "1344")
    assert "tuning the baselines" in output and "held-out weeks" in output
    policy = StaffingPolicy.objects.get()
    assert policy.is_active and policy.algorithm in ("rule", "ppo")
    assert policy.metrics["chosen"] == policy.algorithm
    assert bool(policy.artifact) == (policy.algorithm == "ppo")
    assert {"z_roster", "z_call", "z_release", "shield_z"} <= set(policy.parameters)


def test_train_policy_refuses_without_enough_weeks(ed):
    with pytest.raises(CommandError, match="no workload data"):
        run("train_policy", "--department", "ED", "--timesteps", "2000")
    with pytest.raises(CommandError, match="at least 1000"):
        run("train_policy", "--department", "ED", "--timesteps", "10")


def test_evaluate_staffing_prints_the_json_shape(ed_history):
    first = ed_history.workload_hours.order_by("hour").first().hour
    train_until = (first + timedelta(days=100)).isoformat()
    end = (first + timedelta(days=116)).isoformat()
    output, progress = run(
        "evaluate_staffing",
        "--department",
        "ED",
        "--train-until",
        train_until,
        "--start",
        train_until,
        "--end",
        end,
        "--seeds",
        "1",
        "--timesteps",
        "1344",
        "--format",
        "json",
    )
    report = json.loads(output)
    assert set(report["policies"]) == {"oracle", "clairvoyant", "static", "quantile", "rule", "ppo"}
    for name in ("static", "quantile", "rule", "ppo"):
        assert set(report["policies"][name]) == {
            "cost_ratio",
            "compliance",
            "understaffed_hours_per_week",
            "callins_per_week",
            "decision_ms",
        }
        assert report["policies"][name]["cost_ratio"] >= 1.0
    assert report["policies"]["clairvoyant"]["cost_ratio"] >= 1.0
    low, high = report["ppo_vs_rule"]["ci95"]
    assert low <= report["ppo_vs_rule"]["diff"] <= high
    assert "judging on" in progress


def test_evaluate_staffing_refuses_leaky_windows(ed_history):
    with pytest.raises(CommandError, match="--start must not be before --train-until"):
        run(
            "evaluate_staffing",
            "--department",
            "ED",
            "--train-until",
            "2030-01-01",
            "--start",
            "2029-01-01",
            "--end",
            "2031-01-01",
        )
