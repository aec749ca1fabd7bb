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
