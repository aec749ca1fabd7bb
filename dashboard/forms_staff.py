"""Forms of the named-roster pages: request a roster, a sick call, a call-in offer, a nurse's own request."""

from datetime import timedelta

from django import forms
from django.utils import timezone

from optimization.models import ROSTER_DAYS, Nurse
from optimization.models.rosters import ROSTER_SECONDS_MAX


def next_monday():
    today = timezone.localdate()
    return today + timedelta(days=(7 - today.weekday()) % 7 or 7)


class RosterRequestForm(forms.Form):
    first_day = forms.DateField(label="First day", widget=forms.DateInput(attrs={"type": "date"}), initial=next_monday)
    days = forms.IntegerField(
        label="Days", min_value=ROSTER_DAYS[0], max_value=ROSTER_DAYS[1], initial=28, help_text="7 to 84."
    )
    seconds = forms.IntegerField(
        label="Time limit (s)",
        min_value=1,
        max_value=ROSTER_SECONDS_MAX,
        initial=20,
        help_text="The solver's budget, counted in CP-SAT's deterministic seconds.",
    )
    seed = forms.IntegerField(
        label="Seed", min_value=0, max_value=2**31 - 1, initial=0, help_text="Same seed, same roster."
    )


class SickCallForm(forms.Form):
    nurse = forms.ModelChoiceField(label="Nurse", queryset=Nurse.objects.none())
    first_day = forms.DateField(label="Sick from", widget=forms.DateInput(attrs={"type": "date"}))
    last_day = forms.DateField(label="Until (included)", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, department, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["nurse"].queryset = Nurse.objects.filter(home_department=department, is_active=True).order_by(
            "display_name"
        )

    def clean(self):
        data = super().clean()
        if data.get("first_day") and data.get("last_day") and data["last_day"] < data["first_day"]:
            self.add_error("last_day", "on or after the first day")
        return data


class OwnRequestForm(forms.Form):
    """A nurse asks for a shift, or asks not to work it."""

    day = forms.DateField(label="Day", widget=forms.DateInput(attrs={"type": "date"}))
    shift = forms.ChoiceField(label="Shift")
    wanted = forms.TypedChoiceField(
        label="I would like",
        choices=[("yes", "to work it"), ("no", "not to work it")],
        coerce=lambda value: value == "yes",
    )
    weight = forms.IntegerField(label="How much it matters (1-10)", min_value=1, max_value=10, initial=3)

    def __init__(self, *args, codes: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["shift"].choices = [(code, code) for code in codes]
