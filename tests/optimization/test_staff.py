"""Nurses and requests imported from CSV, and a department's roster problem read back from them."""

from datetime import date
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from optimization.contracts import RULE_SUCCESSION, roster_check
from optimization.models import Contract, Leave, Nurse, ShiftRequest, Skill, SkillCover
from optimization.named_roster import SolveSettings, roster_solve
from optimization.roster_inputs import roster_problem_for
from optimization.rules import EIGHT_HOUR_SHIFTS, TWELVE_HOUR_SHIFTS, Shift
from optimization.services.staff import nurses_import, requests_import
from optimization.ward_shifts import rest_successions, shift_codes

HEADER = "employee_number,display_name,home_department,contract,skills,float_departments,fixed_days_off,takes_oncall"
NURSES = (
    HEADER
    + """
E001,Ada Byrne,ED,Full time,rn|charge,ICU,5|6,yes
E002,Bea Cole,ED,Full time,rn,,,no
E003,Cy Dunn,ED,Full time,rn,,,
E004,Di Egan,ED,Full time,rn|charge,,,
"""
)


@pytest.fixture
def staff_setup(ed, icu):
    Contract.objects.create(
        name="Full time",
        period_days=28,
        min_minutes=100 * 60,
        max_minutes=160 * 60,
        max_shifts={"D": 20, "E": 20, "N": 8},
        max_consecutive=5,
        min_consecutive=1,
        min_days_off=1,
        max_weekends=2,
    )
    Skill.objects.create(code="rn", name="Registered nurse")
    Skill.objects.create(code="charge", name="Charge nurse")
    return ed


def write(tmp_path, text: str, name: str = "staff.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_shift_codes_name_day_evening_and_night_shifts():
    assert list(shift_codes(EIGHT_HOUR_SHIFTS)) == ["D", "E", "N"]
    assert list(shift_codes(TWELVE_HOUR_SHIFTS)) == ["D", "N"]
    assert list(shift_codes((Shift(7, 8), Shift(9, 8), Shift(17, 14)))) == ["D07", "D09", "E"]


def test_rest_after_a_shift_forbids_the_next_days_early_shifts():
    # 8-hour shifts: an evening ends at 23:00 (8 h before the day shift), a night at 07:00 next morning.
    assert rest_successions(EIGHT_HOUR_SHIFTS, 11) == {"E": {"D"}, "N": {"D", "E"}}
    assert rest_successions(EIGHT_HOUR_SHIFTS, 8) == {"N": {"D"}}


def test_nurses_import_creates_then_updates_in_place(staff_setup, tmp_path):
    result = nurses_import(path=write(tmp_path, NURSES))
    assert (result.created, result.updated, result.errors) == (4, 0, [])
    ada = Nurse.objects.get(employee_number="E001")
    assert ada.display_name == "Ada Byrne" and ada.fixed_days_off == [5, 6]
    assert {skill.code for skill in ada.skills.all()} == {"rn", "charge"}
    assert [department.code for department in ada.float_departments.all()] == ["ICU"]
    assert Nurse.objects.get(employee_number="E002").takes_oncall is False
    again = nurses_import(path=write(tmp_path, NURSES.replace("Ada Byrne", "Ada Byrne-Ford")))
    assert (again.created, again.updated) == (0, 4)
    assert Nurse.objects.get(employee_number="E001").display_name == "Ada Byrne-Ford"


def test_an_import_with_unknown_departments_or_shifts_names_the_line_and_changes_nothing(staff_setup, tmp_path):
    nurses_import(path=write(tmp_path, NURSES))
    broken = NURSES.replace("E003,Cy Dunn,ED", "E003,Cy Dunn,XRAY").replace("rn|charge,,,", "rn|ninja,,,")
    result = nurses_import(path=write(tmp_path, broken.replace("Bea Cole", "Bea Renamed")))
    assert [str(error) for error in result.errors] == [
        "staff.csv line 4, field home_department: unknown department 'XRAY'",
        "staff.csv line 5, field skills: unknown skill(s) ninja",
    ]
    assert Nurse.objects.get(employee_number="E002").display_name == "Bea Cole"
    requests = "employee_number,day,shift,wanted,weight\nE001,2026-12-07,D,yes,3\nE002,2026-12-08,Z,no,1\n"
    result = requests_import(path=write(tmp_path, requests, "requests.csv"))
    assert [str(error) for error in result.errors] == [
        "requests.csv line 3, field shift: unknown shift type 'Z' in ED (D, E, N)"
    ]
    assert not ShiftRequest.objects.exists()


def test_import_staff_command_reports_counts_and_refuses_bad_files(staff_setup, tmp_path):
    out = StringIO()
    call_command("import_staff", "nurses", str(write(tmp_path, NURSES)), stdout=out)
    assert "4 created, 0 updated" in out.getvalue()
    requests = write(tmp_path, "employee_number,day,shift,wanted\nE001,2026-12-07,d,yes\n", "requests.csv")
    call_command("import_staff", "requests", str(requests), stdout=out)
    assert ShiftRequest.objects.get().shift == "D"
    err = StringIO()
    with pytest.raises(CommandError, match="1 invalid line"):
        call_command("import_staff", "nurses", str(write(tmp_path, "employee_number,display_name\n")), stderr=err)
    assert "missing column(s) home_department, contract" in err.getvalue()


def test_the_roster_problem_reads_contracts_days_off_leave_requests_and_skill_mix(staff_setup, tmp_path):
    nurses_import(path=write(tmp_path, NURSES))
    ada = Nurse.objects.get(employee_number="E001")
    Leave.objects.create(nurse=ada, first_day=date(2026, 12, 9), last_day=date(2026, 12, 10))
    ShiftRequest.objects.create(nurse=ada, day=date(2026, 12, 8), shift="N", wanted=False, weight=4)
    SkillCover.objects.create(department=staff_setup, skill=Skill.objects.get(code="charge"), nurses=1, weight=80)
    # Monday 7 December 2026, two weeks.
    problem = roster_problem_for(staff_setup, first_day=date(2026, 12, 7), days=14, headcounts={(0, "D"): 2})
    by_id = {nurse.id: nurse for nurse in problem.nurses}
    assert [shift.code for shift in problem.shift_types] == ["D", "E", "N"]
    assert by_id["E001"].days_off == {2, 3, 5, 6, 12, 13}
    assert by_id["E001"].skills == {"rn", "charge"}
    # Half the 28-day contract: 50 to 80 hours, 10 day shifts, 1 weekend; her two days of leave count as
    # worked towards the least (100 hours over 12 of 28 days: 2,571 minutes).
    contract = by_id["E001"].contract
    assert by_id["E002"].contract.min_minutes == 3000
    assert (contract.min_minutes, contract.max_minutes, contract.max_shifts["D"], contract.max_weekends) == (
        2571,
        4800,
        10,
        1,
    )
    assert contract.not_followed_by == {"E": {"D"}, "N": {"D", "E"}}
    assert [(r.nurse, r.day, r.shift, r.weight, r.wanted) for r in problem.requests] == [("E001", 1, "N", 4, False)]
    day_shift = [need for need in problem.cover if need.day == 0 and need.shift == "D"]
    assert [(need.required, need.skill) for need in day_shift] == [(2, None), (1, "charge")]
    assert problem.first_weekday == 0
    # The engine rosters it within the contracts, no day shift after an evening.
    solution = roster_solve(problem, SolveSettings(seconds=5, deterministic=True))
    check = roster_check(problem, solution.assignment)
    assert check.feasible and RULE_SUCCESSION not in {violation.rule for violation in check.violations}
    assert ("E001", 2) not in solution.assignment
