"""Guessing passwords and flooding writes hit 429 with Retry-After; a down cache has a chosen outcome."""

from unittest import mock

import pytest
from rest_framework.test import APIClient

from tests.factories import PASSWORD, current_hour

TOKEN = "/api/v1/auth/token/"


@pytest.fixture(autouse=True)
def one_window():
    """All requests of a test fall in one rate-limit window: time.time stands still (windows roll over)."""
    with mock.patch("django_ratelimit.core.time.time", return_value=1_800_000_000.0):
        yield


def test_guessing_one_users_password_is_stopped_after_five_tries(ed_staff):
    client = APIClient()
    answers = [
        client.post(TOKEN, {"username": "ed_staff", "password": f"guess-{n}"}, format="json").status_code
        for n in range(6)
    ]
    assert answers == [401] * 5 + [429]
    blocked = client.post(TOKEN, {"username": "ed_staff", "password": PASSWORD}, format="json")
    assert blocked.status_code == 429 and blocked["Retry-After"] == "60"
    # Another user name from the same address still gets its own tries.
    assert client.post(TOKEN, {"username": "icu_staff", "password": "x"}, format="json").status_code == 401


def test_the_user_name_is_matched_whatever_its_case(ed_staff):
    client = APIClient()
    for n in range(5):
        client.post(TOKEN, {"username": "ED_Staff" if n % 2 else "ed_staff", "password": "x"}, format="json")
    assert client.post(TOKEN, {"username": "ed_staff", "password": "x"}, format="json").status_code == 429


def test_one_address_trying_many_user_names_is_stopped(db):
    client = APIClient()
    answers = [client.post(TOKEN, {"username": f"user{n}", "password": "x"}).status_code for n in range(11)]
    assert answers == [401] * 10 + [429], answers


def test_the_sign_in_form_is_limited_too(client, ed_staff):
    for n in range(5):
        assert client.post("/accounts/login/", {"username": "ed_staff", "password": f"guess-{n}"}).status_code == 200
    response = client.post("/accounts/login/", {"username": "ed_staff", "password": PASSWORD})
    assert response.status_code == 429 and response["Retry-After"] == "60"
    assert "Too many requests" in response.content.decode()


def test_sign_in_fails_closed_when_the_rate_limit_store_is_down(ed_staff):
    with mock.patch("healthcare.accounts.ratelimits.is_ratelimited", side_effect=ConnectionError("redis down")):
        response = APIClient().post(TOKEN, {"username": "ed_staff", "password": PASSWORD}, format="json")
    assert response.status_code == 503 and response["Retry-After"] == "30"


@pytest.mark.parametrize("body", [b"\x00", b"not json", b'"a string"'])
def test_a_body_that_is_not_json_is_a_bad_request_not_an_outage(db, body):
    response = APIClient().post(TOKEN, data=body, content_type="application/json")
    assert response.status_code == 400, response.content


def test_data_writes_fail_open_when_the_rate_limit_store_is_down(ed, integrator):
    client = APIClient()
    client.force_authenticate(integrator)
    body = {
        "source": "adt",
        "events": [
            {
                "event_id": "e1",
                "kind": "admit",
                "encounter_id": "V1",
                "patient": "P1",
                "department": "ED",
                "occurred_at": current_hour().isoformat(),
            }
        ],
    }
    with mock.patch("healthcare.accounts.ratelimits.is_ratelimited", side_effect=ConnectionError("redis down")):
        assert client.post("/api/v1/events", body, format="json").status_code == 200


def test_forecast_and_plan_requests_are_limited_per_user(ed, ed_staff, icu_staff, settings):
    settings.RATELIMIT_JOBS = "2/m"
    client = APIClient()
    client.force_authenticate(ed_staff)
    body = {"department": "ED", "horizon_hours": 24}
    answers = [client.post("/api/v1/optimize/workload", body, format="json").status_code for _ in range(2)]
    answers.append(client.post("/api/v1/predict/workload", body, format="json").status_code)
    assert answers == [202, 202, 429]
    other = APIClient()
    other.force_authenticate(icu_staff)
    assert other.post("/api/v1/optimize/workload", body, format="json").status_code != 429


@pytest.mark.parametrize("method", ["get", "options"])
def test_reads_are_not_counted(ed_staff, settings, method):
    settings.RATELIMIT_WRITES = "1/m"
    client = APIClient()
    client.force_authenticate(ed_staff)
    answers = {getattr(client, method)("/api/v1/events").status_code for _ in range(3)}
    assert 429 not in answers


def test_the_admin_sign_in_form_is_limited_too(client, hospital_admin):
    for n in range(5):
        client.post("/admin/login/", {"username": "admin", "password": f"guess-{n}"})
    assert client.post("/admin/login/", {"username": "admin", "password": PASSWORD}).status_code == 429


def test_there_is_no_other_sign_in_form():
    from django.urls import NoReverseMatch, reverse

    with pytest.raises(NoReverseMatch):
        reverse("rest_framework:login")


def test_refreshes_of_many_users_do_not_share_one_limit(ed_staff, icu_staff):
    # Six refreshes (two users, from two addresses): the per-user-name limit (5) must not pool them.
    tokens = [
        APIClient().post(TOKEN, {"username": name, "password": PASSWORD}, format="json").json()["refresh"]
        for name in ("ed_staff", "icu_staff")
    ]
    answers = []
    for n in range(6):
        client = APIClient(REMOTE_ADDR=f"10.0.0.{n % 2 + 1}")
        response = client.post("/api/v1/auth/token/refresh/", {"refresh": tokens[n % 2]}, format="json")
        tokens[n % 2] = response.json().get("refresh", tokens[n % 2])
        answers.append(response.status_code)
    assert answers == [200] * 6
