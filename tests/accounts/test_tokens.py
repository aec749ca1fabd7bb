"""Token lifecycle: rotation, logout, revocation on password change and deactivation."""

import pytest
from rest_framework.test import APIClient

from tests.factories import PASSWORD

TOKEN, REFRESH, LOGOUT = "/api/v1/auth/token/", "/api/v1/auth/token/refresh/", "/api/v1/auth/logout/"


def sign_in(username: str = "ed_staff") -> dict:
    response = APIClient().post(TOKEN, {"username": username, "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def departments(access: str) -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client.get("/api/v1/departments/").status_code


def refresh(token: str):
    return APIClient().post(REFRESH, {"refresh": token}, format="json")


def test_a_refresh_token_works_once_then_its_rotation_replaces_it(ed_staff):
    tokens = sign_in()
    rotated = refresh(tokens["refresh"])
    assert rotated.status_code == 200
    assert rotated.json()["refresh"] != tokens["refresh"]
    assert departments(rotated.json()["access"]) == 200
    # Reusing the old one (a stolen copy, say) is refused.
    reused = refresh(tokens["refresh"])
    assert reused.status_code == 401
    assert refresh(rotated.json()["refresh"]).status_code == 200


def test_logout_revokes_the_refresh_token(ed_staff):
    tokens = sign_in()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert client.post(LOGOUT, {"refresh": tokens["refresh"]}, format="json").status_code == 204
    assert refresh(tokens["refresh"]).status_code == 401


def test_logout_everywhere_revokes_every_refresh_token_of_the_user(ed_staff):
    laptop, tablet = sign_in(), sign_in()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {laptop['access']}")
    assert client.post(LOGOUT, {"everywhere": True}, format="json").status_code == 204
    assert refresh(laptop["refresh"]).status_code == 401
    assert refresh(tablet["refresh"]).status_code == 401


def test_nobody_can_revoke_another_users_refresh_token(ed_staff, icu_staff):
    theirs = sign_in("icu_staff")
    mine = sign_in("ed_staff")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {mine['access']}")
    response = client.post(LOGOUT, {"refresh": theirs["refresh"]}, format="json")
    assert response.status_code == 403 and response.json() == {"detail": "This refresh token is not yours to revoke."}
    assert refresh(theirs["refresh"]).status_code == 200


def test_logout_needs_a_token_or_everywhere(ed_staff):
    client = APIClient()
    client.force_authenticate(ed_staff)
    assert client.post(LOGOUT, {}, format="json").status_code == 400
    assert APIClient().post(LOGOUT, {"everywhere": True}, format="json").status_code == 401


@pytest.mark.django_db(transaction=True)  # revocation runs when the password change commits
def test_a_password_change_rejects_every_token_issued_before(ed_staff):
    tokens = sign_in()
    ed_staff.set_password("another-long-password-2")
    ed_staff.save()
    assert departments(tokens["access"]) == 401
    assert refresh(tokens["refresh"]).status_code == 401
    assert APIClient().post(TOKEN, {"username": "ed_staff", "password": "another-long-password-2"}).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_a_deactivated_user_can_neither_use_nor_refresh_tokens(ed_staff):
    tokens = sign_in()
    ed_staff.is_active = False
    ed_staff.save()
    assert departments(tokens["access"]) == 401
    assert refresh(tokens["refresh"]).status_code == 401


def test_access_tokens_live_5_to_15_minutes(settings):
    lifetime = settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"].total_seconds() / 60
    assert 5 <= lifetime <= 15
