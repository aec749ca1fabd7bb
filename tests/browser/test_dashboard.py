"""What a charge nurse does with the dashboard, in Chromium against the full ASGI stack."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from monitoring_app.models import Alert, AlertKind, AlertSeverity
from optimization.services import optimization_request
from predictions.services import forecast_model_train
from tests.factories import PASSWORD, current_hour, records_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CENSUS_SERIES = "() => Chart.getChart('census-chart').data.datasets.find(d => d.label === 'Census').data"


@pytest.fixture
def ed_live(ed):
    """The ED with 130 days of arrivals up to and including the current hour."""
    from healthcare.encounters import services

    services.arrivals_ingest(
        department=ed, records=records_until(current_hour() + timedelta(hours=1), days=130), source="synthetic"
    )
    return ed


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
    optimization_request(department=ed_live, params={"horizon_hours": 72})
    sign_in(browser_page, asgi_server, "ed_staff")
    open_live_dashboard(browser_page, asgi_server, "ED")

    census = browser_page.evaluate(CENSUS_SERIES)
    assert len(census) == 48 + 72  # the last 48 hours and the next 72
    assert sum(value is not None for value in census[:48]) == 48
    forecast = browser_page.evaluate(
        "() => Chart.getChart('census-chart').data.datasets.find(d => d.label === 'Forecast census').data"
    )
    assert sum(value is not None for value in forecast[48:]) == 72
    planned = browser_page.evaluate(
        "() => Chart.getChart('census-chart').data.datasets.find(d => d.label === 'Nurses planned').data"
    )
    assert all(value >= ed_live.min_nurses for value in planned[47:])
    assert int(browser_page.text_content("#tile-staff")) == planned[47]
    assert int(browser_page.text_content("#tile-census")) == census[47]
    arrivals = browser_page.evaluate("() => Chart.getChart('arrivals-chart').data.datasets[0].data")
    assert sum(value or 0 for value in arrivals) > 0
    assert "Census now" in browser_page.text_content("#census-summary")
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
