"""The replay command: history becomes live events (fast, for demos)."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from healthcare.encounters import services
from healthcare.encounters.models import Encounter, PatientEvent
from tests.factories import encounter_record


def test_replay_sends_admits_and_discharges_through_the_events_service(ed):
    start = timezone.now().replace(minute=0, second=0, microsecond=0) - timezone.timedelta(days=3)
    records = [encounter_record(f"h{i}", start=start + timezone.timedelta(minutes=20 * i), hours=0.5) for i in range(3)]
    services.encounters_ingest(records=records, source="history")
    out = StringIO()
    call_command(
        "replay", "--department", "ED", "--from", start.isoformat(), "--speed", "3600", "--hours", "2", stdout=out
    )
    assert "Replaying 3 stays" in out.getvalue() and "done" in out.getvalue()
    assert PatientEvent.objects.filter(source="replay").count() == 6
    replayed = Encounter.objects.filter(source="replay")
    assert replayed.count() == 3 and all(stay.status == "finished" for stay in replayed)


def test_replay_explains_an_empty_window(ed):
    with pytest.raises(CommandError, match="no stays"):
        call_command("replay", "--department", "ED", "--from", "2001-01-01T00:00", stdout=StringIO())


@pytest.mark.django_db(transaction=True)
def test_replay_can_post_the_events_to_a_server_as_the_integrator(ed, integrator, live_server, monkeypatch):
    from tests.factories import PASSWORD

    monkeypatch.setenv("REPLAY_PASSWORD", PASSWORD)
    start = timezone.now().replace(minute=0, second=0, microsecond=0) - timezone.timedelta(days=3)
    records = [encounter_record(f"h{i}", start=start + timezone.timedelta(minutes=20 * i), hours=0.5) for i in range(2)]
    services.encounters_ingest(records=records, source="history")
    err = StringIO()
    call_command(
        "replay",
        *("--department", "ED", "--from", start.isoformat(), "--speed", "3600", "--hours", "2"),
        *("--post-to", live_server.url),
        stdout=StringIO(),
        stderr=err,
    )
    assert err.getvalue() == ""
    # Through the server's API: the same events, stored under the integrator's source.
    assert PatientEvent.objects.filter(source="replay").count() == 4
    assert Encounter.objects.filter(source="replay", status="finished").count() == 2


def test_replay_to_a_server_that_refuses_the_user_says_so(ed, live_server, monkeypatch):
    monkeypatch.setenv("REPLAY_PASSWORD", "not-the-password")
    start = timezone.now().replace(minute=0, second=0, microsecond=0) - timezone.timedelta(days=3)
    services.encounters_ingest(records=[encounter_record("h1", start=start, hours=0.5)], source="history")
    with pytest.raises(CommandError, match="refused integrator"):
        call_command(
            "replay",
            *("--department", "ED", "--from", start.isoformat(), "--speed", "3600", "--hours", "2"),
            *("--post-to", live_server.url),
            stdout=StringIO(),
        )
