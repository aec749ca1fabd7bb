"""Are we safe? One department's staffing now and in the coming hours, and the decision that follows.

Plain numpy. This is the one place that says whether a unit is short: the dashboard's verdict
and tiles, the hours at risk, the understaffing alert, the overview page, websocket messages,
POST /optimize/recommend and the metrics all read it (through optimization.selectors).

The current hour needs no forecast: the census recorded now against the nurses on duty now.
The coming hours need the census projection (mean and spread per hour) and what is planned:
the roster in force plus the call-ins, releases and absences recorded so far.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from scipy import stats

from optimization.rules import StaffingRules
from optimization.simulate import Observation

SAFE, SHORT, SURPLUS = "safe", "short", "surplus"
# Hours in answers as everywhere else in the API: "2026-12-02T14:00:00Z".
ISO_UTC = "%Y-%m-%dT%H:%M:%SZ"
# The coming hours a charge nurse can still act on (call in, move staff): the verdict and the alert
# name an hour at risk within them; later ones are shown on the chart and the tiles only.
ACTION_HOURS = 12


def nurses(count: int) -> str:
    return f"{count} nurse" if count == 1 else f"{count} nurses"


def hours_phrase(count: int) -> str:
    return "within the hour" if count <= 0 else ("in 1 hour" if count == 1 else f"in {count} hours")


@dataclass(frozen=True)
class Decision:
    """What to do now, and why, in the names integrators code against (see POST /optimize/recommend).

    required_now: nurses the ratio requires for the census now; on_duty: nurses on duty now;
    short_now: how many fewer than required are on duty; call_in: on-call nurses to call now (they
    arrive after the lead time and stay a block); release: rostered nurses who may go home now;
    short_after_call_in: nurses still missing once the call-ins arrive (now or, with the look-ahead,
    at the expected census of the hours they cover); escalate: on-call cannot cover the gap, so the
    house supervisor (float pool, agency) must; reason: one plain sentence; lookahead: whether a
    census projection was used (False: only the current hour was judged).
    """

    required_now: int
    on_duty: int
    short_now: int
    call_in: int
    release: int
    short_after_call_in: int
    escalate: bool
    reason: str
    lookahead: bool

    @property
    def status(self) -> str:
        """short (fewer on duty than required now), surplus (a nurse may go home), or safe."""
        if self.short_now:
            return SHORT
        return SURPLUS if self.release else SAFE


def decide(
    *,
    rules: StaffingRules,
    census_now: int,
    on_duty: int,
    oncall_left: int,
    observation: Observation | None = None,
    policy=None,
) -> Decision:
    """Cover the shortfall now first, then follow the policy's look-ahead.

    Without an observation (no forecast), only the current hour is judged and nobody is
    released. With one, the observation's planned[0] is on_duty and policy.decide(observation)
    gives (call, release). The call-in never exceeds oncall_left (the daily cap less today's
    call-ins); a release happens only when nobody is short now or expected short while the
    nurse would be away (at the expected census, and at the policy's own margin), never below
    the department's floor.
    """
    on_duty, oncall_left = max(int(on_duty), 0), max(int(oncall_left), 0)
    required_now = int(rules.required(np.array([census_now]))[0])
    short_now = max(required_now - on_duty, 0)
    call = min(short_now, oncall_left)
    release = 0
    expected_gap, gap_in = 0, 0
    if observation is not None:
        policy_call, policy_release = policy.decide(observation)
        call = min(max(call, int(policy_call)), oncall_left)
        gap_in, expected_gap = _expected_gap(rules, observation, call)
        if not short_now and not call and policy_release and _release_safe(rules, observation, required_now):
            release = 1
    short_after = max(short_now - call, expected_gap)
    reason = _reason(
        rules,
        census_now=census_now,
        on_duty=on_duty,
        required_now=required_now,
        short_now=short_now,
        call=call,
        release=release,
        short_after=short_after,
        oncall_left=oncall_left,
        expected_gap=expected_gap,
        gap_in=gap_in,
        observation=observation,
    )
    return Decision(
        required_now=required_now,
        on_duty=on_duty,
        short_now=short_now,
        call_in=call,
        release=release,
        short_after_call_in=short_after,
        escalate=short_after > 0,
        reason=reason,
        lookahead=observation is not None,
    )


def _expected_gap(rules: StaffingRules, observation: Observation, call: int) -> tuple[int, int]:
    """(hours ahead, nurses) of the largest expected shortfall in the hours a call made now covers,
    once `call` nurses have come: the census at its mean against the planned staff."""
    lead, block = rules.oncall_lead_hours, rules.oncall_block_hours
    planned = np.asarray(observation.planned)
    window = slice(lead, min(lead + block, len(planned)))
    need = rules.required(observation.projection.mean[window]) - (planned[window] + call)
    if not len(need) or need.max() <= 0:
        return 0, 0
    return lead + int(np.argmax(need)), int(need.max())


def _release_safe(rules: StaffingRules, observation: Observation, required_now: int) -> bool:
    """One fewer on duty still meets the ratio now, the floor, and the expected census of every
    projected hour the release lasts."""
    planned = np.asarray(observation.planned)
    if planned[0] - 1 < max(required_now, rules.floor):
        return False
    hours = max(1, min(observation.release_hours, len(planned)))
    return bool(np.all(rules.required(observation.projection.mean[:hours]) <= planned[:hours] - 1))


def _situation(rules: StaffingRules, census_now: int, required_now: int, on_duty: int) -> str:
    return f"{census_now} patients need {nurses(required_now)} at 1:{rules.patients_per_nurse}, {on_duty} on duty"


def _reason(
    rules: StaffingRules,
    *,
    census_now: int,
    on_duty: int,
    required_now: int,
    short_now: int,
    call: int,
    release: int,
    short_after: int,
    oncall_left: int,
    expected_gap: int,
    gap_in: int,
    observation: Observation | None,
) -> str:
    situation = _situation(rules, census_now, required_now, on_duty)
    arrive = hours_phrase(rules.oncall_lead_hours)
    if short_now:
        sentence = f"Short {nurses(short_now)} now ({situation})"
        if call:
            sentence += f": call in {call}, who arrive {arrive}"
        if short_after:
            left = oncall_left - call
            sentence += (
                f"{';' if call else ':'} on call cannot cover {nurses(short_after)} more"
                f" ({left} left on call today{' after them' if call else ''}), escalate to the house supervisor"
            )
        sentence += "."
    elif call:
        sentence = (
            f"Covered now ({situation}), but the census is expected to outgrow the staff planned"
            f" {hours_phrase(rules.oncall_lead_hours)} or soon after: call in {call}, who arrive {arrive}"
        )
        if short_after:
            sentence += (
                f"; {nurses(expected_gap)} still expected short {hours_phrase(gap_in)},"
                " escalate to the house supervisor"
            )
        sentence += "."
    elif short_after:
        sentence = (
            f"Covered now ({situation}), but {nurses(expected_gap)} expected short {hours_phrase(gap_in)} and"
            " no one left on call: escalate to the house supervisor."
        )
    elif release:
        sentence = (
            f"Safe with one to spare ({situation}): one nurse may go home; the ratio still holds at the"
            " expected census until the end of the shift."
        )
    else:
        sentence = f"Safe ({situation}): no change needed."
    if observation is None:
        sentence += " Look-ahead off: no forecast for this department yet, so only the current hour is judged."
    return sentence


@dataclass(frozen=True)
class HourAhead:
    """One coming hour: the census expected, the nurses it requires at that mean, the nurses on duty
    once the decision made now is carried out (staffed), and the chance that the unit is short
    then, after the recourse the policy can still take (p_short)."""

    offset: int
    census_mean: float
    census_std: float
    required: int
    staffed: int
    p_short: float


def hours_ahead(
    *,
    rules: StaffingRules,
    mean: np.ndarray,
    std: np.ndarray,
    planned: np.ndarray,
    call_in: int = 0,
    oncall_left: int = 0,
    z_recourse: float | None = None,
    max_call: int = 3,
    day: np.ndarray | None = None,
) -> list[HourAhead]:
    """The chance that each hour 0 .. len(mean) - 1 from now is short, census ~ normal(mean, std).

    planned: nurses planned on duty in those hours (roster in force plus recorded changes).
    The call-ins decided now arrive after the lead time and stay a block. Then the policy's
    recourse is replayed on the projection as seen now: a call made at each coming hour arrives
    after the lead time and covers its block; it brings the staff of that block up to what the
    census at mean + z_recourse sd requires, at most max_call at a time and within the on-call
    nurses left. day: the local day of each hour, when the daily cap renews at midnight (a call
    counts against the day its block starts); without it the nurses left today are all there
    is. Without z_recourse (no policy), only what is planned and decided counts.
    """
    mean = np.asarray(mean, dtype=np.float64)
    std = np.maximum(np.asarray(std, dtype=np.float64), 1e-6)
    staffed = np.asarray(planned, dtype=np.int64).copy()
    lead, block, cap = rules.oncall_lead_hours, rules.oncall_block_hours, rules.oncall_cap_per_day
    staffed[lead : lead + block] += call_in
    expected = staffed.copy()
    if z_recourse is not None:
        last = len(mean) - 1

        def day_of_call(called_at: int) -> int:
            return int(day[min(called_at + lead, last)]) if day is not None else 0

        used = {day_of_call(0): cap - max(oncall_left, 0) + call_in}
        wanted = rules.required(np.maximum(mean + z_recourse * std, 0.0))
        # The next call can be made an hour from now; its nurses come after the lead time.
        for called_at in range(1, len(mean) - lead):
            counted = day_of_call(called_at)
            left = max(cap - used.get(counted, 0), 0)
            window = slice(called_at + lead, min(called_at + lead + block, len(mean)))
            call = min(max(int(np.max(wanted[window] - expected[window], initial=0)), 0), left, max_call)
            expected[window] += call
            used[counted] = used.get(counted, 0) + call
    # Short when the census exceeds what the staff may care for: the census is whole patients.
    p_short = stats.norm.sf((rules.patients_per_nurse * expected + 0.5 - mean) / std)
    p_short = np.where(expected < rules.min_nurses, 1.0, p_short)
    return [
        HourAhead(
            offset=offset,
            census_mean=float(mean[offset]),
            census_std=float(std[offset]),
            required=int(rules.required(mean[offset : offset + 1])[0]),
            staffed=int(staffed[offset]),
            p_short=float(p_short[offset]),
        )
        for offset in range(len(mean))
    ]


def watch_reason(rules: StaffingRules, decision: Decision, census_now: int, hour: HourAhead) -> str:
    """The reason when nothing is to be done now (covered, no call, no release) but `hour`, within
    ACTION_HOURS, is at risk even after the call-ins on call can still make: name it, so the verdict
    above ("Short 1 nurse at 19:00") and the advice below do not read as opposites."""
    situation = _situation(rules, census_now, decision.required_now, decision.on_duty)
    short = nurses(max(hour.required - hour.staffed, 1))
    return (
        f"Covered now ({situation}), but {hours_phrase(hour.offset)} the unit may be short {short}"
        f" ({hour.p_short:.0%} chance) even with the call-ins on call can still make: no call needed yet,"
        " watch that hour."
    )


@dataclass(frozen=True)
class StaffingState:
    """A department at the start of `hour` (UTC): the census recorded, the nurses on duty, the
    decision for now, and the coming hours (offset 1 on) with their chance of being short.

    census_now or on_duty is None when it is not recorded (no census this hour, no roster in
    force); then there is no decision and no status. unplanned: offsets of the coming hours no
    roster in force covers (their chance assumes the staff now holds; they are never at risk).
    """

    hour: datetime
    census_now: int | None
    on_duty: int | None
    decision: Decision | None
    ahead: tuple[HourAhead, ...]
    oncall_left: int
    risk_threshold: float
    unplanned: frozenset[int] = frozenset()

    @property
    def status(self) -> str | None:
        return self.decision.status if self.decision else None

    @property
    def hours_to_act_on(self) -> list[HourAhead]:
        """The hours at risk within the next ACTION_HOURS."""
        return [hour for hour in self.hours_at_risk if hour.offset < ACTION_HOURS]

    @property
    def hours_at_risk(self) -> list[HourAhead]:
        """The coming hours left short with a probability above the department's threshold."""
        return [hour for hour in self.ahead if hour.p_short > self.risk_threshold and hour.offset not in self.unplanned]

    def hour_at(self, offset: int) -> datetime:
        return self.hour + timedelta(hours=offset)

    def verdict(self, zone: str) -> str:
        """One line for the top of the department page, hours in the department's local time."""
        if self.census_now is None:
            return "No census recorded this hour yet: the unit cannot be judged."
        if self.on_duty is None:
            return "Nobody is recorded on duty: no roster is in force for this hour."
        decision = self.decision
        if decision.short_now:
            text = f"Short {nurses(decision.short_now)} now"
            if decision.call_in:
                text += f": call in {decision.call_in} ({self.oncall_left - decision.call_in} on call left)"
            if decision.escalate:
                text += f"{',' if decision.call_in else ':'} escalate for {decision.short_after_call_in}"
            return text
        at_risk = self.hours_to_act_on
        if at_risk:
            first = at_risk[0]
            local = self.hour_at(first.offset).astimezone(ZoneInfo(zone))
            return f"Short {nurses(max(first.required - first.staffed, 1))} at {local:%H:00}" + (
                f" ({local:%a})" if local.date() != self.hour.astimezone(ZoneInfo(zone)).date() else ""
            )
        return f"Safe: {decision.on_duty} on duty for {decision.required_now} required"

    def as_dict(self) -> dict:
        """The `staffing` block of the snapshot and the websocket messages."""
        decision = self.decision
        at_risk = self.hours_at_risk
        return {
            "hour": self.hour.astimezone(UTC).strftime(ISO_UTC),
            "census_now": self.census_now,
            "on_duty": self.on_duty,
            "required_now": decision.required_now if decision else None,
            "short_now": decision.short_now if decision else None,
            "status": self.status,
            "call_in": decision.call_in if decision else None,
            "release": decision.release if decision else None,
            "short_after_call_in": decision.short_after_call_in if decision else None,
            "escalate": decision.escalate if decision else None,
            "reason": decision.reason if decision else None,
            "lookahead": decision.lookahead if decision else False,
            "oncall_left": self.oncall_left,
            "risk_threshold": self.risk_threshold,
            "hours_at_risk": [
                {
                    "hour": self.hour_at(hour.offset).astimezone(UTC).strftime(ISO_UTC),
                    "p_short": round(hour.p_short, 3),
                    "staffed": hour.staffed,
                    "required_at_mean": hour.required,
                }
                for hour in at_risk
            ],
            "next_hour_at_risk": self.hour_at(at_risk[0].offset).astimezone(UTC).strftime(ISO_UTC) if at_risk else None,
            "at_risk_soon": bool(self.hours_to_act_on),
        }
