"""A staffing plan as services hand it on: typed, and its stored (and API) JSON form both ways.

A run keeps its plan in OptimizationRun.result; the API returns that JSON as it is, so as_json
is the contract and from_json reads back what as_json wrote (later keys, such as the review,
are the caller's).
"""

from dataclasses import asdict, dataclass
from datetime import datetime

from healthcare.hours import iso_utc
from optimization.rules import Shift, StaffingRules


@dataclass(frozen=True)
class RosteredShift:
    start: datetime
    end: datetime
    nurses: int


@dataclass(frozen=True)
class PlannedHour:
    hour: datetime
    census_mean: float
    census_std: float
    required_nurses_at_mean: int
    planned_nurses: int


@dataclass(frozen=True)
class Plan:
    """The roster for `horizon_hours` hours, what it is expected to give, and what it was made from.

    expected and each baseline map figure names (roster_cost, expected_cost, ...) to values;
    baselines also carry a description.
    """

    horizon_hours: int
    roster: tuple[RosteredShift, ...]
    hours: tuple[PlannedHour, ...]
    expected: dict
    baselines: dict
    roster_quantile_z: float
    forecast_model: dict
    rules: StaffingRules

    def as_json(self) -> dict:
        return {
            "horizon_hours": self.horizon_hours,
            "roster": [
                {"shift_start": iso_utc(shift.start), "shift_end": iso_utc(shift.end), "nurses": shift.nurses}
                for shift in self.roster
            ],
            "hours": [{**asdict(hour), "hour": iso_utc(hour.hour)} for hour in self.hours],
            "expected": self.expected,
            "baselines": self.baselines,
            "roster_quantile_z": self.roster_quantile_z,
            "forecast_model": self.forecast_model,
            "rules": asdict(self.rules),
        }

    @classmethod
    def from_json(cls, data: dict) -> "Plan":
        rules = dict(data["rules"])
        return cls(
            horizon_hours=data["horizon_hours"],
            roster=tuple(
                RosteredShift(
                    start=datetime.fromisoformat(shift["shift_start"]),
                    end=datetime.fromisoformat(shift["shift_end"]),
                    nurses=shift["nurses"],
                )
                for shift in data["roster"]
            ),
            hours=tuple(
                PlannedHour(**{**hour, "hour": datetime.fromisoformat(hour["hour"])}) for hour in data["hours"]
            ),
            expected=data["expected"],
            baselines=data["baselines"],
            roster_quantile_z=data["roster_quantile_z"],
            forecast_model=data["forecast_model"],
            rules=StaffingRules(**{**rules, "shifts": tuple(Shift(**shift) for shift in rules["shifts"])}),
        )
