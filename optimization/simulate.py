"""Hours of one department (a week, or a plan's horizon): patients come and go, a policy calls in and releases nurses.

Plain numpy. The policies (baselines.py, rl.py) see only what a charge nurse would know
at the start of each hour: the patients present and how long they have been there, the
arrival forecast, the staff planned for the coming hours, and the on-call nurses left
today. Departures are drawn when patients arrive but never shown.

Costs follow the rules: every rostered shift is paid in full, minus the saved share of
released hours; an on-call block is paid at the premium when it is called; each patient
beyond the ratio costs the under-staffing penalty for each hour.
"""

import time
from dataclasses import dataclass, field

import numpy as np

from healthcare.encounters.workload import hourly_workload
from optimization.projection import Projection, census_projection
from optimization.roster import Roster
from optimization.rules import StaffingRules
from predictions.census import StayModel

WEEK_HOURS = 168
LOOKAHEAD = 12  # hours of census projection a policy sees


@dataclass(frozen=True)
class PatientFlow:
    """Every patient of a period: arrival and departure (epoch hours, floats), sorted by arrival."""

    arrivals: np.ndarray
    departures: np.ndarray

    @classmethod
    def from_counts(cls, first_hour: int, counts: np.ndarray, stays: StayModel, seed: int) -> "PatientFlow":
        """Patients behind hourly arrival counts: a uniform time in the hour, a lognormal stay."""
        rng = np.random.default_rng(seed)
        counts = np.asarray(counts, dtype=np.int64)
        hours = np.repeat(first_hour + np.arange(len(counts)), counts)
        arrivals = hours + rng.random(len(hours))
        departures = arrivals + stays.median_hours * np.exp(stays.sigma * rng.standard_normal(len(hours)))
        return cls(arrivals, departures)

    @classmethod
    def sample(cls, first_hour: int, rates: np.ndarray, stays: StayModel, seed: int) -> "PatientFlow":
        """Poisson arrivals at the given hourly rates."""
        counts = np.random.default_rng([seed, 1]).poisson(np.asarray(rates))
        return cls.from_counts(first_hour, counts, stays, seed)

    def census(self, first_hour: int, hours: int) -> np.ndarray:
        """Patients present at any time during each hour."""
        return hourly_workload(
            first_hour=first_hour,
            last_hour=first_hour + hours - 1,
            starts=self.arrivals,
            ends=self.departures,
            discharged=np.ones(len(self.arrivals), dtype=bool),
        ).census

    def between(self, first: float, last: float) -> "PatientFlow":
        """The patients who arrived from `first` to `last` (a smaller flow to simulate a week with)."""
        lo, hi = np.searchsorted(self.arrivals, [first, last])
        return PatientFlow(self.arrivals[lo:hi], self.departures[lo:hi])

    def present_at(self, moment: float) -> np.ndarray:
        """Elapsed hours of the patients in the unit at `moment`."""
        arrived = self.arrivals[: np.searchsorted(self.arrivals, moment)]
        still_here = self.departures[: len(arrived)] > moment
        return moment - arrived[still_here]


@dataclass
class Episode:
    """What a simulation needs and no policy controls: `hours` hours from start_hour."""

    rules: StaffingRules
    flow: PatientFlow
    start_hour: int  # epoch hour of the week's first hour
    local_hour: np.ndarray  # local clock hour of each hour of the week
    day: np.ndarray  # local day number of each hour (for the on-call cap)
    arrival_rates: np.ndarray  # forecast, hours + LOOKAHEAD hours from start_hour
    stays: StayModel  # what the policies assume about lengths of stay
    dispersion: float = 1.0
    hours: int = WEEK_HOURS

    def projection(self, hour: int, horizon: int) -> Projection:
        """Census projection for hours hour .. hour + horizon - 1 of the episode, as known at their start."""
        return census_projection(
            elapsed_hours=self.flow.present_at(self.start_hour + hour),
            arrival_rates=self.arrival_rates[hour : hour + horizon],
            stays=self.stays,
            dispersion=self.dispersion,
        )


@dataclass(frozen=True)
class Observation:
    """What a policy knows at the start of an hour."""

    hour: int
    local_hour: int
    projection: Projection  # census, this hour and the LOOKAHEAD - 1 next
    planned: np.ndarray  # nurses planned on duty in those hours (roster, releases, call-ins so far)
    census_now: int  # patients in the unit at the start of the hour
    oncall_left: int  # on-call nurses that may still be called today
    releasable: int  # rostered nurses on duty who may be released now
    release_hours: int  # hours left in the shift of the nurse who would be released
    rules: StaffingRules


@dataclass
class Outcome:
    """An episode's result for one policy."""

    roster_cost: float = 0.0
    oncall_cost: float = 0.0
    release_saving: float = 0.0
    penalty: float = 0.0
    patient_hours: float = 0.0
    uncovered_patient_hours: float = 0.0
    understaffed_hours: int = 0
    callins: int = 0
    releases: int = 0
    decision_seconds: list[float] = field(default_factory=list)
    staff: np.ndarray | None = None
    census: np.ndarray | None = None

    @property
    def cost(self) -> float:
        return self.roster_cost + self.oncall_cost - self.release_saving + self.penalty


class Simulation:
    """An episode under a roster; feed a policy's decisions to `advance`, hour by hour."""

    def __init__(self, episode: Episode, roster: Roster):
        self.episode, self.rules, self.roster = episode, episode.rules, roster
        rules, hours = episode.rules, episode.hours
        self.census = episode.flow.census(episode.start_hour, hours)
        span = hours + LOOKAHEAD + rules.oncall_lead_hours + rules.oncall_block_hours
        self.rostered = np.zeros(span, dtype=np.int64)
        self.rostered[:hours] = roster.staff(hours)
        # Beyond the episode the roster is unknown to the simulation: assume it holds its last level.
        self.rostered[hours:] = self.rostered[hours - 1]
        self.oncall = np.zeros(span, dtype=np.int64)
        self.on_shift = roster.nurses.copy()  # rostered nurses of each shift instance not released
        self.callins_by_day: dict[int, int] = {}
        self.hour = 0
        self.outcome = Outcome(roster_cost=roster.cost(rules), census=self.census)

    @property
    def done(self) -> bool:
        return self.hour >= self.episode.hours

    def planned(self, hours: int) -> np.ndarray:
        return (self.rostered + self.oncall)[self.hour : self.hour + hours]

    def _running(self) -> list[int]:
        """Shift instances with a nurse who could go home now, latest end first.

        A nurse works at least the first hour of a shift (as in the hindsight plans).
        """
        instances = self.roster.instances
        running = [
            index
            for index, instance in enumerate(instances)
            if instance.start < self.hour < instance.end and self.on_shift[index] > 0
        ]
        return sorted(running, key=lambda index: -instances[index].end)

    def _oncall_day(self, hour: int) -> int:
        """The day a call made now counts against: the day its block starts (as in the hindsight plans)."""
        day = self.episode.day
        return int(day[min(hour + self.rules.oncall_lead_hours, len(day) - 1)])

    def observe(self) -> Observation:
        rules, hour = self.rules, self.hour
        running = self._running()
        planned = self.planned(LOOKAHEAD)
        releasable = min(int(self.on_shift[running].sum()) if running else 0, max(int(planned[0]) - rules.floor, 0))
        release_hours = self.roster.instances[running[0]].end - hour if running else 0
        day = self._oncall_day(hour)
        return Observation(
            hour=hour,
            local_hour=int(self.episode.local_hour[hour]),
            projection=self.episode.projection(hour, LOOKAHEAD),
            planned=planned,
            census_now=len(self.episode.flow.present_at(self.episode.start_hour + hour)),
            oncall_left=rules.oncall_cap_per_day - self.callins_by_day.get(day, 0),
            releasable=releasable,
            release_hours=release_hours,
            rules=rules,
        )

    def advance(self, call: int, release: int) -> float:
        """Apply the decision at the start of the hour, run the hour; returns its controllable cost."""
        rules, hour, outcome = self.rules, self.hour, self.outcome
        cost_unit = rules.nurse_hour_cost
        day = self._oncall_day(hour)
        call = int(np.clip(call, 0, rules.oncall_cap_per_day - self.callins_by_day.get(day, 0)))
        incurred = 0.0
        if call:
            arrive = hour + rules.oncall_lead_hours
            self.oncall[arrive : arrive + rules.oncall_block_hours] += call
            self.callins_by_day[day] = self.callins_by_day.get(day, 0) + call
            charge = call * rules.oncall_block_hours * rules.oncall_premium * cost_unit
            outcome.oncall_cost += charge
            outcome.callins += call
            incurred += charge
        for _ in range(int(max(release, 0))):
            running = self._running()
            if not running or self.rostered[hour] + self.oncall[hour] - 1 < rules.floor:
                break
            instance = self.roster.instances[running[0]]
            self.on_shift[running[0]] -= 1
            self.rostered[hour : instance.end] -= 1
            saving = (instance.end - hour) * rules.release_saving * cost_unit
            outcome.release_saving += saving
            outcome.releases += 1
            incurred -= saving

        staff = int(self.rostered[hour] + self.oncall[hour])
        census = float(self.census[hour])
        uncovered = float(rules.uncovered(census, staff))
        penalty = uncovered * rules.understaffed_penalty * cost_unit
        outcome.penalty += penalty
        outcome.patient_hours += census
        outcome.uncovered_patient_hours += uncovered
        outcome.understaffed_hours += int(staff < rules.required(np.array([census]))[0])
        self.hour += 1
        return incurred + penalty

    def finish(self) -> Outcome:
        self.outcome.staff = (self.rostered + self.oncall)[: self.episode.hours].copy()
        return self.outcome


def simulate(episode: Episode, roster: Roster, policy) -> Outcome:
    """Run the episode with `policy.decide(observation) -> (call, release)`; None never acts."""
    simulation = Simulation(episode, roster)
    while not simulation.done:
        if policy is None:
            simulation.advance(0, 0)
            continue
        observation = simulation.observe()
        started = time.perf_counter()
        call, release = policy.decide(observation)
        simulation.outcome.decision_seconds.append(time.perf_counter() - started)
        simulation.advance(call, release)
    return simulation.finish()
