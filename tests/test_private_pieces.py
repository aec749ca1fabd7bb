"""The switch that runs the framework's public API in place of each private piece (PUBLIC_API_FOR).

The serving bench measures the product both ways; these tests pin that both ways answer the same.
"""

from datetime import timedelta

import pytest
from django.conf import settings
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from healthcare.hours import iso_utc
from healthcare.private_pieces import private_piece_enabled
from monitoring_app.models import AuditEvent

NOW = timezone.now().replace(minute=0, second=0, microsecond=0)


def test_every_piece_runs_as_shipped_unless_switched():
    assert all(private_piece_enabled(piece) for piece in settings.PRIVATE_PIECES)
    with override_settings(PUBLIC_API_FOR=frozenset({"count-cache"})):
        assert not private_piece_enabled("count-cache")
        assert private_piece_enabled("statements") and private_piece_enabled("representation")


def test_a_misspelt_piece_is_refused_not_silently_run():
    with pytest.raises(ValueError, match=r"unknown private piece 'statement'; the pieces are \('statements'"):
        private_piece_enabled("statement")


@pytest.mark.parametrize(
    "public_for", [(), *((piece,) for piece in settings.PRIVATE_PIECES), settings.PRIVATE_PIECES], ids=str
)
def test_the_api_answers_the_same_with_the_public_api_in_place(
    public_for, ed, integrator, django_capture_on_commit_callbacks
):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(integrator)}")
    admit_at, discharge_at = NOW - timedelta(hours=5), NOW - timedelta(hours=2)
    events = [
        {
            "event_id": "a",
            "kind": "admit",
            "encounter_id": "V1",
            "department": "ED",
            "patient": "MRN-7",
            "occurred_at": admit_at.isoformat(),
        },
        {"event_id": "d", "kind": "discharge", "encounter_id": "V1", "occurred_at": discharge_at.isoformat()},
    ]
    with override_settings(PUBLIC_API_FOR=frozenset(public_for)):
        with django_capture_on_commit_callbacks(execute=True):
            applied = client.post("/api/v1/events", {"source": "adt", "events": events}, format="json")
        listed = [client.get("/api/v1/encounters/?department=ED") for _ in range(2)]
        hours = client.get("/api/v1/workload-hours/?department=ED&page_size=500")

    assert applied.status_code == 200 and applied.json()["applied"] == 2, applied.json()
    for page in listed:
        assert page.status_code == 200 and page.json()["count"] == 1
        [stay] = page.json()["results"]
        assert (stay["source_id"], stay["department"], stay["status"]) == ("V1", "ED", "finished")
        assert stay["length_of_stay_hours"] == 3.0
    assert hours.status_code == 200
    census = {row["hour"]: row["census"] for row in hours.json()["results"] if row["census"]}
    assert sorted(census) == [iso_utc(admit_at + timedelta(hours=h)) for h in range(3)]
    assert set(census.values()) == {1}
    # The write and both encounter reads are in the audit trail, with the integrator's name.
    trail = AuditEvent.objects.filter(username="integrator")
    assert (
        trail.filter(method="POST").count() == 1 and trail.filter(target__startswith="/api/v1/encounters").count() == 2
    )
