"""Every place that says whether a unit is short says the same thing: the snapshot (tiles, verdict,
chart markers), the overview page, the alert, POST /optimize/recommend, the metrics and the
websocket message all read optimization.selectors.staffing_state."""

import asyncio
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.utils import timezone

from dashboard.broadcast import department_group
from healthcare.encounters.models import WorkloadHour
from monitoring_app.metrics import product_figures
from monitoring_app.models import Alert, AlertKind, AlertSeverity
from monitoring_app.services import understaffing_check
from optimization.models import DutyChangeKind
from optimization.on_duty import duty_change_record
from tests.factories import current_hour, plan_make


@pytest.fixture
def short_ed(ed):
    """The issue's ED: 41 patients at 1:4 need 11 nurses; 10 are on duty."""
    now = current_hour()
    WorkloadHour.objects.create(department=ed, hour=now, arrivals=5, discharges=0, census=41)
    plan_make(ed, now - timedelta(hours=2), [10] * 30)
    return ed


def test_the_snapshot_the_overview_the_recommendation_the_alert_and_the_metrics_agree(
    api_client, client, short_ed, ed_staff
):
    api_client.force_authenticate(ed_staff)
    snapshot = api_client.get("/api/v1/departments/ED/snapshot/").json()
    staffing = snapshot["staffing"]
    assert {key: staffing[key] for key in ("required_now", "on_duty", "short_now", "status")} == {
        "required_now": 11,
        "on_duty": 10,
        "short_now": 1,
        "status": "short",
    }
    assert snapshot["tiles"]["nurses_required_now"] == 11 and snapshot["tiles"]["staff_on_duty"] == 10
    assert snapshot["verdict"].startswith("Short 1 nurse now: call in 1")

    recommendation = api_client.post("/api/v1/optimize/recommend", {"department": "ED"}, format="json").json()
    assert (recommendation["required_now"], recommendation["on_duty"], recommendation["short_now"]) == (11, 10, 1)
    assert recommendation["call_in"] == staffing["call_in"] == 1
    assert recommendation["reason"] == staffing["reason"]

    client.force_login(ed_staff)
    overview = client.get("/").content.decode()
    assert '<span class="status-pill" data-status="short">Short</span>' in overview
    assert snapshot["verdict"] in overview

    figures = {row["department"]: row for row in product_figures()["departments"]}["ED"]
    assert (figures["nurses_required_now"], figures["nurses_on_duty_now"], figures["nurses_short_now"]) == (11, 10, 1)

    # Reading never opens an alert; the check that follows every census or duty change does.
    assert not Alert.objects.exists()
    alert = understaffing_check(department=short_ed)
    assert alert.severity == AlertSeverity.CRITICAL and alert.detail["short_now"] == 1
    assert alert.detail["reason"] == staffing["reason"]


def test_the_websocket_message_carries_the_same_staffing(short_ed, django_capture_on_commit_callbacks):
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(department_group("ED"), channel)
    with django_capture_on_commit_callbacks(execute=True):
        understaffing_check(department=short_ed)

    async def staffing_message() -> dict:
        while True:
            message = await asyncio.wait_for(layer.receive(channel), timeout=2)
            if message["event"] == "staffing.changed":
                return message

    message = async_to_sync(staffing_message)()
    assert message["payload"]["staffing"]["short_now"] == 1
    assert message["payload"]["verdict"].startswith("Short 1 nurse now")


def test_a_confirmed_call_in_that_arrives_now_closes_the_alert(short_ed, ed_staff, django_capture_on_commit_callbacks):
    understaffing_check(department=short_ed)
    assert Alert.objects.open().filter(kind=AlertKind.UNDERSTAFFING).exists()
    with django_capture_on_commit_callbacks(execute=True):
        duty_change_record(
            department=short_ed, kind=DutyChangeKind.CALL_IN, nurses=1, by=ed_staff, starts_at=current_hour(), hours=8
        )
    assert not Alert.objects.open().filter(kind=AlertKind.UNDERSTAFFING).exists()


def test_admits_that_make_the_unit_short_open_the_alert_within_the_request(
    api_client, integrator, ed, django_capture_on_commit_callbacks
):
    # Two nurses on duty care for 8 patients at 1:4; the ninth admitted makes the ED short.
    now = current_hour()
    plan_make(ed, now - timedelta(hours=1), [2] * 24)
    api_client.force_authenticate(integrator)
    admits = [
        {
            "event_id": f"a{index}",
            "kind": "admit",
            "encounter_id": f"V{index}",
            "department": "ED",
            "patient": f"MRN-{index}",
            # A moment ago: still present this hour whichever hour it fell in.
            "occurred_at": (timezone.now() - timedelta(seconds=5)).isoformat(),
        }
        for index in range(9)
    ]
    with django_capture_on_commit_callbacks(execute=True):
        assert (
            api_client.post("/api/v1/events", {"source": "adt", "events": admits[:8]}, format="json").status_code == 200
        )
    assert not Alert.objects.open().exists()
    with django_capture_on_commit_callbacks(execute=True):
        assert (
            api_client.post("/api/v1/events", {"source": "adt", "events": admits[8:]}, format="json").status_code == 200
        )
    alert = Alert.objects.open().get(kind=AlertKind.UNDERSTAFFING)
    assert alert.severity == AlertSeverity.CRITICAL and alert.title == "Short 1 nurse now: 9 patients need 3, 2 on duty"


def three_nurses_nobody_on_call(ed, *, in_five_hours: float, spread: float):
    """The ED now: 10 patients, three nurses, nobody on call; 10 expected each hour but `in_five_hours`
    five hours from now (the forecast's interval +- spread). Returns the current hour."""
    from optimization.models import StaffingRuleSet
    from tests.monitoring_app.conftest import forecast_make

    now = current_hour()
    StaffingRuleSet.objects.create(department=ed, oncall_cap_per_day=0)
    WorkloadHour.objects.create(department=ed, hour=now, arrivals=2, discharges=0, census=10)
    plan_make(ed, now, [3] * 24)
    forecast_make(ed, now, [10.0] * 5 + [in_five_hours] + [10.0] * 66, spread=spread)
    return now


def test_the_hours_at_risk_are_drawn_on_the_forecasts_own_hours(api_client, ed, ed_staff):
    # No on-call, three nurses, and a surge of 15 patients expected in five hours: the chart marks it.
    now = three_nurses_nobody_on_call(ed, in_five_hours=15.0, spread=1.0)
    api_client.force_authenticate(ed_staff)
    snapshot = api_client.get("/api/v1/departments/ED/snapshot/").json()
    at_risk = [hour["hour"] for hour in snapshot["staffing"]["hours_at_risk"]]
    drawn = {point["hour"] for point in snapshot["forecast"]["points"]}
    assert at_risk and set(at_risk) <= drawn
    assert (
        snapshot["staffing"]["next_hour_at_risk"]
        == at_risk[0]
        == (now + timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    )


def test_the_hour_before_its_first_event_is_judged_on_the_patients_still_here(api_client, ed, ed_staff):
    # 41 patients arrived last hour and are still here; nothing has happened this hour yet (no event,
    # no hourly refresh): the unit is short now all the same, and every reader says so.
    from healthcare.encounters.services import encounters_ingest
    from tests.factories import encounter_record

    now = current_hour()
    last_hour = now - timedelta(hours=1)
    records = [encounter_record(f"here-{index}", start=last_hour + timedelta(minutes=index)) for index in range(41)]
    encounters_ingest(records=records, source="test", now=last_hour + timedelta(minutes=50))
    assert not WorkloadHour.objects.filter(department=ed, hour=now).exists()
    plan_make(ed, now - timedelta(hours=2), [10] * 30)

    api_client.force_authenticate(ed_staff)
    snapshot = api_client.get("/api/v1/departments/ED/snapshot/").json()
    censuses = (snapshot["actual"][-1]["census"], snapshot["tiles"]["census_now"], snapshot["staffing"]["census_now"])
    assert censuses == (41, 41, 41)
    assert snapshot["staffing"]["short_now"] == 1 and snapshot["verdict"].startswith("Short 1 nurse now")
    alert = understaffing_check(department=ed)
    assert alert.severity == AlertSeverity.CRITICAL and alert.title.startswith("Short 1 nurse now: 41 patients")


def test_an_hour_at_risk_with_nothing_to_do_now_is_named_in_the_reason(api_client, ed, ed_staff):
    # Three nurses cover 12 patients. In five hours 11.5 are expected (still covered at the mean), but
    # with a 1-in-5 chance of a 13th and nobody on call: at risk, and nothing to call now.
    three_nurses_nobody_on_call(ed, in_five_hours=11.5, spread=2.0)
    api_client.force_authenticate(ed_staff)
    snapshot = api_client.get("/api/v1/departments/ED/snapshot/").json()
    staffing = snapshot["staffing"]
    assert (staffing["status"], staffing["call_in"], staffing["short_after_call_in"]) == ("safe", 0, 0)
    assert snapshot["verdict"].startswith("Short 1 nurse at ")
    assert staffing["reason"].startswith("Covered now (10 patients need 3 nurses at 1:4, 3 on duty), but in 5 hours")
    assert staffing["reason"].endswith("no call needed yet, watch that hour.")
    recommendation = api_client.post("/api/v1/optimize/recommend", {"department": "ED"}, format="json").json()
    assert recommendation["reason"] == staffing["reason"]
