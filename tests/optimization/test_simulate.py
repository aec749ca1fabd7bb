"""The simulator, the projection, the baselines and the learned policy's plumbing."""

import numpy as np
import pytest

from optimization import rl
from optimization.baselines import ReactiveRule, quantile_roster
from optimization.projection import census_projection
from optimization.rules import StaffingRules, shift_instances
from optimization.simulate import LOOKAHEAD, Episode, PatientFlow, Simulation, simulate
from predictions.census import StayModel

RULES = StaffingRules(patients_per_nurse=4, min_nurses=2)
STAYS = StayModel(4.0, 0.6)


def episode(seed: int = 1, rate: float = 6.0) -> Episode:
    flow = PatientFlow.sample(-30 * 24, np.full(31 * 24 + 24, rate), STAYS, seed)
    hours = np.arange(168 + LOOKAHEAD)
    return Episode(
        rules=RULES,
        flow=flow,
        start_hour=0,
        local_hour=(hours[:168] + 7) % 24,
        day=hours[:168] // 24,
        arrival_rates=np.full(168 + LOOKAHEAD, rate),
        stays=STAYS,
    )


def test_projection_of_a_steady_unit_matches_little_law():
    elapsed = np.random.default_rng(0).uniform(0, 8, size=30)
    projection = census_projection(elapsed_hours=elapsed, arrival_rates=np.full(48, 6.0), stays=STAYS)
    mean_stay = 4.0 * np.exp(0.6**2 / 2)
    assert projection.mean[-1] == pytest.approx(6.0 * (mean_stay + 1), rel=0.05)
    assert projection.mean[0] >= 30 and np.all(projection.std > 0)


def test_patient_flow_census_and_presence_agree():
    flow = PatientFlow.sample(0, np.full(48, 5.0), STAYS, seed=3)
    census = flow.census(0, 48)
    present = len(flow.present_at(30.0))
    assert census[30] >= present  # in hour 30: those present at its start, and those who came during it


def test_a_roster_alone_costs_its_shifts_plus_the_penalty():
    week = episode()
    roster = quantile_roster(RULES, week.projection(0, 168), shift_instances(RULES, week.local_hour), 1.0)
    outcome = simulate(week, roster, None)
    assert outcome.roster_cost == roster.cost(RULES)
    assert outcome.cost == pytest.approx(outcome.roster_cost + outcome.penalty)
    assert outcome.callins == outcome.releases == 0
    assert outcome.penalty == pytest.approx(outcome.uncovered_patient_hours * RULES.understaffed_penalty)


def test_call_ins_arrive_after_the_lead_time_and_respect_the_daily_cap():
    week = episode()
    roster = quantile_roster(RULES, week.projection(0, 168), shift_instances(RULES, week.local_hour), 0.0)
    simulation = Simulation(week, roster)
    before = simulation.planned(LOOKAHEAD).copy()
    simulation.advance(call=9, release=0)
    after = (simulation.rostered + simulation.oncall)[:LOOKAHEAD]
    lead, block = RULES.oncall_lead_hours, RULES.oncall_block_hours
    assert np.array_equal(after[:lead], before[:lead])
    assert np.all(after[lead : lead + block] == before[lead : lead + block] + RULES.oncall_cap_per_day)
    assert simulation.outcome.callins == RULES.oncall_cap_per_day


def test_releases_save_money_but_never_go_below_the_floor():
    week = episode(rate=1.0)
    roster = quantile_roster(RULES, week.projection(0, 168), shift_instances(RULES, week.local_hour), 3.0)
    simulation = Simulation(week, roster)
    simulation.advance(call=0, release=50)
    assert simulation.outcome.releases == 0  # everyone works the first hour of their shift
    staff = int(simulation.planned(1)[0])
    simulation.advance(call=0, release=50)
    assert simulation.outcome.releases == staff - RULES.floor
    assert simulation.outcome.release_saving > 0


def test_the_reactive_rule_calls_in_when_the_projection_outgrows_the_staff():
    week = episode(rate=10.0)
    roster = quantile_roster(RULES, week.projection(0, 168), shift_instances(RULES, week.local_hour), -1.0)
    with_rule = simulate(week, roster, ReactiveRule(1.0, 2.0))
    without = simulate(week, roster, None)
    assert with_rule.callins > 0
    assert with_rule.uncovered_patient_hours < without.uncovered_patient_hours


def test_features_and_shield():
    week = episode()
    roster = quantile_roster(RULES, week.projection(0, 168), shift_instances(RULES, week.local_hour), 1.0)
    observation = Simulation(week, roster).observe()
    vector = rl.features(observation, (1, 0))
    assert vector.shape == (rl.OBSERVATION_SIZE,) and vector.dtype == np.float32
    assert rl.action_index(1, 0) == 2 and rl.action_index(0, 1) == 0 and rl.action_index(0, 0) == rl.NOTHING
    shield = rl.Shield(z_release=10.0)  # nobody may go home when the census could be this high
    assert shield.apply(observation, 9, 1) == (min(9, observation.oncall_left), 0)


def test_ppo_trains_briefly_and_decides_fast():
    plans = []
    for seed in (1, 2):
        week = episode(seed)
        plans.append(
            (week, quantile_roster(RULES, week.projection(0, 168), shift_instances(RULES, week.local_hour), 1.0))
        )
    rule = ReactiveRule(1.0, 2.0)
    model, report = rl.policy_train(plans, rule, timesteps=1344, seed=0)
    assert report.imitation_accuracy > 0.8
    policy = rl.LearnedPolicy(rl.model_from_bytes(rl.model_to_bytes(model)), rule, rl.Shield(1.0))
    outcome = simulate(plans[0][0], plans[0][1], policy)
    assert len(outcome.decision_seconds) == 168
    assert np.median(outcome.decision_seconds) < 0.005


def test_no_simulated_policy_beats_the_bounds_on_the_same_week():
    from optimization.evaluation import oracle_cost

    class ReleaseEveryone:
        def decide(self, observation):
            return 0, 50

    week = episode(seed=4)
    census = week.flow.census(week.start_hour, week.hours)
    roster = quantile_roster(RULES, week.projection(0, 168), shift_instances(RULES, week.local_hour), 2.0)
    clairvoyant = oracle_cost(week, census, roster=roster)
    oracle = oracle_cost(week, census)
    for policy in (None, ReactiveRule(1.0, 2.0), ReleaseEveryone()):
        outcome = simulate(week, roster, policy)
        assert outcome.cost >= clairvoyant - 1e-6
    assert oracle <= clairvoyant
