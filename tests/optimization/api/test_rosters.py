"""/api/v1/rosters, /call-in-offers and /optimize/call-in-candidates: jobs, answers, roles and scoping."""

from datetime import timedelta

from django.utils import timezone

from optimization.models import CallInOffer, DutyChange, OfferStatus, RunStatus
from tests.factories import named_roster_make


def send(client, user, method, path, body=None):
    client.force_authenticate(user)
    return getattr(client, method)(path, body, format="json")


def test_staff_request_a_roster_and_read_it_back_with_its_shifts(
    api_client, ed, ed_staff, ed_named_ward, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = send(
            api_client,
            ed_staff,
            "post",
            "/api/v1/rosters/",
            {"department": "ED", "first_day": "2024-01-08", "days": 7, "seconds": 2},
        )
    assert response.status_code == 202, response.json()
    roster = send(api_client, ed_staff, "get", f"/api/v1/rosters/{response.json()['id']}/").json()
    assert roster["status"] == RunStatus.SUCCEEDED and roster["shifts"]
    assert set(roster["shifts"][0]) == {"nurse", "display_name", "day", "shift", "starts_at", "ends_at"}
    assert roster["gap"] is not None and roster["penalty"] is not None
    listed = send(api_client, ed_staff, "get", "/api/v1/rosters/?department=ED").json()
    assert {row["id"] for row in listed["results"]} >= {roster["id"]} and "shifts" not in listed["results"][0]


def test_a_roster_request_names_the_field_it_refuses(api_client, ed_staff, ed_named_ward):
    response = send(
        api_client, ed_staff, "post", "/api/v1/rosters/", {"department": "ED", "first_day": "2024-01-08", "days": 3}
    )
    assert response.status_code == 400 and "days" in response.json()
    response = send(api_client, ed_staff, "post", "/api/v1/rosters/", {"department": "ICU", "first_day": "2024-01-08"})
    assert response.status_code == 404


def test_integrators_read_rosters_and_staff_of_another_unit_see_none(api_client, integrator, icu_staff, ed_named_ward):
    roster, _ = ed_named_ward
    assert send(api_client, integrator, "get", f"/api/v1/rosters/{roster.id}/").status_code == 200
    response = send(api_client, integrator, "post", "/api/v1/rosters/", {"department": "ED", "first_day": "2024-01-08"})
    assert response.status_code == 403
    assert send(api_client, icu_staff, "get", f"/api/v1/rosters/{roster.id}/").status_code == 404
    assert send(api_client, icu_staff, "get", "/api/v1/rosters/").json()["results"] == []


def test_a_roster_put_in_force_twice_is_refused_the_second_time(api_client, ed, ed_staff, ed_named_ward):
    _, nurses = ed_named_ward
    proposal = named_roster_make(
        ed, first_day=timezone.now().date() + timedelta(days=1), days=7, shifts={nurses[2]: ["E"] * 7}, in_force=False
    )
    response = send(api_client, ed_staff, "post", f"/api/v1/rosters/{proposal.id}/put-in-force/")
    assert response.status_code == 200 and response.json()["put_in_force_by"] == "ed_staff"
    response = send(api_client, ed_staff, "post", f"/api/v1/rosters/{proposal.id}/put-in-force/")
    assert response.status_code == 400 and "in_force_from" in response.json()


def test_a_sick_call_queues_a_repair_and_an_unknown_nurse_is_named(api_client, ed_staff, icu_staff, ed_named_ward):
    today = timezone.now().date().isoformat()
    body = {"nurse": "ED001", "first_day": today, "last_day": today, "seconds": 1}
    response = send(api_client, ed_staff, "post", "/api/v1/rosters/sick-calls/", body)
    assert response.status_code == 202 and response.json()["repair_of"] == str(ed_named_ward[0].id)
    response = send(api_client, icu_staff, "post", "/api/v1/rosters/sick-calls/", body)
    assert response.status_code == 400 and "nurse" in response.json()


def test_candidates_are_ranked_for_the_default_call_in(api_client, ed_staff, ed_named_ward):
    response = send(api_client, ed_staff, "get", "/api/v1/optimize/call-in-candidates/?department=ED")
    assert response.status_code == 200
    body = response.json()
    legal = [candidate["nurse"] for candidate in body["candidates"] if candidate["legal"]]
    assert legal[:2] == ["ED003", "ED004"] and body["agency_cost"] > body["candidates"][0]["cost"]
    assert (
        send(api_client, ed_staff, "get", "/api/v1/optimize/call-in-candidates/?department=ED&hours=99").status_code
        == 400
    )
    assert send(api_client, ed_staff, "get", "/api/v1/optimize/call-in-candidates/?department=ICU").status_code == 404
    far = send(
        api_client, ed_staff, "get", "/api/v1/optimize/call-in-candidates/?department=ED&starts_at=9999-12-31T23:00Z"
    )
    assert far.status_code == 400 and "84 days ahead" in far.json()["starts_at"][0]


def test_an_offer_is_made_by_staff_and_answered_by_the_nurse_alone(api_client, ed_staff, ed_nurse_user, ed_named_ward):
    response = send(api_client, ed_staff, "post", "/api/v1/call-in-offers/", {"department": "ED", "nurse": "ED004"})
    assert response.status_code == 201, response.json()
    offer = response.json()
    assert offer["status"] == OfferStatus.OFFERED and offer["display_name"] == "Nurse ED4"
    # Only the nurse answers: her charge nurse does not see it among "her own".
    assert send(api_client, ed_staff, "post", f"/api/v1/call-in-offers/{offer['id']}/accept/").status_code == 404
    response = send(api_client, ed_nurse_user, "post", f"/api/v1/call-in-offers/{offer['id']}/accept/")
    assert response.status_code == 200 and response.json()["status"] == OfferStatus.ACCEPTED
    change = DutyChange.objects.get(id=response.json()["duty_change"])
    assert change.nurse.employee_number == "ED004" and change.recorded_by == ed_nurse_user
    assert send(api_client, ed_nurse_user, "post", f"/api/v1/call-in-offers/{offer['id']}/decline/").status_code == 400


def test_an_offer_to_a_nurse_on_duty_is_refused_with_the_reason(api_client, ed_staff, ed_named_ward):
    now = timezone.now()
    body = {"department": "ED", "nurse": "ED001", "starts_at": (now + timedelta(days=1)).replace(hour=8).isoformat()}
    response = send(api_client, ed_staff, "post", "/api/v1/call-in-offers/", body)
    assert response.status_code == 400 and "already on duty then" in response.json()["nurse"][0]
    unknown = send(api_client, ed_staff, "post", "/api/v1/call-in-offers/", {"department": "ED", "nurse": "X9"})
    assert unknown.status_code == 400 and not CallInOffer.objects.exists()


def test_a_charge_nurse_withdraws_an_open_offer(api_client, ed_staff, ed_named_ward):
    offer = send(api_client, ed_staff, "post", "/api/v1/call-in-offers/", {"department": "ED", "nurse": "ED003"}).json()
    response = send(api_client, ed_staff, "post", f"/api/v1/call-in-offers/{offer['id']}/withdraw/")
    assert response.status_code == 200 and response.json()["status"] == OfferStatus.WITHDRAWN
