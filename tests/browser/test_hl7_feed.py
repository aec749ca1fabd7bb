"""An ADT feed over MLLP moves the ED's census and its open dashboard, without a reload.

The listener runs in this process and the dashboard in the suite's daphne process: the channel
layer they share is Redis, so this test needs it (CI always has it).
"""

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from healthcare.encounters.ingest.mapping import ClassMapping
from tests.browser.test_dashboard import open_live_dashboard, signed_in
from tests.mllp import Running, send

pytestmark = [pytest.mark.browser, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def registration(control: str, visit: str) -> bytes:
    now = datetime.now(UTC).strftime("%Y%m%d%H%M%S+0000")
    return (
        f"MSH|^~\\&|EPIC|HOSP|WORKLOAD|HOSP|{now}||ADT^A04^ADT_A01|{control}|P|2.5.1\r"
        f"EVN|A04|{now}\rPID|1||MRN-{visit}^^^HOSP^MR~123-45-6789^^^SSA^SS||DOE^JANE\r"
        f"PV1|1|E|ZFAST TRACK^2^B||||||||||||||||{visit}\r"
    ).encode()


def test_an_adt_feed_moves_the_ed_census_and_dashboard_live(asgi_server, browser_page, ed_live, ed_staff, artifacts):
    signed_in(browser_page, asgi_server, "ed_staff")
    open_live_dashboard(browser_page, asgi_server, "ED")
    before = int(browser_page.text_content("#tile-census"))
    browser_page.evaluate("() => { window.notReloaded = true; }")

    running = Running(ClassMapping.from_dict({"hl7": {"points_of_care": {"ZFAST TRACK": "ED"}}}))
    try:
        sent = time.monotonic()
        blocks = [registration(f"REG{n}", f"V{n}") for n in range(3)]
        # Playwright's loop runs in this thread: the sender's own loop runs in another.
        with ThreadPoolExecutor(max_workers=1) as sender:
            answers = sender.submit(send, running.port, *blocks).result(timeout=30)
    finally:
        running.stop()
    assert [str(answer.segment("MSA")[1]) for answer in answers] == ["AA", "AA", "AA"]

    browser_page.wait_for_function(
        f"() => Number(document.getElementById('tile-census').textContent) === {before + 3}", timeout=3_000
    )
    assert time.monotonic() - sent < 3.0
    assert browser_page.evaluate("() => window.notReloaded") is True
    assert browser_page.console_errors == []
    browser_page.screenshot(path=str(artifacts / "hl7_feed.png"))
