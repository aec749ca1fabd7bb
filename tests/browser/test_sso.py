"""Single sign-on in Chromium: through the test's OpenID provider (tests/oidc.py) and back, then signing
out of both. A real browser enforces what an HTTP client does not: the page's CSP must let the sign-out
form continue to the provider."""

import pytest

from tests.factories import department_make
from tests.oidc import oidc_provider_running, sso_settings

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
BUTTON = "Sign in with Test Hospital IdP"


@pytest.fixture
def sso(live_server, settings, tmp_path):
    with oidc_provider_running(live_server.url, tmp_path) as provider:
        sso_settings(settings, provider["issuer"], BUTTON)
        department_make(code="ED", unit_type="ed")
        department_make(code="ICU", unit_type="icu")
        yield provider


def provider_login(page, login: str) -> None:
    """The provider's development login form, then its consent form when it asks."""
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", "any")
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    if "/interaction/" in page.url:
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")


def test_a_charge_nurse_signs_in_with_the_hospital_account_and_out_of_both(sso, live_server, browser_page):
    page = browser_page
    failed = []  # the product's own answers above 399 (the provider's pages fetch things it does not serve)
    page.on("response", lambda r: failed.append(r.url) if r.status >= 400 and r.url.startswith(live_server.url) else 0)
    page.goto(f"{live_server.url}/accounts/login/")
    page.click(f"text={BUTTON}")
    page.wait_for_load_state("networkidle")
    assert page.url.startswith(sso["issuer"])
    provider_login(page, "nina")

    assert page.url == f"{live_server.url}/"
    assert "Sign out nina.ward" in page.text_content("header")
    assert [code.strip() for code in page.locator("table a").all_text_contents()] == ["ED"]

    page.click("text=Sign out nina.ward")
    page.wait_for_load_state("networkidle")
    assert page.url.startswith(f"{sso['issuer']}/session/end")  # the sign-out form reached the provider
    page.click("button[type=submit]")  # the provider asks "sign out?", as providers do
    page.wait_for_load_state("networkidle")
    assert page.url.startswith(f"{live_server.url}/accounts/login/")
    # Both sessions are over: the button leads to the provider's login form again.
    page.click(f"text={BUTTON}")
    page.wait_for_load_state("networkidle")
    assert page.locator("input[name=login]").count() == 1
    assert failed == []
    assert [error for error in page.console_errors if "Content Security Policy" in error] == []
