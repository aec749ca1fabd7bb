"""What a charge nurse does with the dashboard, in Chromium against the full ASGI stack."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from healthcare.encounters.models import WorkloadHour
from monitoring_app.models import Alert, AlertKind, AlertSeverity
from optimization.on_duty import plan_put_in_force
from optimization.services import optimization_request
from predictions.services import forecast_model_train
from tests.factories import PASSWORD, current_hour, plan_make

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CENSUS_SERIES = "() => Chart.getChart('census-chart').data.datasets.find(d => d.label === 'Patients').data"


def series(label: str) -> str:
    return f"() => Chart.getChart('census-chart').data.datasets.find(d => d.label === '{label}').data"


def signed_in(page, base: str, username: str) -> None:
    """Give the page a signed-in session without the sign-in form (whose rate limit per user and
    address the suite would otherwise reach); the first test signs in through the form."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": base}])


def access_token(username: str) -> str:
    from django.contrib.auth import get_user_model
    from rest_framework_simplejwt.tokens import RefreshToken

    return str(RefreshToken.for_user(get_user_model().objects.get(username=username)).access_token)


def sign_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base}/")


def open_live_dashboard(page, base: str, code: str) -> None:
    page.goto(f"{base}/departments/{code}/")
    page.wait_for_function(
        # Functions, not expressions: the page's CSP forbids eval, which an expression would need.
        "() => document.getElementById('live-status').dataset.state === 'live' && Chart.getChart('census-chart')",
        timeout=10_000,
    )


def test_staff_sees_their_department_drawn_with_data(asgi_server, browser_page, ed_live, ed_staff, artifacts):
    forecast_model_train(department=ed_live, activate=True, algorithms=["poisson_glm"])
    run = optimization_request(department=ed_live, params={"horizon_hours": 72})
    run.refresh_from_db()
    plan_put_in_force(run=run, by=ed_staff)
    sign_in(browser_page, asgi_server, "ed_staff")
    open_live_dashboard(browser_page, asgi_server, "ED")

    census = browser_page.evaluate(CENSUS_SERIES)
    assert len(census) == 48 + 71  # the last 48 hours, this one included, and the next 71
    assert sum(value is not None for value in census[:48]) == 48
    forecast = browser_page.evaluate(series("Patients expected"))
    assert sum(value is not None for value in forecast[48:]) == 71
    # Nurses are drawn as the patients they may care for (nurses x 4), on the patients' axis.
    capacity = browser_page.evaluate(series("Nurses on duty × 4"))
    assert all(value >= 4 * ed_live.min_nurses for value in capacity[47:])
    assert int(browser_page.text_content("#tile-staff")) * 4 == capacity[47]
    assert int(browser_page.text_content("#tile-census")) == census[47]
    scales = browser_page.evaluate(
        "() => { const s = Chart.getChart('census-chart').scales; return [s.patients.max, s.nurses.max]; }"
    )
    assert scales[0] == 4 * scales[1]  # one nurse on the right sits at four patients on the left
    verdict = browser_page.text_content("#verdict-text")
    assert verdict.startswith(("Safe", "Short")) and browser_page.text_content("#verdict-reason")
    assert "America/" in browser_page.text_content(".verdict-time") or "UTC" in browser_page.text_content(
        ".verdict-time"
    )
    arrivals = browser_page.evaluate("() => Chart.getChart('arrivals-chart').data.datasets[0].data")
    assert sum(value or 0 for value in arrivals) > 0
    assert "patients now" in browser_page.text_content("#census-summary")
    assert browser_page.console_errors == []
    browser_page.screenshot(path=str(artifacts / "dashboard.png"), full_page=True)


def test_an_admit_posted_to_the_api_changes_census_and_tiles_without_reload(
    asgi_server, browser_page, ed_live, ed_staff, integrator
):
    sign_in(browser_page, asgi_server, "ed_staff")
    open_live_dashboard(browser_page, asgi_server, "ED")
    before = int(browser_page.text_content("#tile-census"))
    browser_page.evaluate("() => { window.notReloaded = true; }")

    api = browser_page.context.request
    token = api.post(f"{asgi_server}/api/v1/auth/token/", data={"username": "integrator", "password": PASSWORD}).json()[
        "access"
    ]
    posted = time.monotonic()
    response = api.post(
        f"{asgi_server}/api/v1/events",
        headers={"Authorization": f"Bearer {token}"},
        data={
            "source": "browser-test",
            "events": [
                {
                    "event_id": "admit-1",
                    "kind": "admit",
                    "encounter_id": "V-1",
                    "patient": "MRN-1",
                    "department": "ED",
                    "occurred_at": (current_hour() + timedelta(minutes=1)).isoformat(),
                }
            ],
        },
    )
    assert response.status == 200, response.text()

    browser_page.wait_for_function(
        f"() => Number(document.getElementById('tile-census').textContent) === {before + 1}", timeout=1_000
    )
    elapsed = time.monotonic() - posted
    assert elapsed < 1.0
    assert browser_page.evaluate(CENSUS_SERIES)[47] == before + 1
    assert browser_page.evaluate("() => window.notReloaded") is True
    assert browser_page.console_errors == []


def test_staff_cannot_open_or_follow_another_department(asgi_server, browser_page, ed_staff, icu):
    sign_in(browser_page, asgi_server, "ed_staff")

    response = browser_page.goto(f"{asgi_server}/departments/ICU/")
    assert response.status == 404
    switcher = browser_page.goto(f"{asgi_server}/departments/ED/")
    assert switcher.status == 200
    assert browser_page.locator("nav.switcher a").all_text_contents() == ["ED"]

    close_code = browser_page.evaluate(
        """() => new Promise((resolve) => {
            const socket = new WebSocket(`ws://${location.host}/ws/departments/ICU/`);
            socket.onmessage = () => resolve("message");
            socket.onclose = (event) => resolve(event.code);
        })"""
    )
    assert close_code != "message"
    assert close_code >= 1000


def test_an_alert_can_be_acknowledged(asgi_server, browser_page, ed, ed_staff):
    alert = Alert.objects.create(
        department=ed,
        kind=AlertKind.UNDERSTAFFING,
        severity=AlertSeverity.CRITICAL,
        key="understaffing:test",
        title="3 hour(s) expected under-staffed, first at Thu 14:00",
        detail={"hours": []},
        last_seen_at=timezone.now(),
    )
    sign_in(browser_page, asgi_server, "ed_staff")
    open_live_dashboard(browser_page, asgi_server, "ED")
    assert "expected under-staffed" in browser_page.text_content("#alert-list")

    browser_page.click("text=All alerts")
    browser_page.click(f"#alert-{alert.id} button:has-text('Acknowledge')")

    assert "Acknowledged: 3 hour(s) expected under-staffed" in browser_page.text_content(".messages")
    assert browser_page.locator(f"#alert-{alert.id}").count() == 0
    alert.refresh_from_db()
    assert alert.acknowledged_by == ed_staff
    assert alert.acknowledged_at is not None


def post_admits(page, base: str, count: int, first: int = 0) -> None:
    """`count` patients admitted to the ED a moment ago, through the events API as an integrator."""
    api = page.context.request
    events = [
        {
            "event_id": f"admit-{index}",
            "kind": "admit",
            "encounter_id": f"V-{index}",
            "patient": f"MRN-{index}",
            "department": "ED",
            "occurred_at": (timezone.now() - timedelta(seconds=5)).isoformat(),
        }
        for index in range(first, first + count)
    ]
    response = api.post(
        f"{base}/api/v1/events",
        headers={"Authorization": f"Bearer {access_token('integrator')}"},
        data={"source": "browser-test", "events": events},
    )
    assert response.status == 200, response.text()


@pytest.fixture
def ed_two_on_duty(ed):
    """The ED with two nurses on duty (a roster in force) and no patient yet: they care for 8 at 1:4."""
    plan_make(ed, current_hour() - timedelta(hours=1), [2] * 30)
    return ed


def test_a_shortfall_appears_live_with_its_alert(
    asgi_server, browser_page, ed_two_on_duty, ed_staff, integrator, artifacts
):
    signed_in(browser_page, asgi_server, "ed_staff")
    open_live_dashboard(browser_page, asgi_server, "ED")
    browser_page.evaluate("() => { window.notReloaded = true; }")

    post_admits(browser_page, asgi_server, 8)
    browser_page.wait_for_function(
        "() => document.getElementById('verdict-text').textContent === 'Safe: 2 on duty for 2 required'",
        timeout=5_000,
    )
    post_admits(browser_page, asgi_server, 1, first=8)
    browser_page.wait_for_function("() => document.getElementById('verdict').dataset.status === 'short'", timeout=5_000)
    assert browser_page.text_content("#verdict-text") == "Short 1 nurse now: call in 1 (3 on call left)"
    assert "escalate" not in browser_page.text_content("#verdict-reason")
    browser_page.wait_for_function(
        "() => document.getElementById('alert-list').textContent.includes('Short 1 nurse now')", timeout=5_000
    )
    assert "flagged" in browser_page.get_attribute("#tile-staff-box", "class")
    assert browser_page.is_visible("#confirm-form")
    assert browser_page.text_content("#confirm-button") == "Confirm call-in of 1 nurse"
    assert browser_page.evaluate("() => window.notReloaded") is True
    assert browser_page.console_errors == []
    browser_page.screenshot(path=str(artifacts / "dashboard-short.png"), full_page=True)


def test_a_confirmed_call_in_changes_on_duty_in_a_second_browser(
    asgi_server, chromium, browser_page, ed_two_on_duty, ed_staff, integrator
):
    WorkloadHour.objects.create(department=ed_two_on_duty, hour=current_hour(), arrivals=9, discharges=0, census=9)
    signed_in(browser_page, asgi_server, "ed_staff")
    # The second browser carries the same session (signing in again would meet the sign-in rate limit).
    other = chromium.new_context(
        viewport={"width": 1280, "height": 900}, storage_state=browser_page.context.storage_state()
    ).new_page()
    try:
        for page in (browser_page, other):
            open_live_dashboard(page, asgi_server, "ED")
            page.wait_for_function("() => document.getElementById('tile-staff').textContent === '2'", timeout=5_000)
        other.evaluate("() => { window.notReloaded = true; }")

        # The charge nurse records a nurse who is already here (a float nurse sent up).
        browser_page.select_option("#id_kind", "call_in")
        browser_page.fill("#id_nurses", "1")
        browser_page.select_option("#id_starts", "now")
        browser_page.click("#record-form button[type=submit]")
        assert "Recorded: call-in confirmed, 1 nurse," in browser_page.text_content(".messages")

        other.wait_for_function("() => document.getElementById('tile-staff').textContent === '3'", timeout=5_000)
        assert other.text_content("#verdict-text") == "Safe: 3 on duty for 3 required"
        assert other.evaluate("() => window.notReloaded") is True
    finally:
        other.context.close()


def test_icu_staff_meet_the_sites_own_404_on_the_ed(asgi_server, browser_page, ed, icu_staff):
    signed_in(browser_page, asgi_server, "icu_staff")
    response = browser_page.goto(f"{asgi_server}/departments/ED/")
    assert response.status == 404
    assert browser_page.text_content("h1") == "This page does not exist, or is not one of yours"
    assert browser_page.locator("main a", has_text="Your departments").count() == 1
    assert "URLconf" not in browser_page.content()
