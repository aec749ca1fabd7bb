"""Forms of the staff pages: request a plan, and the admins' department rules."""

from django import forms

from healthcare.encounters.models import Department
from optimization.models import DutyChangeKind, StaffingRuleSet
from optimization.services import RISK_LEVELS


class DutyChangeForm(forms.Form):
    """Record on the department page: a call-in confirmed, a nurse sent home, a sick call."""

    ARRIVES_AFTER_LEAD, ARRIVES_NOW = "lead", "now"

    kind = forms.ChoiceField(label="What happened", choices=DutyChangeKind.choices)
    nurses = forms.IntegerField(label="Nurses", min_value=1, max_value=100, initial=1)
    starts = forms.ChoiceField(
        label="From",
        choices=[(ARRIVES_AFTER_LEAD, "after the on-call lead time"), (ARRIVES_NOW, "this hour")],
        initial=ARRIVES_AFTER_LEAD,
        help_text="A call-in counts from when the nurse is there; a release or an absence from this hour.",
    )
    note = forms.CharField(label="Note", max_length=200, required=False)


class PlanRequestForm(forms.Form):
    horizon_hours = forms.IntegerField(
        label="Hours to plan", min_value=1, max_value=168, initial=72, help_text="From this hour, 1 to 168."
    )
    risk_level = forms.ChoiceField(
        label="Risk accepted",
        choices=[(level, level.capitalize()) for level in RISK_LEVELS],
        initial="medium",
        help_text="Low rosters for the busy end of the forecast; high for its mean.",
    )


def shifts_format(shifts: list[list[int]]) -> str:
    """[[7, 8], [15, 8]] as '07-15, 15-23' (local start and end hours)."""
    return ", ".join(f"{start:02d}-{(start + hours) % 24:02d}" for start, hours in shifts)


class ShiftsField(forms.CharField):
    """Shifts typed as local start-end hours, '07-15, 15-23, 23-07', stored as [[start, hours], ...]."""

    def prepare_value(self, value):
        return shifts_format(value) if isinstance(value, list) else value

    def to_python(self, value):
        text = super().to_python(value)
        shifts = []
        for part in filter(None, (piece.strip() for piece in text.split(","))):
            try:
                start, end = (int(hour) for hour in part.split("-"))
            except ValueError:
                raise forms.ValidationError(f"'{part}': write each shift as start-end hours, like 07-15") from None
            if not (0 <= start < 24 and 0 <= end < 24):
                raise forms.ValidationError(f"'{part}': hours go from 00 to 23")
            shifts.append([start, (end - start) % 24 or 24])
        if not shifts:
            raise forms.ValidationError("give at least one shift")
        return shifts


class DepartmentRulesForm(forms.ModelForm):
    """The ratio and minimum live on the department; they are edited beside its staffing rules."""

    class Meta:
        model = Department
        fields = ["patients_per_nurse", "min_nurses"]


class StaffingRulesForm(forms.ModelForm):
    shifts = ShiftsField(help_text="Local start-end hours, for example 07-15, 15-23, 23-07 or 07-19, 19-07.")

    class Meta:
        model = StaffingRuleSet
        fields = [
            "shifts",
            "nurse_hour_cost",
            "oncall_premium",
            "oncall_lead_hours",
            "oncall_block_hours",
            "oncall_cap_per_day",
            "release_saving",
            "release_floor",
            "understaffed_penalty",
        ]
