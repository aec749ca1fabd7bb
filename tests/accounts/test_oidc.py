"""Single sign-on through a real OpenID Connect provider (panva's oidc-provider, started with node),
against the product served by pytest-django's live_server, driven by a browser-less HTTP client."""

import json
import re
import shutil
import time
from unittest import mock
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit, urlunsplit

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import SuspiciousOperation

from healthcare.accounts.models import OidcIdentity
from healthcare.accounts.oidc import OidcBackend
from healthcare.accounts.services import claims_access
from monitoring_app.models import AuditEvent
from tests.factories import PASSWORD, department_make, user_make
from tests.oidc import CLIENT_ID, MAPPING, PROVIDER_DIR, oidc_provider_running, sso_settings
from tests.test_settings import load_settings, production

BUTTON = "Sign in with Test Hospital IdP"


# --- The provider and the product's settings for it ---------------------------------------------


@pytest.fixture(scope="module")
def provider(live_server, tmp_path_factory):
    """A running oidc-provider whose one client is the live server: {"issuer", "accounts"} (the
    accounts file it reads at every look-up)."""
    with oidc_provider_running(live_server.url, tmp_path_factory.mktemp("oidc")) as running:
        yield running


@pytest.fixture
def sso(provider, settings):
    """Single sign-on on, against the provider (its accounts as the table ships), and the two units."""
    shutil.copy(PROVIDER_DIR / "accounts.json", provider["accounts"])
    sso_settings(settings, provider["issuer"], BUTTON)
    department_make(code="ED", unit_type="ed")
    department_make(code="ICU", unit_type="icu")
    return provider


def claims_change(provider, login: str, **claims) -> None:
    """What the provider says about `login` from now on."""
    accounts = json.loads(provider["accounts"].read_text())
    accounts[login].update(claims)
    provider["accounts"].write_text(json.dumps(accounts))


# --- A browser without a browser: follow redirects, fill in the provider's forms ----------------


def form_of(response: requests.Response) -> tuple[str, dict]:
    """The first form of a page: its absolute action and its hidden fields."""
    action = re.search(r'<form[^>]*action="([^"]+)"', response.text)
    assert action, f"no form at {response.url}: {response.text[:500]}"
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', response.text))
    return urljoin(response.url, action.group(1).replace("&amp;", "&")), hidden


def shows_provider_login(response: requests.Response) -> bool:
    return 'name="prompt" value="login"' in response.text


def sign_in(browser: requests.Session, live_server, login: str, next_path: str = "/") -> requests.Response:
    """Start at the product's button, sign in at the provider (when it asks), consent (when it asks);
    the product's answer at the end."""
    response = browser.get(f"{live_server.url}/oidc/authenticate/?{urlencode({'next': next_path})}")
    if shows_provider_login(response):
        action, fields = form_of(response)
        response = browser.post(action, data={**fields, "login": login, "password": "any"})
    if 'name="prompt" value="consent"' in response.text:
        action, fields = form_of(response)
        response = browser.post(action, data=fields)
    return response


def visible_departments(browser: requests.Session, live_server) -> list[str]:
    response = browser.get(f"{live_server.url}/api/v1/departments/", headers={"Accept": "application/json"})
    assert response.status_code == 200, response.text[:300]
    return sorted(row["code"] for row in response.json()["results"])


def sign_out(browser: requests.Session, live_server) -> requests.Response:
    """The product's Sign out button, then the provider's "sign me out" confirmation."""
    browser.get(f"{live_server.url}/")  # a page with the button sets the CSRF cookie
    token = browser.cookies.get("csrftoken")  # the provider's cookies have other names
    response = browser.post(f"{live_server.url}/accounts/logout/", data={"csrfmiddlewaretoken": token})
    if "op.logoutForm" in response.text:
        action, fields = form_of(response)
        response = browser.post(action, data={**fields, "logout": "yes"})
    return response


def user_named(login: str):
    """The product's user of a provider account."""
    return OidcIdentity.objects.select_related("user").get(subject=login).user


# --- Signing in -----------------------------------------------------------------------------------


def test_a_charge_nurse_signs_in_and_sees_only_her_department(sso, live_server):
    browser = requests.Session()
    response = sign_in(browser, live_server, "nina", next_path="/api/v1/departments/")
    assert response.status_code == 200 and response.url.startswith(f"{live_server.url}/api/v1/departments/")
    assert visible_departments(browser, live_server) == ["ED"]
    nina = user_named("nina")
    assert nina.username == "nina.ward" and nina.email == "nina.ward@hospital.example"
    assert [group.name for group in nina.groups.all()] == ["staff"]
    assert not nina.is_staff and not nina.has_usable_password()
    # The sign-in is audited like a password's, with the provider it went through; never the code.
    audit = AuditEvent.objects.get(action="login", user=nina)
    assert (audit.outcome, audit.target) == (200, f"OpenID Connect {sso['issuer']}")
    assert not AuditEvent.objects.filter(target__contains="code=").exists()


def test_roles_and_departments_follow_the_claims_at_every_sign_in(sso, live_server):
    sign_in(requests.Session(), live_server, "nina")
    claims_change(sso, "nina", groups=["workload-admins"], departments=["ICU", "NOT-A-UNIT"])
    admin_browser = requests.Session()
    sign_in(admin_browser, live_server, "nina")
    nina = user_named("nina")
    assert [group.name for group in nina.groups.all()] == ["admin"]
    assert nina.is_staff  # the admin role opens the admin
    assert sorted(department.code for department in nina.departments.all()) == ["ICU"]
    assert admin_browser.get(f"{live_server.url}/admin/").status_code == 200
    # The provider takes the role away: so does the product, and the sign-in is refused.
    claims_change(sso, "nina", groups=["all-staff"])
    response = sign_in(requests.Session(), live_server, "nina")
    nina.refresh_from_db()
    assert "has no role in Hospital Workload" in response.text
    assert (list(nina.groups.all()), list(nina.departments.all()), nina.is_staff) == ([], [], False)
    assert OidcIdentity.objects.count() == 1  # the same user all along, found by her `sub`


def test_a_provider_account_without_a_mapped_role_is_refused(sso, live_server):
    browser = requests.Session()
    response = sign_in(browser, live_server, "vera")
    assert response.url.startswith(f"{live_server.url}/accounts/login/")
    assert "has no role in Hospital Workload" in response.text
    assert not get_user_model().objects.filter(username="vera.visitor").exists()
    assert browser.get(f"{live_server.url}/api/v1/departments/").status_code in (401, 403)
    refused = AuditEvent.objects.get(action="login", outcome=401)
    assert refused.target == "/oidc/callback/"


def test_a_local_account_of_the_same_name_is_never_taken_over(sso, live_server):
    local = user_make("nina.ward", role="staff")
    local.email = "nina.ward@hospital.example"
    local.save()
    sign_in(requests.Session(), live_server, "nina")
    nina = user_named("nina")
    assert nina.pk != local.pk and nina.username.startswith("nina.ward-")
    assert local.oidc_identities.count() == 0


def test_a_tampered_state_is_refused(sso, live_server):
    browser = requests.Session()
    response = browser.get(f"{live_server.url}/oidc/authenticate/", allow_redirects=True)
    action, fields = form_of(response)
    response = browser.post(action, data={**fields, "login": "nina", "password": "any"})
    action, fields = form_of(response)
    response = browser.post(action, data=fields, allow_redirects=False)
    # Follow the provider's redirects by hand up to the product's callback, and change its state.
    while not response.headers["Location"].startswith(f"{live_server.url}/oidc/callback/"):
        response = browser.get(urljoin(response.url, response.headers["Location"]), allow_redirects=False)
    callback = urlsplit(response.headers["Location"])
    query = parse_qs(callback.query)
    assert "code" in query and "state" in query
    forged = urlunsplit(callback._replace(query=urlencode({**query, "state": "forged-state"}, doseq=True)))
    assert browser.get(forged, allow_redirects=False).status_code == 400
    assert browser.get(f"{live_server.url}/api/v1/departments/").status_code in (401, 403)
    # Without the session that started it (another browser), the real state is refused too.
    stranger = requests.Session().get(urlunsplit(callback), allow_redirects=False)
    assert stranger.status_code == 302 and stranger.headers["Location"] == "/accounts/login/"
    assert not OidcIdentity.objects.exists()


# --- Signing out ------------------------------------------------------------------------------------


def test_signing_out_ends_the_session_here_and_at_the_provider(sso, live_server):
    browser = requests.Session()
    sign_in(browser, live_server, "nina")
    # While the provider's session lasts, signing in again asks nothing (single sign-on).
    again = browser.get(f"{live_server.url}/oidc/authenticate/")
    assert again.url == f"{live_server.url}/" and not shows_provider_login(again)

    response = sign_out(browser, live_server)
    assert response.url == f"{live_server.url}/accounts/login/"
    assert browser.get(f"{live_server.url}/api/v1/departments/").status_code in (401, 403)
    # The provider's session is gone too: a new sign-in shows its login form again.
    assert shows_provider_login(browser.get(f"{live_server.url}/oidc/authenticate/"))


def test_the_admin_signs_out_at_the_provider_too(sso, live_server):
    browser = requests.Session()
    sign_in(browser, live_server, "omar", next_path="/admin/")
    admin_page = browser.get(f"{live_server.url}/admin/")
    assert admin_page.status_code == 200 and "Site administration" in admin_page.text
    token = browser.cookies["csrftoken"]
    response = browser.post(f"{live_server.url}/admin/logout/", data={"csrfmiddlewaretoken": token})
    assert "op.logoutForm" in response.text  # the provider asks to confirm its own sign-out


# --- The sign-in pages and break-glass accounts -----------------------------------------------------


@pytest.fixture
def sso_configured(settings):
    """Single sign-on configured, against a provider that does not answer (nothing listens there)."""
    sso_settings(settings, "http://127.0.0.1:9/realms/hospital", BUTTON)


def test_the_sign_in_pages_offer_the_provider_and_keep_the_local_form(client, sso_configured):
    page = client.get("/accounts/login/?next=/compliance/").content.decode()
    assert BUTTON in page and 'href="/oidc/authenticate/?next=%2Fcompliance%2F"' in page
    assert 'name="password"' in page
    admin_page = client.get("/admin/login/?next=/admin/").content.decode()
    assert BUTTON in admin_page and 'name="password"' in admin_page


def test_without_a_client_id_there_is_no_single_sign_on(client, db):
    assert BUTTON not in client.get("/accounts/login/").content.decode()
    assert client.get("/oidc/authenticate/").status_code == 404


def test_a_break_glass_account_signs_in_while_the_provider_is_down(client, sso_configured, ed_staff):
    response = client.post("/accounts/login/", {"username": "ed_staff", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    assert AuditEvent.objects.get(action="login", user=ed_staff).target == "/accounts/login/"
    # The button says the provider does not answer, rather than failing.
    client.logout()
    response = client.get("/oidc/authenticate/", follow=True)
    assert "sign-in service is not answering" in response.content.decode()


def test_break_glass_sign_in_is_still_rate_limited(client, sso_configured, ed_staff):
    with mock.patch("django_ratelimit.core.time.time", return_value=1_800_000_000.0):
        for n in range(5):
            assert client.post("/accounts/login/", {"username": "ed_staff", "password": f"x{n}"}).status_code == 200
        response = client.post("/accounts/login/", {"username": "ed_staff", "password": PASSWORD})
    assert response.status_code == 429


def test_a_local_sign_out_goes_back_to_the_sign_in_page(client, sso_configured, ed_staff):
    client.force_login(ed_staff)
    response = client.post("/accounts/logout/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert "_auth_user_id" not in client.session


# --- The mapping of claims -------------------------------------------------------------------------


def test_claims_map_to_roles_and_departments_and_unknown_values_are_ignored():
    mapping = {**MAPPING, "roles_claim": "realm_access.roles", "departments": {"icu-nurses": "ICU"}}
    claims = {"realm_access": {"roles": ["ward-charge-nurses", "icu-nurses", "cafeteria"]}, "departments": "ED"}
    access = claims_access(claims, mapping)
    assert access.roles == {"staff"} and access.departments == {"ED", "ICU"}
    assert claims_access({"groups": None}, MAPPING).roles == frozenset()


def test_roles_of_the_mapping_are_groups_the_product_has(db):
    assert set(MAPPING["roles"].values()) <= set(Group.objects.values_list("name", flat=True))


# --- Settings -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "refusal"),
    [
        ({}, "OIDC_RP_CLIENT_SECRET"),
        ({"OIDC_RP_CLIENT_SECRET": "s"}, "OIDC_OP_DISCOVERY"),
        ({"OIDC_RP_CLIENT_SECRET": "s", "OIDC_OP_DISCOVERY": "http://idp.example/realms/h"}, "https://"),
        ({"OIDC_RP_CLIENT_SECRET": "s", "OIDC_OP_DISCOVERY": "https://idp.example/realms/h"}, '"roles"'),
    ],
)
def test_production_refuses_an_incomplete_single_sign_on(env, refusal):
    result = load_settings(**production(OIDC_RP_CLIENT_ID="hospital-workload", **env))
    assert result.returncode != 0 and refusal in result.stderr, result.stderr[-500:]


def test_a_complete_single_sign_on_adds_the_backend_and_the_providers_origin_to_form_action():
    script = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.AUTHENTICATION_BACKENDS[-1], s.CONTENT_SECURITY_POLICY['DIRECTIVES']['form-action'][-1])"
    )
    mapping = json.dumps({"roles": {"ward-charge-nurses": "staff"}})
    result = load_settings(
        script,
        **production(
            OIDC_RP_CLIENT_ID="hospital-workload",
            OIDC_RP_CLIENT_SECRET="s",
            OIDC_OP_DISCOVERY="https://idp.example/realms/hospital",
            OIDC_CLAIMS_MAPPING=mapping,
        ),
    )
    assert result.returncode == 0, result.stderr[-500:]
    assert result.stdout.split() == ["healthcare.accounts.oidc.OidcBackend", "https://idp.example"]


def test_admins_see_which_provider_account_signs_in_as_which_user(client, hospital_admin):
    nina = user_make("nina.ward", role="staff")
    OidcIdentity.objects.create(user=nina, issuer="https://idp.example", subject="a3f1c2d0")
    hospital_admin.is_staff = True
    hospital_admin.save()
    client.force_login(hospital_admin)
    page = client.get("/admin/accounts/oidcidentity/")
    assert page.status_code == 200 and "a3f1c2d0" in page.content.decode()


@pytest.mark.parametrize(
    ("changes", "refusal"),
    [
        ({}, None),
        ({"iss": "https://evil.example"}, "another issuer"),
        ({"aud": "another-client"}, "another client"),
        ({"aud": [CLIENT_ID, "another-client"], "azp": "another-client"}, "authorized for another client"),
    ],
)
def test_an_id_token_of_another_issuer_or_for_another_client_is_refused(settings, changes, refusal):
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.OIDC_OP_ISSUER = "https://idp.example"
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    claims = {"iss": "https://idp.example", "aud": CLIENT_ID, "sub": "nina", "nonce": "n", "exp": time.time() + 60}
    token = jwt.encode({**claims, **changes}, key, algorithm="RS256")
    backend = OidcBackend()
    backend.OIDC_RP_IDP_SIGN_KEY = key.public_key()  # the provider's key, as its JWKS would give it
    if refusal is None:
        assert backend.verify_token(token, nonce="n")["sub"] == "nina"
    else:
        with pytest.raises(SuspiciousOperation, match=refusal):
            backend.verify_token(token, nonce="n")
