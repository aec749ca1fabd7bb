"""The learned real-time policy: PPO (stable-baselines3) in the department simulator. Plain Python.

Design, from what the first prototype taught:
- The observation is built from the census projection: for each of the next 12 hours, the
  expected patients beyond what the planned staff may care for, and the spread, in nurses.
  Hour of day, on-call nurses left, who could be released and for how long, and the tuned
  rule's own suggestion complete it, so the policy learns when to deviate from the rule.
- Compliance is a constraint, not only a price: a Lagrange multiplier on uncovered
  patient-hours rises while training episodes fall short of the target share and falls
  when they exceed it (dual ascent between rollouts), and a shield refuses releases that
  a loose version of the rule's safety check rejects.
- Training starts from the rule: the network first imitates its decisions (behaviour
  cloning), then PPO improves on them.

stable-baselines3 and torch are imported inside functions only: importing this module is cheap.
"""

import io
import time
from dataclasses import dataclass, field

import numpy as np

from optimization.baselines import ReactiveRule
from optimization.roster import Roster
from optimization.simulate import LOOKAHEAD, Episode, Observation, Simulation

# (call-ins, releases) of each discrete action.
ACTIONS = ((0, 1), (0, 0), (1, 0), (2, 0), (3, 0))
NOTHING = 1
OBSERVATION_SIZE = 2 * LOOKAHEAD + 2 + 1 + 3 + 1 + len(ACTIONS)


def action_index(call: int, release: int) -> int:
    if release:
        return 0
    return min(call, 3) + 1 if call else NOTHING


def features(observation: Observation, hint: tuple[int, int]) -> np.ndarray:
    """The policy's input: the projection in nurses, time, options left, and the rule's hint."""
    rules = observation.rules
    ratio = rules.patients_per_nurse
    projection = observation.projection
    gap = (projection.mean - ratio * observation.planned) / ratio
    spread = projection.std / ratio
    angle = 2 * np.pi * observation.local_hour / 24
    suggestion = np.zeros(len(ACTIONS))
    suggestion[action_index(*hint)] = 1.0
    vector = np.concatenate(
        [
            np.clip(gap, -10, 10),
            spread,
            [np.sin(angle), np.cos(angle)],
            [observation.oncall_left / max(rules.oncall_cap_per_day, 1)],
            [float(observation.releasable > 0), min(observation.releasable, 3) / 3, observation.release_hours / 12],
            [np.clip((observation.census_now - ratio * observation.planned[0]) / ratio, -10, 10)],
            suggestion,
        ]
    )
    return vector.astype(np.float32)


@dataclass(frozen=True)
class Shield:
    """Refuses releases a loose version of the rule's release check rejects; caps call-ins."""

    z_release: float

    def apply(self, observation: Observation, call: int, release: int) -> tuple[int, int]:
        call = min(call, observation.oncall_left)
        if release:
            rules = observation.rules
            hours = max(1, min(observation.release_hours, len(observation.planned)))
            demand = rules.required(observation.projection.quantile(self.z_release)[:hours])
            if observation.releasable < 1 or np.any(demand > observation.planned[:hours] - 1):
                release = 0
        return call, release


def default_shield(rule: ReactiveRule) -> Shield:
    """The shield a policy trained next to `rule` uses: one spread looser than the rule's release check."""
    return Shield(z_release=rule.z_release - 1.0)


@dataclass
class Lagrange:
    """The multiplier on uncovered patient-hours, adjusted between rollouts."""

    value: float
    target_share: float  # uncovered patient-hours allowed, as a share of patient-hours
    step: float = 2000.0

    def update(self, uncovered: float, patient_hours: float) -> None:
        if patient_hours > 0:
            self.value = max(0.0, self.value + self.step * (uncovered / patient_hours - self.target_share))


def make_env(plans: list[tuple[Episode, Roster]], rule: ReactiveRule, shield: Shield, lagrange: Lagrange, seed: int):
    """A gymnasium environment over the given (episode, roster) pairs, one random pair per reset."""
    import gymnasium
    from gymnasium import spaces

    class StaffingEnv(gymnasium.Env):
        metadata = {"render_modes": []}

        def __init__(self):
            self.observation_space = spaces.Box(-np.inf, np.inf, shape=(OBSERVATION_SIZE,), dtype=np.float32)
            self.action_space = spaces.Discrete(len(ACTIONS))
            self.rng = np.random.default_rng(seed)
            self.simulation = None

        def _observe(self):
            self.observation = self.simulation.observe()
            self.hint = rule.decide(self.observation)
            return features(self.observation, self.hint)

        def reset(self, *, seed=None, options=None):
            super().reset(seed=seed)
            episode, roster = plans[int(self.rng.integers(len(plans)))]
            self.simulation = Simulation(episode, roster)
            return self._observe(), {}

        def step(self, action):
            call, release = shield.apply(self.observation, *ACTIONS[int(action)])
            outcome = self.simulation.outcome
            uncovered_before, patients_before = outcome.uncovered_patient_hours, outcome.patient_hours
            cost = self.simulation.advance(call, release)
            uncovered = outcome.uncovered_patient_hours - uncovered_before
            scale = self.simulation.rules.nurse_hour_cost
            reward = -(cost + lagrange.value * uncovered * scale) / (10 * scale)
            done = self.simulation.done
            info = {"uncovered": uncovered, "patient_hours": outcome.patient_hours - patients_before, "hint": self.hint}
            observation = np.zeros(OBSERVATION_SIZE, dtype=np.float32) if done else self._observe()
            return observation, float(reward), done, False, info

    return StaffingEnv()


@dataclass(frozen=True)
class PPOSettings:
    """Knobs of a training run (bench/staffing.py reports the variants tried)."""

    learning_rate: float = 1e-4
    n_steps: int = 336  # per environment and rollout; 4 environments
    n_epochs: int = 5
    gamma: float = 0.97
    clip_range: float = 0.1
    ent_coef: float = 0.001
    lagrangian: bool = True
    imitate: bool = True


@dataclass
class TrainingReport:
    timesteps: int
    seconds: float
    imitation_accuracy: float
    lagrange_final: float
    history: list[dict] = field(default_factory=list)


def policy_train(
    plans: list[tuple[Episode, Roster]],
    rule: ReactiveRule,
    *,
    timesteps: int = 200_000,
    target_compliance: float = 0.999,
    shield_z: float | None = None,
    seed: int = 0,
    settings: PPOSettings = PPOSettings(),
    progress=None,
):
    """Train PPO on the plans (imitating the rule first); returns (model, report)."""
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.vec_env import DummyVecEnv

    torch.manual_seed(seed)
    torch.set_num_threads(1)
    started = time.perf_counter()
    shield = Shield(z_release=shield_z) if shield_z is not None else default_shield(rule)
    lagrange = Lagrange(value=0.0, target_share=1.0 - target_compliance)
    environments = DummyVecEnv([lambda i=i: make_env(plans, rule, shield, lagrange, seed + i) for i in range(4)])
    model = PPO(
        "MlpPolicy",
        environments,
        n_steps=settings.n_steps,
        batch_size=settings.n_steps,
        n_epochs=settings.n_epochs,
        learning_rate=settings.learning_rate,
        gamma=settings.gamma,
        gae_lambda=0.95,
        clip_range=settings.clip_range,
        ent_coef=settings.ent_coef,
        policy_kwargs={"net_arch": [64, 64]},
        seed=seed,
        verbose=0,
        device="cpu",
    )
    accuracy = _imitate_rule(model, plans, rule, seed) if settings.imitate else 0.0

    report = TrainingReport(timesteps, 0.0, accuracy, 0.0)

    class Dual(BaseCallback):
        def _on_training_start(self):
            self.uncovered = self.patient_hours = 0.0

        def _on_step(self):
            for info in self.locals["infos"]:
                self.uncovered += info["uncovered"]
                self.patient_hours += info["patient_hours"]
            return True

        def _on_rollout_end(self):
            if settings.lagrangian:
                lagrange.update(self.uncovered, self.patient_hours)
            compliance = 1 - self.uncovered / max(self.patient_hours, 1e-9)
            report.history.append(
                {
                    "timesteps": self.num_timesteps,
                    "compliance": round(compliance, 5),
                    "lagrange": round(lagrange.value, 2),
                }
            )
            if progress:
                progress(self.num_timesteps, timesteps, compliance, lagrange.value)
            self.uncovered = self.patient_hours = 0.0

    model.learn(total_timesteps=timesteps, callback=Dual())
    report.seconds = time.perf_counter() - started
    report.lagrange_final = lagrange.value
    return model, report


def _imitate_rule(model, plans, rule: ReactiveRule, seed: int, steps: int = 1000) -> float:
    """Behaviour cloning: fit the policy network to the rule's decisions on the plans."""
    import torch

    inputs, targets = [], []
    for episode, roster in plans[: min(len(plans), 60)]:
        simulation = Simulation(episode, roster)
        while not simulation.done:
            observation = simulation.observe()
            hint = rule.decide(observation)
            inputs.append(features(observation, hint))
            targets.append(action_index(*hint))
            simulation.advance(*hint)
    observations = torch.as_tensor(np.array(inputs))
    actions = torch.as_tensor(np.array(targets))
    policy = model.policy
    optimizer = torch.optim.Adam(policy.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(seed)
    batches = max(1, -(-len(actions) // 512))
    for _ in range(max(1, steps // batches)):
        order = torch.randperm(len(actions), generator=generator)
        for start in range(0, len(actions), 512):
            batch = order[start : start + 512]
            loss = -policy.get_distribution(observations[batch]).log_prob(actions[batch]).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    with torch.no_grad():
        predicted = policy.get_distribution(observations).distribution.probs.argmax(dim=1)
    return float((predicted == actions).float().mean())


class LearnedPolicy:
    """The trained network deciding each hour, behind the shield; what a PolicyModel's artifact loads into."""

    def __init__(self, model, rule: ReactiveRule, shield: Shield):
        import torch

        self.torch = torch
        self.network = model.policy
        self.network.set_training_mode(False)
        self.rule, self.shield = rule, shield

    def decide(self, observation: Observation) -> tuple[int, int]:
        hint = self.rule.decide(observation)
        vector = self.torch.as_tensor(features(observation, hint)).unsqueeze(0)
        with self.torch.no_grad():
            action = int(self.network.get_distribution(vector).distribution.probs.argmax(dim=1).item())
        return self.shield.apply(observation, *ACTIONS[action])


def model_to_bytes(model) -> bytes:
    buffer = io.BytesIO()
    model.save(buffer)
    return buffer.getvalue()


def model_from_bytes(data: bytes):
    from stable_baselines3 import PPO

    return PPO.load(io.BytesIO(data), device="cpu")
