"""Named staff in the browser: a call-in offered by name, accepted on the nurse's own page and seen live
by the charge nurse; the roster grid and its CSV; a nurse who sees only her own page."""

import csv
import io
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from healthcare.encounters.models import WorkloadHour
from optimization.models import CallInOffer, DutyChange, DutyChangeKind, OfferStatus
from tests.factories import PASSWORD, current_hour, named_roster_make, nurses_make, user_make

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWPORT = {"width": 1280, "height": 900}
LIVE = "() => document.getElementById('live-status').dataset.state === 'live'"
# Each nurse's shift on the roster's seven days from yesterday (rosters are at least a week long).
# Whatever the hour, two nurses are on duty (yesterday's N runs into this morning), and every rule of
# the contract holds over the week. Nurses 7 and 8 are off from yesterday through tomorrow, so no rest
# rule stands in the way of a call-in within the next day.
PATTERN = {
    1: ["D", "D", "D", "D", "D", None, None],
    2: ["D", "D", "D", "D", "D", None, None],
    3: ["E", "E", "E", "E", "E", None, None],
    4: ["E", "E", "E", "E", "E", None, None],
    5: ["N", "N", "N", None, None, None, None],
    6: ["N", "N", "N", None, None, None, None],
    7: [None, None, None, "D", "D", "D", "D"],
    8: [None, None, None, "E", "E", "E", "E"],
}
CALLED = 7  # the nurse with an account, called in


def signed_in(page, base: str, username: str) -> None:
    """A signed-in session without the sign-in form (whose rate limit per user and address the suite
    would otherwise reach); the call-in test signs the nurse in through the form."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": base}])


def collecting_errors(page):
    page.console_errors = []
    page.on("console", lambda message: page.console_errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: page.console_errors.append(str(error)))
    return page


def open_live_department(page, base: str) -> None:
    page.goto(f"{base}/departments/ED/")
    page.wait_for_function(LIVE, timeout=10_000)


@pytest.fixture
def rostered(ed):
    """The ED's eight nurses with a named roster in force from yesterday for a week, and census
    rows for the last six hours (two nurses on duty, six patients: safe)."""
    today = timezone.now().astimezone(ZoneInfo(ed.timezone)).date()
    nurses = nurses_make(ed, len(PATTERN))
    roster = named_roster_make(
        ed,
        first_day=today - timedelta(days=1),
        days=len(PATTERN[1]),
        shifts={nurse: PATTERN[number] for number, nurse in enumerate(nurses, start=1)},
    )
    now = current_hour()
    for back in range(6):
        WorkloadHour.objects.create(department=ed, hour=now - timedelta(hours=back), arrivals=2, discharges=2, census=6)
    return nurses, roster


@pytest.fixture
def nurse_user(rostered):
    """Nurse ED7, linked to an account of role nurse that is a member of no department."""
    nurse = rostered[0][CALLED - 1]
    nurse.user = user_make("nurse7", role="nurse", departments=[])
    nurse.save(update_fields=["user"])
    return nurse


def test_a_nurse_accepts_a_call_in_and_the_charge_nurse_sees_it_live(
    asgi_server, chromium, browser_page, rostered, nurse_user, ed_staff, artifacts
):
    charge = browser_page
    name = nurse_user.display_name
    signed_in(charge, asgi_server, "ed_staff")
    open_live_department(charge, asgi_server)

    ranking = charge.locator("#call-in-ranking")
    expect(ranking.locator(".who", has_text=name)).to_be_visible()
    offered = timezone.now()
    charge.get_by_role("button", name=f"Offer the call-in to {name}").click()
    expect(charge.locator(".messages")).to_contain_text(f"Offered to {name}: ")
    expect(charge.locator(".messages")).to_contain_text("She answers on her page.")
    row = charge.locator("#offer-table tbody tr", has_text=name)
    expect(row.locator(".offer-status")).to_have_text("Offered")
    expect(row.locator(".offer-status")).to_have_attribute("data-status", "offered")
    offer = CallInOffer.objects.get(nurse=nurse_user)
    assert offer.status == OfferStatus.OFFERED
    assert offer.starts_at >= offered + timedelta(hours=2)  # after the on-call lead time, on the hour
    assert offer.starts_at.minute == 0
    assert offer.ends_at - offer.starts_at == timedelta(hours=4)
    charge.wait_for_function(LIVE, timeout=10_000)  # the page after the offer follows the feed again
    charge.evaluate("() => { window.notReloaded = true; }")

    context = chromium.new_context(viewport=VIEWPORT)
    try:
        own = collecting_errors(context.new_page())
        own.goto(f"{asgi_server}/accounts/login/")
        own.fill("#id_username", "nurse7")
        own.fill("#id_password", PASSWORD)
        own.click("main button[type=submit]")
        own.wait_for_url(f"{asgi_server}/me/")  # the home page sends a nurse who sees no department here
        expect(own.locator("h1")).to_contain_text(name)
        card = own.locator(f"#offer-{offer.id}")
        expect(card).to_contain_text("ED asks you to come in")
        expect(card).to_contain_text("offered by ed_staff")
        own.click(f"#accept-{offer.id}")
        expect(own.locator(".messages")).to_contain_text("Accepted: you are on duty in ED from")
        expect(own.locator(f"#offer-{offer.id}")).to_have_count(0)
        expect(own.locator("#my-shifts")).to_contain_text("called in")
        own.screenshot(path=str(artifacts / "nurse_page.png"), full_page=True)
        assert own.console_errors == []
    finally:
        context.close()

    # The charge nurse's page follows without a reload.
    expect(row.locator(".offer-status")).to_have_text("Accepted", timeout=10_000)
    expect(row.locator(".offer-status")).to_have_attribute("data-status", "accepted")
    assert charge.evaluate("() => window.notReloaded") is True
    charge.screenshot(path=str(artifacts / "named_call_in.png"), full_page=True)

    charge.reload()
    charge.wait_for_function(LIVE, timeout=10_000)
    expect(charge.locator("section[aria-labelledby=recorded-title]")).to_contain_text(f"Call-in confirmed: {name}")
    offer.refresh_from_db()
    assert offer.status == OfferStatus.ACCEPTED
    assert offer.answered_at is not None
    change = DutyChange.objects.get(nurse=nurse_user, kind=DutyChangeKind.CALL_IN)
    assert offer.duty_change == change
    assert (change.starts_at, change.ends_at, change.nurses) == (offer.starts_at, offer.ends_at, 1)
    assert change.cancelled_at is None
    assert charge.console_errors == []


def test_the_roster_grid_shows_nurses_by_day_with_cover(asgi_server, browser_page, rostered, ed_staff, artifacts):
    nurses, roster = rostered
    signed_in(browser_page, asgi_server, "ed_staff")
    response = browser_page.goto(f"{asgi_server}/departments/ED/roster/")
    assert response.status == 200

    grid = browser_page.locator("#roster-grid")
    expect(grid).to_be_visible()
    rows = grid.locator("tbody tr")
    expect(rows).to_have_count(len(nurses))
    assert grid.locator("thead th.day").count() == roster.days
    for number, nurse in enumerate(nurses, start=1):
        row = rows.nth(number - 1)  # by name: Nurse ED1 .. Nurse ED8
        expect(row.locator("th.nurse")).to_contain_text(nurse.display_name)
        kinds = [cell.get_attribute("data-kind") for cell in row.locator("td.cell").all()]
        assert kinds == PATTERN[number], nurse.display_name
        assert row.locator("td.cell.off").count() == PATTERN[number].count(None)
    # Cells are coloured by their kind (not left the default background).
    colours = browser_page.evaluate(
        """() => ['D', 'E', 'N'].map((kind) =>
            getComputedStyle(document.querySelector(`#roster-grid tbody td[data-kind='${kind}']`)).backgroundColor)"""
    )
    assert len(set(colours)) == 3, colours
    assert "rgba(0, 0, 0, 0)" not in colours
    cover = grid.locator("tfoot tr.cover-row")
    expect(cover.locator("th")).to_have_text(["D cover", "E cover", "N cover"])
    assert cover.first.locator("td.cover").count() == roster.days
    assert browser_page.locator("#roster-figures").is_visible()

    link = browser_page.get_by_role("link", name="Export CSV")
    download = browser_page.request.get(asgi_server + link.get_attribute("href"))
    assert download.status == 200
    assert download.headers["content-type"].startswith("text/csv")
    assert "attachment" in download.headers["content-disposition"]
    table = list(csv.reader(io.StringIO(download.text())))
    assert table[0] == ["employee_number", "display_name", "day", "shift", "starts", "ends"]
    worked = sum(code is not None for pattern in PATTERN.values() for code in pattern)
    assert len(table) == 1 + worked
    today = (roster.first_day + timedelta(days=1)).isoformat()
    assert ["ED001", "Nurse ED1", today, "D", f"{today}T07:00+00:00", f"{today}T15:00+00:00"] in table
    assert browser_page.console_errors == []
    browser_page.screenshot(path=str(artifacts / "roster_grid.png"), full_page=True)


def test_a_nurse_sees_only_her_own_page(asgi_server, browser_page, nurse_user):
    signed_in(browser_page, asgi_server, "nurse7")

    response = browser_page.goto(f"{asgi_server}/departments/ED/")
    assert response.status == 404
    assert browser_page.text_content("h1") == "This page does not exist, or is not one of yours"
    assert browser_page.goto(f"{asgi_server}/departments/ED/roster/").status == 404
    assert browser_page.goto(f"{asgi_server}/departments/ED/named-staff/").status == 404
    # Chromium logs each 404 document as a console error; nothing else may have failed.
    assert all("status of 404" in error for error in browser_page.console_errors), browser_page.console_errors
    browser_page.console_errors.clear()

    response = browser_page.goto(f"{asgi_server}/me/")
    assert response.status == 200
    expect(browser_page.locator("h1")).to_contain_text(nurse_user.display_name)
    expect(browser_page.locator("h1")).to_contain_text(nurse_user.employee_number)
    assert browser_page.console_errors == []
