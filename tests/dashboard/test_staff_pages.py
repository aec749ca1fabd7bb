"""The named-staff pages: the roster grid and its exports, whom to call or send home, a nurse's own page."""

from datetime import timedelta

from django.utils import timezone

from optimization.models import (
    CallInOffer,
    DutyChange,
    DutyChangeKind,
    Leave,
    NamedRoster,
    OfferStatus,
    ReleaseVolunteer,
    ShiftRequest,
)
from tests.factories import PASSWORD


def page(client, user, path):
    client.force_login(user)
    return client.get(path)


def test_the_roster_page_draws_the_grid_in_force_with_its_forms(client, ed_staff, ed_named_ward):
    response = page(client, ed_staff, "/departments/ED/roster/")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="roster-grid"' in html and html.count('<th scope="row" class="nurse">') == 4
    assert "D cover" in html and "Put in force" not in html  # in force already
    assert "Record and repair" in html and "Solve" in html


def test_integrators_see_the_roster_without_the_forms_and_other_units_see_nothing(
    client, integrator, icu_staff, ed_named_ward
):
    html = page(client, integrator, "/departments/ED/roster/").content.decode()
    assert 'id="roster-grid"' in html and "Record and repair" not in html
    assert page(client, icu_staff, "/departments/ED/roster/").status_code == 404
    assert page(client, icu_staff, f"/rosters/{ed_named_ward[0].id}/").status_code == 404
    assert page(client, icu_staff, f"/rosters/{ed_named_ward[0].id}/roster.csv").status_code == 404


def test_a_roster_requested_on_the_page_opens_its_own_page(
    client, ed_staff, ed_named_ward, django_capture_on_commit_callbacks
):
    client.force_login(ed_staff)
    body = {"first_day": "2024-01-08", "days": 7, "seconds": 2, "seed": 1}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/departments/ED/roster/", body)
    roster = NamedRoster.objects.exclude(id=ed_named_ward[0].id).get()
    assert response.status_code == 302 and response["Location"] == f"/rosters/{roster.id}/"
    html = client.get(response["Location"]).content.decode()
    assert "Proposal" in html and "Put in force" in html and 'id="roster-grid"' in html


def test_a_refused_roster_request_names_the_field(client, ed_staff, ed_named_ward):
    client.force_login(ed_staff)
    response = client.post("/departments/ED/roster/", {"first_day": "2024-01-08", "days": 3, "seconds": 2, "seed": 0})
    assert response.status_code == 200 and NamedRoster.objects.count() == 1
    assert "Ensure this value is greater than or equal to 7" in response.content.decode()


def test_the_csv_export_has_a_row_per_shift_worked(client, ed_staff, ed_named_ward):
    response = page(client, ed_staff, f"/rosters/{ed_named_ward[0].id}/roster.csv")
    lines = response.content.decode().splitlines()
    assert response["Content-Type"].startswith("text/csv")
    assert lines[0] == "employee_number,display_name,day,shift,starts,ends" and len(lines) == 1 + 14
    assert lines[1].startswith("ED001,Nurse ED1,") and ",D," in lines[1]


def test_a_sick_call_on_the_page_records_her_leave_and_opens_the_repair(client, ed_staff, ed_named_ward):
    client.force_login(ed_staff)
    today = timezone.now().date().isoformat()
    body = {"nurse": ed_named_ward[1][0].id, "first_day": today, "last_day": today}
    response = client.post("/departments/ED/sick-calls/", body)
    repair = NamedRoster.objects.get(repair_of=ed_named_ward[0])
    assert response["Location"] == f"/rosters/{repair.id}/"
    assert Leave.objects.filter(nurse=ed_named_ward[1][0], reason="sick call").exists()
    response = client.post("/departments/ED/sick-calls/", {**body, "last_day": "2000-01-01"}, follow=True)
    assert "Nothing was recorded: last_day: on or after the first day" in response.content.decode()


def test_the_department_page_names_who_is_on_duty_and_whom_to_call(client, ed_staff, ed_named_ward):
    html = page(client, ed_staff, "/departments/ED/").content.decode()
    assert 'id="named-staff"' in html and 'id="call-in-ranking"' in html
    partial = page(client, ed_staff, "/departments/ED/named-staff/").content.decode()
    assert "Nurse ED3" in partial and "Nurse ED4" in partial and "Fallback: an agency nurse" in partial


def test_a_call_in_offered_on_the_page_is_answered_on_her_page(client, ed_staff, ed_nurse_user, ed_named_ward):
    nurse = ed_named_ward[1][3]
    client.force_login(ed_staff)
    response = client.post("/departments/ED/call-ins/", {"nurse": nurse.id}, follow=True)
    assert "Offered to Nurse ED4" in response.content.decode()
    offer = CallInOffer.objects.get()
    client.force_login(ed_nurse_user)
    html = client.get("/me/").content.decode()
    assert f'id="offer-{offer.id}"' in html and "Accept" in html
    response = client.post(f"/me/offers/{offer.id}/", {"answer": "accept"}, follow=True)
    assert "Accepted: you are on duty in ED" in response.content.decode()
    assert DutyChange.objects.get(nurse=nurse).kind == DutyChangeKind.CALL_IN
    client.force_login(ed_staff)
    assert "Call-in confirmed: Nurse ED4" in client.get("/departments/ED/").content.decode()


def test_an_offer_to_a_nurse_on_duty_is_refused_on_the_page(client, ed_staff, ed_named_ward):
    client.force_login(ed_staff)
    response = client.post("/departments/ED/call-ins/", {"nurse": "not a number"}, follow=True)
    assert "Nothing was offered: choose a nurse." in response.content.decode()
    assert not CallInOffer.objects.exists()


def test_a_nurse_answers_only_her_own_offers(client, ed_staff, ed_nurse_user, ed_named_ward):
    client.force_login(ed_staff)
    client.post("/departments/ED/call-ins/", {"nurse": ed_named_ward[1][2].id})
    offer = CallInOffer.objects.get()
    client.force_login(ed_nurse_user)
    assert client.post(f"/me/offers/{offer.id}/", {"answer": "accept"}).status_code == 404
    assert CallInOffer.objects.get().status == OfferStatus.OFFERED


def test_her_page_keeps_her_requests_and_volunteering(client, ed_nurse_user, ed_named_ward):
    client.force_login(ed_nurse_user)
    day = (timezone.now() + timedelta(days=2)).date().isoformat()
    client.post("/me/", {"day": day, "shift": "E", "wanted": "no", "weight": 4})
    asked = ShiftRequest.objects.get(nurse=ed_named_ward[1][3])
    assert (asked.shift, asked.wanted, asked.weight) == ("E", False, 4)
    response = client.post("/me/", {"day": day, "shift": "Z", "wanted": "no", "weight": 4})
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    client.post(f"/me/requests/{asked.id}/delete/")
    assert not ShiftRequest.objects.exists()
    client.post("/me/volunteer/", {"volunteer": "yes"})
    assert ReleaseVolunteer.objects.filter(nurse=ed_named_ward[1][3]).exists()
    client.post("/me/volunteer/", {"volunteer": "no"})
    assert not ReleaseVolunteer.objects.exists()


def test_a_nurse_without_a_department_lands_on_her_page_and_sees_no_unit(client, ed_nurse_user, ed_named_ward):
    client.force_login(ed_nurse_user)
    assert client.get("/")["Location"] == "/me/"
    assert client.get("/departments/ED/").status_code == 404
    assert client.get("/departments/ED/named-staff/").status_code == 404


def test_an_account_without_a_nurse_has_no_page_of_her_own(client, ed_staff):
    assert page(client, ed_staff, "/me/").status_code == 404


def test_her_calendar_feed_is_linked_from_her_page_and_found_by_its_secret_alone(client, ed_nurse_user, ed_named_ward):
    html = page(client, ed_nurse_user, "/me/").content.decode()
    assert f"/calendar/{ed_named_ward[1][3].calendar_token}.ics" in html
    client.logout()
    response = client.get(f"/calendar/{ed_named_ward[1][0].calendar_token}.ics")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/calendar")
    assert response.content.decode().count("BEGIN:VEVENT") == 7
    assert client.get("/calendar/not-a-token.ics").status_code == 404


def test_the_nurse_signs_in_with_her_password_and_lands_on_her_page(client, ed_nurse_user, ed_named_ward):
    response = client.post("/accounts/login/", {"username": "ed_nurse", "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == "/me/" and "Nurse ED4" in response.content.decode()
