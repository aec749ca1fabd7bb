"""A department's staffing rules, and the arithmetic of ratios and shifts. Plain Python.

Costs are in units of one rostered nurse-hour times `nurse_hour_cost`; every other cost
is a multiple of it (on-call premium, release saving, under-staffing penalty).
"""

from dataclasses import dataclass

import numpy as np

from predictions.features import Calendar

# A shift that started this long ago may still be running.
LOOKBACK_HOURS = 16


@dataclass(frozen=True)
class Shift:
    """A shift that starts every day at start_hour (local clock) and lasts `hours`."""

    start_hour: int
    hours: int


# A coming hour is at risk when it is left short with a probability above this (set per department).
DEFAULT_RISK_THRESHOLD = 0.10

EIGHT_HOUR_SHIFTS = (Shift(7, 8), Shift(15, 8), Shift(23, 8))
TWELVE_HOUR_SHIFTS = (Shift(7, 12), Shift(19, 12))


@dataclass(frozen=True)
class StaffingRules:
    """What a plan must respect and what it costs."""

    patients_per_nurse: int
    min_nurses: int
    shifts: tuple[Shift, ...] = EIGHT_HOUR_SHIFTS
    nurse_hour_cost: float = 1.0
    oncall_premium: float = 1.5  # an on-call hour costs this many rostered hours
    oncall_lead_hours: int = 2  # a call-in arrives this many hours after the call
    oncall_block_hours: int = 4  # and works at least this many hours
    oncall_cap_per_day: int = 4  # on-call nurses available per day
    release_saving: float = 0.5  # share of a released hour's cost that is saved
    release_floor: int = 0  # never release below this many on duty (at least min_nurses)
    understaffed_penalty: float = 10.0  # per patient-hour beyond the ratio, in rostered hours

    def __post_init__(self):
        problems = self.problems()
        if problems:
            raise ValueError("; ".join(problems))

    def problems(self) -> list[str]:
        """What is wrong with the rules, if anything (field: message)."""
        problems = []
        if self.patients_per_nurse < 1:
            problems.append("patients_per_nurse: must be at least 1")
        if self.min_nurses < 1:
            problems.append("min_nurses: must be at least 1")
        if not self.shifts:
            problems.append("shifts: at least one shift pattern is needed")
        for shift in self.shifts:
            if not 0 <= shift.start_hour <= 23 or not 1 <= shift.hours <= 16:
                problems.append(f"shifts: {shift} needs a start hour 0-23 and 1-16 hours")
        covered = {(shift.start_hour + k) % 24 for shift in self.shifts for k in range(shift.hours)}
        if self.shifts and len(covered) < 24:
            problems.append("shifts: some hours of the day are covered by no shift")
        if self.nurse_hour_cost <= 0:
            problems.append("nurse_hour_cost: must be positive")
        if self.oncall_premium < 1:
            problems.append("oncall_premium: an on-call hour costs at least a rostered hour")
        if self.oncall_lead_hours < 0 or self.oncall_block_hours < 1 or self.oncall_cap_per_day < 0:
            problems.append("on-call: lead time >= 0, block >= 1 hour, cap >= 0")
        if not 0 <= self.release_saving <= 1:
            problems.append("release_saving: a share between 0 and 1")
        if self.understaffed_penalty <= 0:
            problems.append("understaffed_penalty: must be positive")
        return problems

    @property
    def floor(self) -> int:
        """Nurses on duty below which nobody is released."""
        return max(self.min_nurses, self.release_floor)

    def required(self, census: np.ndarray) -> np.ndarray:
        """Nurses the ratio requires: max(minimum, ceil(census / ratio))."""
        census = np.maximum(np.asarray(census, dtype=np.float64), 0.0)
        return np.maximum(self.min_nurses, np.ceil(census / self.patients_per_nurse - 1e-9)).astype(np.int64)

    def uncovered(self, census: np.ndarray, staff: np.ndarray) -> np.ndarray:
        """Patients beyond what the staff on duty may care for, per hour."""
        return np.maximum(np.asarray(census, dtype=np.float64) - self.patients_per_nurse * np.asarray(staff), 0.0)


@dataclass(frozen=True)
class ShiftInstance:
    """One shift on one day: hours start .. start + hours - 1 of the plan (may start before 0)."""

    start: int
    hours: int

    @property
    def end(self) -> int:
        return self.start + self.hours


def shift_instances(rules: StaffingRules, local_hour: np.ndarray, *, lookback: int = 0) -> list[ShiftInstance]:
    """Shift instances starting at plan hours -lookback .. len(local_hour) - 1.

    local_hour[k] is the local clock hour of plan hour k - lookback (so the array covers the
    lookback too). A shift starts wherever the clock shows its start hour and ends when the
    clock shows its end hour: the night the clocks go back it lasts an hour longer, the night
    they go forward an hour shorter, as nurses' shifts do.
    """
    clock = np.asarray(local_hour).tolist()
    instances = []
    for position, hour in enumerate(clock):
        for shift in rules.shifts:
            if hour != shift.start_hour:
                continue
            end_hour = (shift.start_hour + shift.hours) % 24
            length = shift.hours
            for elapsed in range(shift.hours - 1, shift.hours + 2):
                if position + elapsed < len(clock) and clock[position + elapsed] == end_hour:
                    length = elapsed
                    break
            instances.append(ShiftInstance(position - lookback, length))
    return instances


def shift_instances_around(
    rules: StaffingRules, *, start_hour: int, horizon: int, timezone: str
) -> tuple[list[ShiftInstance], Calendar]:
    """(the shift instances still running at epoch hour start_hour or starting in the horizon, the
    local calendar from LOOKBACK_HOURS before start_hour). Instance hours count from start_hour."""
    calendar = Calendar.build(start_hour - LOOKBACK_HOURS, horizon + LOOKBACK_HOURS, timezone=timezone)
    instances = [
        instance
        for instance in shift_instances(rules, calendar.hour_of_day, lookback=LOOKBACK_HOURS)
        if instance.end > 0
    ]
    return instances, calendar
