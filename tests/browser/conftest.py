"""A real browser (Debian's Chromium, headless, driven by Playwright) against a real ASGI server.

The server is tests/conftest.py's asgi_server; tests use transactional_db so it sees their rows.
"""

import os
from datetime import timedelta
from pathlib import Path

import pytest

from tests.factories import current_hour, records_until

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


@pytest.fixture(scope="module")
def chromium():
    """Module-scoped: Playwright's sync API runs an event loop in this thread while it is open,
    which must be gone before the async (websocket consumer) tests run."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install chromium (CI does), or set CHROMIUM_PATH")
    from playwright.sync_api import sync_playwright

    # That loop makes Django refuse ORM calls from the test itself; the tests make them
    # between browser steps, never concurrently with one (Playwright's documented Django setup).
    saved = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM,
                headless=True,
                args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
            )
            yield browser
            browser.close()
    finally:
        if saved is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = saved


@pytest.fixture
def browser_page(chromium):
    """A fresh browser context (no cookies) at a laptop's width; console errors are collected."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.console_errors = []
    page.on("console", lambda message: page.console_errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: page.console_errors.append(str(error)))
    yield page
    context.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def ed_live(ed):
    """The ED with 130 days of arrivals up to and including the current hour."""
    from healthcare.encounters import services

    services.arrivals_ingest(
        department=ed, records=records_until(current_hour() + timedelta(hours=1), days=130), source="synthetic"
    )
    return ed
