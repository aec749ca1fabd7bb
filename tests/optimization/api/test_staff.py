"""/api/v1/staff/...: nurses, leave, shift requests, contracts and skills; validation, roles and scoping."""

import pytest

from optimization.models import Contract, Nurse, ShiftRequest, Skill
from tests.factories import user_make


@pytest.fixture
def contract(db):
    return Contract.objects.create(
        name="Full time", min_minutes=6000, max_minutes=9600, max_shifts={"D": 20, "E": 20, "N": 8}
    )


@pytest.fixture
def ada(ed, icu, contract):
    Skill.objects.create(code="charge", name="Charge nurse")
    nurse = Nurse.objects.create(
        employee_number="E001", display_name="Ada Byrne", home_department=ed, contract=contract
    )
    Nurse.objects.create(employee_number="I001", display_name="Ivy Kerr", home_department=icu, contract=contract)
    return nurse


def send(client, user, method, path, body=None):
    client.force_authenticate(user)
    return getattr(client, method)(path, body, format="json")


def test_an_integrator_creates_a_nurse_and_staff_see_only_their_departments(api_client, integrator, ed_staff, ada):
    body = {
        "employee_number": "E002",
        "display_name": "Bea Cole",
        "home_department": "ED",
        "contract": "Full time",
        "skills": ["charge"],
        "fixed_days_off": [5, 6],
    }
    response = send(api_client, integrator, "post", "/api/v1/staff/nurses", body)
    assert response.status_code == 201, response.json()
    assert response.json()["skills"] == ["charge"] and response.json()["fixed_days_off"] == [5, 6]
    listed = send(api_client, ed_staff, "get", "/api/v1/staff/nurses").json()
    assert [nurse["employee_number"] for nurse in listed["results"]] == ["E001", "E002"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"home_department": "ICU"}, "home_department"),  # not one of the integrator's departments
        ({"home_department": "NOPE"}, "home_department"),
        ({"contract": "Part time"}, "contract"),
        ({"skills": ["ninja"]}, "skills"),
        ({"fixed_days_off": [7]}, "fixed_days_off"),
        ({"employee_number": "E001"}, "employee_number"),  # taken
    ],
)
def test_a_bad_nurse_is_refused_naming_the_field(api_client, integrator, ada, changes, field):
    body = {"employee_number": "E009", "display_name": "X", "home_department": "ED", "contract": "Full time"}
    response = send(api_client, integrator, "post", "/api/v1/staff/nurses", {**body, **changes})
    assert response.status_code == 400
    assert field in response.json()


def test_a_shift_request_must_name_a_shift_of_the_nurses_department(api_client, ed_staff, ada):
    good = {"nurse": "E001", "day": "2026-12-07", "shift": "N", "wanted": False, "weight": 3}
    response = send(api_client, ed_staff, "post", "/api/v1/staff/shift-requests", good)
    assert response.status_code == 201, response.json()
    bad = send(api_client, ed_staff, "post", "/api/v1/staff/shift-requests", {**good, "shift": "Z"})
    assert bad.status_code == 400 and "unknown shift type 'Z' in ED" in bad.json()["shift"][0]
    twice = send(api_client, ed_staff, "post", "/api/v1/staff/shift-requests", good)
    assert twice.status_code == 400
    other = send(api_client, ed_staff, "post", "/api/v1/staff/shift-requests", {**good, "nurse": "I001"})
    assert other.status_code == 400 and "nurse" in other.json()
    assert ShiftRequest.objects.count() == 1


def test_leave_ends_on_or_after_it_starts(api_client, ed_staff, ada):
    body = {"nurse": "E001", "first_day": "2026-12-10", "last_day": "2026-12-09"}
    response = send(api_client, ed_staff, "post", "/api/v1/staff/leave", body)
    assert response.status_code == 400 and "last_day" in response.json()
    response = send(api_client, ed_staff, "post", "/api/v1/staff/leave", {**body, "last_day": "2026-12-12"})
    assert response.status_code == 201


def test_only_admins_keep_contracts_and_staff_cannot_change_nurses(api_client, ed_staff, hospital_admin, ada):
    body = {"name": "Part time", "min_minutes": 3000, "max_minutes": 4800, "max_shifts": {"D": 10}}
    assert send(api_client, ed_staff, "post", "/api/v1/staff/contracts", body).status_code == 403
    response = send(api_client, hospital_admin, "post", "/api/v1/staff/contracts", body)
    assert response.status_code == 201, response.json()
    bad = send(
        api_client, hospital_admin, "post", "/api/v1/staff/contracts", {**body, "name": "X", "min_minutes": 5000}
    )
    assert bad.status_code == 400 and "min_minutes" in bad.json()
    bad = send(api_client, hospital_admin, "post", "/api/v1/staff/contracts", {**body, "max_shifts": {"night": 2}})
    assert bad.status_code == 400 and "max_shifts" in bad.json()
    change = send(api_client, ed_staff, "patch", f"/api/v1/staff/nurses/{ada.id}", {"display_name": "Y"})
    assert change.status_code == 403


def test_nurses_of_other_departments_are_not_found(api_client, ada):
    icu_nurse = Nurse.objects.get(employee_number="I001")
    ed_only = user_make("ed_only", role="staff", departments=[ada.home_department])
    assert send(api_client, ed_only, "get", f"/api/v1/staff/nurses/{icu_nurse.id}").status_code == 404
    assert send(api_client, ed_only, "get", f"/api/v1/staff/nurses/{ada.id}").status_code == 200


def test_a_contract_name_is_unique(api_client, hospital_admin, contract):
    body = {"name": "Full time", "min_minutes": 0, "max_minutes": 4800, "max_shifts": {"D": 10}}
    response = send(api_client, hospital_admin, "post", "/api/v1/staff/contracts", body)
    assert response.status_code == 400 and "name" in response.json()


def test_a_page_that_is_not_a_whole_number_is_refused(api_client, ed_staff, ada):
    assert send(api_client, ed_staff, "get", "/api/v1/staff/leave?page=").status_code == 400
    assert send(api_client, ed_staff, "get", "/api/v1/staff/leave?page=last").status_code == 400
    assert send(api_client, ed_staff, "get", "/api/v1/staff/leave?page=1").status_code == 200
