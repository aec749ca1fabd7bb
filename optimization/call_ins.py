"""Whom to call in and whom to send home, by name. Plain Python.

A call-in is for hours starts_at .. ends_at. Each candidate is judged on the facts the caller
gathered (her shifts around those hours, her minutes this period, her contract, her call-ins of
recent weeks) and ranked: legal first; then those with the skill the shift is short of; then the
cheapest (on-call premium within her contract's minutes, overtime beyond them); then the fewest
call-ins in recent weeks; then by name. An agency nurse is the fallback when nobody legal is left.

Releases: volunteers first (earliest first), then nurses called in (sending one home saves the
premium), then the fewest releases in recent weeks, then by name.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

ON_CALL, OVERTIME = "on-call", "overtime"


@dataclass(frozen=True)
class CallInCosts:
    """Costs per hour in rostered nurse-hours times hour_cost."""

    hour_cost: float = 1.0
    oncall_premium: float = 1.5
    overtime_premium: float = 1.5
    agency_premium: float = 2.5


@dataclass(frozen=True)
class CandidateFacts:
    """What is known of one nurse around the call-in's hours.

    worked: her shifts and call-ins near the hours (start, end, UTC); worked_days: the days (local)
    she works around them; minutes_in_period and max_minutes: minutes worked this roster period
    and her contract's most (None when no roster period is in force); away: why she cannot come at
    all that day (leave, a fixed day off), or "".
    """

    nurse_id: int
    name: str
    skills: frozenset[str]
    takes_oncall: bool
    takes_overtime: bool
    worked: tuple[tuple[datetime, datetime], ...]
    worked_days: frozenset[date]
    minutes_in_period: int
    max_minutes: int | None
    max_consecutive: int
    min_rest_hours: int
    recent_call_ins: int
    floats_from: str = ""
    away: str = ""


@dataclass(frozen=True)
class RankedCandidate:
    facts: CandidateFacts
    legal: bool
    reasons: tuple[str, ...]  # why not (when not legal), or what to know (skill missing)
    pay: str
    cost: float
    has_skill: bool


def _hours_text(hours: float) -> str:
    return f"{hours:g} h"


def _run_through(days: frozenset[date], day: date) -> int:
    """Days in a row worked through `day`, when `day` is worked too."""
    length, before = 1, day - timedelta(days=1)
    while before in days:
        length, before = length + 1, before - timedelta(days=1)
    after = day + timedelta(days=1)
    while after in days:
        length, after = length + 1, after + timedelta(days=1)
    return length


def _legality(facts: CandidateFacts, starts_at: datetime, ends_at: datetime, day: date) -> list[str]:
    problems = []
    if facts.away:
        problems.append(facts.away)
    rest = timedelta(hours=facts.min_rest_hours)
    for start, end in facts.worked:
        if start < ends_at and end > starts_at:
            problems.append("already on duty then")
        elif end <= starts_at and starts_at - end < rest:
            gap = (starts_at - end).total_seconds() / 3600
            problems.append(f"only {_hours_text(gap)} of rest after her shift, at least {facts.min_rest_hours} h")
        elif start >= ends_at and start - ends_at < rest:
            gap = (start - ends_at).total_seconds() / 3600
            problems.append(f"only {_hours_text(gap)} of rest before her next shift, at least {facts.min_rest_hours} h")
    if day not in facts.worked_days:
        run = _run_through(facts.worked_days, day)
        if run > facts.max_consecutive:
            problems.append(f"{run} days in a row, at most {facts.max_consecutive}")
    return problems


def call_in_ranking(
    candidates: list[CandidateFacts],
    *,
    starts_at: datetime,
    ends_at: datetime,
    day: date,
    costs: CallInCosts,
    need_skill: str | None = None,
) -> list[RankedCandidate]:
    """Every candidate judged and ranked for a call-in of the hours starts_at .. ends_at (of local `day`)."""
    hours = (ends_at - starts_at).total_seconds() / 3600
    minutes = round(hours * 60)
    ranked = []
    for facts in candidates:
        problems = _legality(facts, starts_at, ends_at, day)
        within = facts.max_minutes is None or facts.minutes_in_period + minutes <= facts.max_minutes
        if within:
            pay, premium = ON_CALL, costs.oncall_premium
            if not facts.takes_oncall:
                problems.append("does not take on-call")
        else:
            pay, premium = OVERTIME, costs.overtime_premium
            if not facts.takes_overtime:
                problems.append(
                    f"would work {facts.minutes_in_period + minutes} minutes this period, at most {facts.max_minutes}"
                    " and no overtime"
                )
        has_skill = need_skill is None or need_skill in facts.skills
        notes = [] if has_skill else [f"no {need_skill} skill, which the shift is short of"]
        ranked.append(
            RankedCandidate(
                facts=facts,
                legal=not problems,
                reasons=tuple(problems + notes),
                pay=pay,
                cost=round(hours * costs.hour_cost * premium, 2),
                has_skill=has_skill,
            )
        )
    ranked.sort(
        key=lambda candidate: (
            not candidate.legal,
            not candidate.has_skill,
            candidate.cost,
            candidate.facts.recent_call_ins,
            candidate.facts.name,
        )
    )
    return ranked


def agency_cost(*, starts_at: datetime, ends_at: datetime, costs: CallInCosts) -> float:
    """What an agency nurse costs for the hours, the fallback when no nurse of ours may come."""
    return round((ends_at - starts_at).total_seconds() / 3600 * costs.hour_cost * costs.agency_premium, 2)


@dataclass(frozen=True)
class ReleaseFacts:
    nurse_id: int
    name: str
    volunteered_at: datetime | None
    called_in: bool
    recent_releases: int


def release_ranking(candidates: list[ReleaseFacts]) -> list[ReleaseFacts]:
    """Nurses on duty in the order to send home: volunteers, then call-ins, then the fewest recent releases."""
    return sorted(
        candidates,
        key=lambda facts: (
            facts.volunteered_at is None,
            facts.volunteered_at or datetime.min,
            not facts.called_in,
            facts.recent_releases,
            facts.name,
        ),
    )
