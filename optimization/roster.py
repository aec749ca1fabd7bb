"""Exact staffing plans: integer programs solved with HiGHS (scipy.optimize.milp). Plain Python.

- roster_plan: nurses per shift instance covering a required number of nurses per hour
  at the lowest cost (set covering over possibly overlapping shifts);
- hindsight_plan: the hindsight oracle. With the census known in advance it chooses the
  roster and the on-call call-ins and early releases together, trading staff against the
  under-staffing penalty: the lower bound of any policy's cost.
- With `roster` given, hindsight_plan keeps it and chooses only call-ins and releases:
  the clairvoyant-recourse bound, the best any hourly layer could do on that roster.

A plan covers hours 0 .. H-1. Costs are in rostered nurse-hours times rules.nurse_hour_cost.
"""

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from optimization.rules import ShiftInstance, StaffingRules

# The solver stops once its plan is proven within 0.01 % of the optimum.
MIP_GAP = 1e-4


class PlanInfeasible(Exception):
    """The solver found no plan (e.g. the minimum staff cannot be met by the shifts)."""


@dataclass
class Roster:
    """Nurses rostered on each shift instance."""

    instances: list[ShiftInstance]
    nurses: np.ndarray

    def staff(self, horizon: int) -> np.ndarray:
        """Rostered nurses on duty in each hour of the plan."""
        staff = np.zeros(horizon, dtype=np.int64)
        for instance, count in zip(self.instances, self.nurses.tolist(), strict=True):
            staff[max(instance.start, 0) : min(instance.end, horizon)] += count
        return staff

    def cost(self, rules: StaffingRules) -> float:
        """Every rostered shift paid in full."""
        hours = np.array([instance.hours for instance in self.instances])
        return float(np.dot(self.nurses, hours) * rules.nurse_hour_cost)


def _coverage(instances: list[ShiftInstance], horizon: int) -> sparse.csr_matrix:
    rows, cols = [], []
    for column, instance in enumerate(instances):
        hours = range(max(instance.start, 0), min(instance.end, horizon))
        rows.extend(hours)
        cols.extend([column] * len(hours))
    return sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(horizon, len(instances)))


def roster_plan(
    rules: StaffingRules,
    required: np.ndarray,
    instances: list[ShiftInstance],
    *,
    already_on_duty: np.ndarray | None = None,
) -> Roster:
    """The cheapest roster with at least `required` nurses on duty in every hour.

    instances: the shift instances that may be staffed (those starting inside the plan);
    already_on_duty: nurses of shifts that began before the plan, per hour.
    """
    horizon = len(required)
    if not instances:  # the whole plan lies inside shifts already running
        return Roster(instances, np.zeros(0, dtype=np.int64))
    need = np.asarray(required, dtype=np.float64)
    if already_on_duty is not None:
        need = np.maximum(need - already_on_duty, 0.0)
    coverage = _coverage(instances, horizon)
    # Hours no shift of the plan covers (before the first new shift starts) get what is on duty.
    need[np.asarray(coverage.getnnz(axis=1)) == 0] = 0.0
    costs = np.array([instance.hours for instance in instances], dtype=np.float64)
    result = milp(
        c=costs,
        constraints=LinearConstraint(coverage, lb=need, ub=np.inf),
        integrality=np.ones(len(instances)),
        bounds=Bounds(0, np.inf),
    )
    if result.status != 0:
        raise PlanInfeasible(f"no roster covers the requirement: {result.message}")
    return Roster(instances, np.round(result.x).astype(np.int64))


@dataclass
class HindsightPlan:
    """The optimal decisions with the census known, and what they cost."""

    roster: Roster
    oncall_starts: np.ndarray  # on-call nurses starting a block in each hour
    released: np.ndarray  # nurses released at the start of each hour
    staff: np.ndarray  # nurses on duty per hour
    uncovered: np.ndarray  # patients beyond the ratio per hour
    cost: float  # of the plan found
    lower_bound: float  # proven: no plan costs less (within the solver's gap of `cost`)


def hindsight_plan(
    rules: StaffingRules,
    census: np.ndarray,
    instances: list[ShiftInstance],
    day_of_hour: np.ndarray,
    *,
    roster: Roster | None = None,
    already_on_duty: np.ndarray | None = None,
) -> HindsightPlan:
    """Roster, call-ins and releases chosen together with the census known (the oracle).

    With `roster`, it is kept as it is and only call-ins and releases are chosen (the
    clairvoyant-recourse bound). day_of_hour numbers each hour's local day, for the
    on-call cap. Lead times do not bind: the future is known. already_on_duty: nurses of
    shifts that began before the plan, per hour; they count towards the ratio, are not
    paid here and are not released (as in roster_plan).
    """
    census = np.asarray(census, dtype=np.float64)
    horizon = len(census)
    block = rules.oncall_block_hours
    count = len(instances)
    # Variables: roster x (one per instance), releases z (instance, hour), call-ins y (hour), uncovered u (hour).
    releases = [
        (index, hour)
        for index, instance in enumerate(instances)
        for hour in range(max(instance.start + 1, 0), min(instance.end, horizon))
    ]
    offset_z, offset_y = count, count + len(releases)
    offset_u = offset_y + horizon
    size = offset_u + horizon

    costs = np.zeros(size)
    costs[:count] = [instance.hours for instance in instances]
    costs[offset_z:offset_y] = [-rules.release_saving * (instances[i].end - hour) for i, hour in releases]
    costs[offset_y:offset_u] = rules.oncall_premium * block
    costs[offset_u:] = rules.understaffed_penalty

    # staff_h = sum of rostered covering h - releases in effect at h + on-call blocks covering h
    staff_rows, staff_cols, staff_values = [], [], []
    for index, instance in enumerate(instances):
        for hour in range(max(instance.start, 0), min(instance.end, horizon)):
            staff_rows.append(hour)
            staff_cols.append(index)
            staff_values.append(1.0)
    for position, (index, start) in enumerate(releases):
        for hour in range(start, min(instances[index].end, horizon)):
            staff_rows.append(hour)
            staff_cols.append(offset_z + position)
            staff_values.append(-1.0)
    for start in range(horizon):
        for hour in range(start, min(start + block, horizon)):
            staff_rows.append(hour)
            staff_cols.append(offset_y + start)
            staff_values.append(1.0)
    staff = sparse.csr_matrix((staff_values, (staff_rows, staff_cols)), shape=(horizon, size))
    uncovered = sparse.csr_matrix((np.ones(horizon), (range(horizon), range(offset_u, size))), shape=(horizon, size))

    release_limit = sparse.lil_matrix((count, size))
    for position, (index, _) in enumerate(releases):
        release_limit[index, offset_z + position] = 1.0
    for index in range(count):
        release_limit[index, index] = -1.0
    days = np.asarray(day_of_hour)
    unique_days = np.unique(days)
    cap = sparse.lil_matrix((len(unique_days), size))
    for row, day in enumerate(unique_days):
        for hour in np.flatnonzero(days == day):
            cap[row, offset_y + hour] = 1.0

    fixed = np.zeros(horizon) if already_on_duty is None else np.asarray(already_on_duty, dtype=np.float64)
    constraints = [
        LinearConstraint(staff, lb=rules.min_nurses - fixed, ub=np.inf),
        LinearConstraint(
            rules.patients_per_nurse * staff + uncovered, lb=census - rules.patients_per_nurse * fixed, ub=np.inf
        ),
        LinearConstraint(release_limit.tocsr(), lb=-np.inf, ub=0.0),
        LinearConstraint(cap.tocsr(), lb=0.0, ub=rules.oncall_cap_per_day),
    ]
    lower = np.zeros(size)
    upper = np.full(size, np.inf)
    if roster is not None:
        lower[:count] = upper[:count] = roster.nurses
    integrality = np.ones(size)
    integrality[offset_u:] = 0
    result = milp(
        c=costs,
        constraints=constraints,
        integrality=integrality,
        bounds=Bounds(lower, upper),
        options={"mip_rel_gap": MIP_GAP},
    )
    if result.status != 0:
        raise PlanInfeasible(f"no plan found: {result.message}")
    solution = np.round(result.x[:offset_u]).astype(np.int64)
    released = np.zeros(horizon, dtype=np.int64)
    for position, (_, hour) in enumerate(releases):
        released[hour] += solution[offset_z + position]
    plan_staff = np.round(staff @ np.concatenate([solution, result.x[offset_u:]]) + fixed).astype(np.int64)
    return HindsightPlan(
        roster=Roster(instances, solution[:count]),
        oncall_starts=solution[offset_y:offset_u],
        released=released,
        staff=plan_staff,
        uncovered=rules.uncovered(census, plan_staff),
        cost=float(result.fun * rules.nurse_hour_cost),
        lower_bound=float(result.mip_dual_bound * rules.nurse_hour_cost),
    )
