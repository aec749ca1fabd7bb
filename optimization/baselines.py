"""Plans and policies to beat: static and quantile rosters, and a two-threshold reactive rule. Plain Python."""

from dataclasses import dataclass

import numpy as np

from optimization.projection import Projection
from optimization.roster import Roster, roster_plan
from optimization.rules import ShiftInstance, StaffingRules
from optimization.simulate import Observation


def quantile_roster(rules: StaffingRules, projection: Projection, instances: list[ShiftInstance], z: float) -> Roster:
    """The cheapest roster covering mean + z standard deviations of the projected census.

    z = 0 is the static roster from the point forecast; a tuned z is the newsvendor
    (quantile) roster.
    """
    return roster_plan(rules, rules.required(projection.quantile(z)), instances)


@dataclass(frozen=True)
class ReactiveRule:
    """Call in when the projected census at the call-in's arrival, at mean + z_call sigma,
    exceeds what the planned staff may care for; release one nurse when mean + z_release
    sigma stays within the ratio without them until their shift ends (or the projection's end)."""

    z_call: float
    z_release: float
    max_call: int = 3

    def decide(self, observation: Observation) -> tuple[int, int]:
        rules = observation.rules
        lead, block = rules.oncall_lead_hours, rules.oncall_block_hours
        planned = observation.planned
        window = slice(lead, min(lead + block, len(planned)))
        demand = rules.required(observation.projection.quantile(self.z_call)[window])
        call = int(np.clip(np.max(demand - planned[window], initial=0), 0, min(observation.oncall_left, self.max_call)))
        if call or observation.releasable < 1:
            return call, 0
        hours = max(1, min(observation.release_hours, len(planned)))
        safe = rules.required(observation.projection.quantile(self.z_release)[:hours]) <= planned[:hours] - 1
        return 0, int(bool(np.all(safe)))
