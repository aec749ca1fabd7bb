"""The Django admin's staff screens: each renders, and a charge nurse sees only her departments' nurses."""

import pytest

from optimization.models import Contract, Leave, Nurse, ShiftRequest, Skill


@pytest.fixture
def nurses(ed, icu):
    contract = Contract.objects.create(name="Full time", min_minutes=0, max_minutes=9600, max_shifts={"D": 20})
    Skill.objects.create(code="charge", name="Charge nurse")
    ada = Nurse.objects.create(employee_number="E001", display_name="Ada Byrne", home_department=ed, contract=contract)
    Nurse.objects.create(employee_number="I001", display_name="Ivy Kerr", home_department=icu, contract=contract)
    Leave.objects.create(nurse=ada, first_day="2026-12-09", last_day="2026-12-10")
    ShiftRequest.objects.create(nurse=ada, day="2026-12-08", shift="N", wanted=False)
    return ada


@pytest.mark.parametrize("model", ["nurse", "contract", "skill", "skillcover"])
def test_staff_changelists_and_add_forms_render(admin_client, nurses, model):
    assert admin_client.get(f"/admin/optimization/{model}/").status_code == 200
    assert admin_client.get(f"/admin/optimization/{model}/add/").status_code == 200


def test_a_nurse_opens_with_her_leave_and_requests(admin_client, nurses):
    page = admin_client.get(f"/admin/optimization/nurse/{nurses.id}/change/").content.decode()
    assert "Ada Byrne" in page and "2026-12-09" in page and "2026-12-08" in page


def test_a_charge_nurse_sees_only_her_departments_nurses(client, ed_staff, nurses):
    ed_staff.is_staff = True
    ed_staff.save()
    client.force_login(ed_staff)
    page = client.get("/admin/optimization/nurse/").content.decode()
    assert "Ada Byrne" in page and "Ivy Kerr" not in page
