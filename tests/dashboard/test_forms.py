"""The forms of the staff pages: plan requests, and shifts typed as local start-end hours."""

import pytest
from django import forms

from dashboard.forms import DepartmentRulesForm, PlanRequestForm, ShiftsField, StaffingRulesForm, shifts_format
from optimization.models import StaffingRuleSet


@pytest.mark.parametrize(
    ("text", "shifts"),
    [
        ("07-15, 15-23, 23-07", [[7, 8], [15, 8], [23, 8]]),
        ("07-19, 19-07", [[7, 12], [19, 12]]),
        ("07-07", [[7, 24]]),
        ("00-00", [[0, 24]]),
        (" 7-15 ,15-23,, 23-7 ", [[7, 8], [15, 8], [23, 8]]),
        ("22-06", [[22, 8]]),
    ],
)
def test_shifts_are_read_as_start_hour_and_length(text, shifts):
    assert ShiftsField().clean(text) == shifts


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("25-03", "hours go from 00 to 23"),
        ("07-24", "hours go from 00 to 23"),
        ("7 to 15", "write each shift as start-end hours"),
        ("07-15-23", "write each shift as start-end hours"),
        ("07", "write each shift as start-end hours"),
        ("", "give at least one shift"),
        (" , ", "give at least one shift"),
    ],
)
def test_shifts_that_cannot_be_read_are_rejected_with_a_reason(text, message):
    with pytest.raises(forms.ValidationError) as raised:
        ShiftsField().clean(text)
    assert message in " ".join(raised.value.messages)


@pytest.mark.parametrize(
    ("shifts", "text"),
    [
        ([[7, 8], [15, 8], [23, 8]], "07-15, 15-23, 23-07"),
        ([[7, 12], [19, 12]], "07-19, 19-07"),
        ([[7, 24]], "07-07"),
        ([[0, 6]], "00-06"),
    ],
)
def test_shifts_are_written_back_as_they_are_typed(shifts, text):
    assert shifts_format(shifts) == text
    assert ShiftsField().clean(shifts_format(shifts)) == shifts


def test_the_shifts_field_shows_stored_shifts_as_text():
    field = ShiftsField()
    assert field.prepare_value([[7, 12], [19, 12]]) == "07-19, 19-07"
    assert field.prepare_value("as typed") == "as typed"


@pytest.mark.parametrize(("hours", "valid"), [("1", True), ("168", True), ("72", True), ("0", False), ("169", False)])
def test_a_plan_covers_8_to_168_hours(hours, valid):
    form = PlanRequestForm({"horizon_hours": hours, "risk_level": "low"})
    assert form.is_valid() is valid
    if valid:
        assert form.cleaned_data == {"horizon_hours": int(hours), "risk_level": "low"}
    else:
        assert "horizon_hours" in form.errors


def test_the_risk_level_is_low_medium_or_high():
    choices = [value for value, _ in PlanRequestForm().fields["risk_level"].choices]
    assert choices == ["low", "medium", "high"]
    form = PlanRequestForm({"horizon_hours": "24", "risk_level": "reckless"})
    assert not form.is_valid() and "risk_level" in form.errors


def test_a_plan_request_starts_at_72_hours_and_medium_risk():
    form = PlanRequestForm()
    assert (form["horizon_hours"].value(), form["risk_level"].value()) == (72, "medium")


RULES = {
    "shifts": "07-19, 19-07",
    "nurse_hour_cost": "1",
    "oncall_premium": "1.5",
    "oncall_lead_hours": "2",
    "oncall_block_hours": "4",
    "oncall_cap_per_day": "4",
    "release_saving": "0.5",
    "release_floor": "0",
    "understaffed_penalty": "10",
}


def test_the_rules_form_stores_parsed_shifts(ed):
    form = StaffingRulesForm(RULES, instance=StaffingRuleSet(department=ed))
    assert form.is_valid(), form.errors
    assert form.cleaned_data["shifts"] == [[7, 12], [19, 12]]


def test_the_rules_form_rejects_shifts_that_leave_hours_uncovered(ed):
    form = StaffingRulesForm(RULES | {"shifts": "07-15, 15-23"}, instance=StaffingRuleSet(department=ed))
    assert not form.is_valid()
    assert "some hours of the day are covered by no shift" in " ".join(form.errors["shifts"])


def test_the_rules_form_rejects_a_24_hour_shift(ed):
    form = StaffingRulesForm(RULES | {"shifts": "07-07"}, instance=StaffingRuleSet(department=ed))
    assert not form.is_valid()
    assert "1-16 hours" in " ".join(form.errors["shifts"])


@pytest.mark.parametrize(
    ("field", "value"),
    [("release_saving", "1.5"), ("oncall_premium", "0.5"), ("nurse_hour_cost", "0"), ("understaffed_penalty", "")],
)
def test_the_rules_form_rejects_values_out_of_range(ed, field, value):
    form = StaffingRulesForm(RULES | {field: value}, instance=StaffingRuleSet(department=ed))
    assert not form.is_valid() and field in form.errors


@pytest.mark.parametrize(
    ("data", "valid"),
    [
        ({"patients_per_nurse": "4", "min_nurses": "2"}, True),
        ({"patients_per_nurse": "0", "min_nurses": "2"}, False),
        ({"patients_per_nurse": "13", "min_nurses": "2"}, False),
        ({"patients_per_nurse": "4", "min_nurses": "0"}, False),
    ],
)
def test_the_department_form_keeps_the_ratio_between_1_and_12_and_a_minimum_of_1(ed, data, valid):
    assert DepartmentRulesForm(data, instance=ed).is_valid() is valid
