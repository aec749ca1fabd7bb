"""POST /api/v1/events: live data in, workload and dashboards follow (FHIR writes: test_fhir_write.py)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from healthcare.encounters import services
from healthcare.encounters.models import Encounter, PatientEvent, WorkloadHour
from tests.factories import encounter_record

NOW = timezone.now().replace(minute=0, second=0, microsecond=0)


def at(hours_ago: float) -> str:
    return (NOW - timedelta(hours=hours_ago)).isoformat()


def admit(event_id="e1", encounter="V1", department="ED", hours_ago=5, **extra):
    return {
        "event_id": event_id,
        "kind": "admit",
        "encounter_id": encounter,
        "department": department,
        "patient": "MRN-7",
        "occurred_at": at(hours_ago),
        **extra,
    }


@pytest.fixture
def send(api_client, integrator, django_capture_on_commit_callbacks):
    api_client.force_authenticate(integrator)

    def post(path, body, method="post"):
        with django_capture_on_commit_callbacks(execute=True):
            return getattr(api_client, method)(path, body, format="json")

    return post


def test_admit_then_discharge_updates_the_encounter_and_the_workload(send, ed):
    response = send("/api/v1/events", {"source": "adt", **admit()})
    assert response.status_code == 200, response.json()
    assert response.json()["applied"] == 1
    stay = Encounter.objects.get(source="adt", source_id="V1")
    assert stay.status == "in-progress" and stay.end is None
    assert WorkloadHour.objects.filter(department=ed, hour=NOW - timedelta(hours=5)).get().arrivals == 1
    discharge = {"event_id": "e2", "kind": "discharge", "encounter_id": "V1", "occurred_at": at(1)}
    assert send("/api/v1/events", {"source": "adt", "events": [discharge]}).json()["applied"] == 1
    stay.refresh_from_db()
    assert stay.status == "finished" and stay.end == NOW - timedelta(hours=1)


def test_resent_events_are_skipped(send, ed):
    body = {"source": "adt", "events": [admit()]}
    send("/api/v1/events", body)
    again = send("/api/v1/events", body).json()
    assert (again["applied"], again["duplicates"]) == (0, 1)
    assert PatientEvent.objects.count() == 1 and Encounter.objects.count() == 1


def test_a_transfer_closes_one_stay_and_opens_another(send, ed, icu, integrator):
    icu.members.add(integrator)
    transfer = {"event_id": "e2", "kind": "transfer", "encounter_id": "V1", "department": "ICU", "occurred_at": at(2)}
    response = send("/api/v1/events", {"source": "adt", "events": [transfer, admit()]})  # sorted by time
    assert response.status_code == 200, response.json()
    ed_stay = Encounter.objects.get(source_id="V1")
    icu_stay = Encounter.objects.get(source_id="V1/e2")
    assert ed_stay.end == icu_stay.start and icu_stay.department == icu and icu_stay.end is None
    assert ed_stay.patient_key == icu_stay.patient_key


@pytest.mark.parametrize(
    ("events", "message"),
    [
        ([{"event_id": "x", "kind": "discharge", "encounter_id": "NOPE", "occurred_at": at(1)}], "no open stay"),
        ([admit(department="ICU")], "unknown department 'ICU'"),
        ([admit(hours_ago=-2)], "in the future"),
        ([admit(), admit(event_id="e9")], "already admitted"),
    ],
)
def test_events_that_cannot_apply_change_nothing(send, ed, icu, events, message):
    response = send("/api/v1/events", {"source": "adt", "events": events})
    assert response.status_code == 400
    assert message in " ".join(response.json()["events"])
    assert Encounter.objects.count() == 0 and PatientEvent.objects.count() == 0


def test_an_event_refused_inside_its_transaction_changes_nothing_and_the_next_one_applies(send, ed, icu):
    """The encounter id is taken in a department the sender may not change: found only when the
    stays are written, inside the events' transaction (with no savepoint of its own)."""
    stay_elsewhere = encounter_record("V1", start=NOW - timedelta(hours=30), hours=2, department="ICU")
    services.encounters_ingest(records=[stay_elsewhere], source="adt")
    before = list(WorkloadHour.objects.order_by("department", "hour").values_list("department", "hour", "census"))
    events = [admit(event_id="e0", encounter="V2", hours_ago=6), admit()]
    response = send("/api/v1/events", {"source": "adt", "events": events})
    assert response.status_code == 400 and "may not change" in " ".join(response.json()["events"])
    assert list(Encounter.objects.values_list("source_id", flat=True)) == ["V1"]
    assert not PatientEvent.objects.exists()
    assert list(WorkloadHour.objects.order_by("department", "hour").values_list("department", "hour", "census")) == (
        before
    )
    assert send("/api/v1/events", {"source": "adt", **admit(event_id="e3", encounter="V3")}).status_code == 200


def test_a_discharge_before_the_admission_is_refused(send, ed):
    send("/api/v1/events", {"source": "adt", **admit()})
    early = {"event_id": "e2", "kind": "discharge", "encounter_id": "V1", "occurred_at": at(9)}
    response = send("/api/v1/events", {"source": "adt", **early})
    assert response.status_code == 400 and "before the stay began" in response.json()["events"][0]


def test_event_fields_are_validated(send, ed):
    response = send(
        "/api/v1/events",
        {
            "source": "adt",
            "events": [{"event_id": "a", "kind": "admit", "encounter_id": "V", "occurred_at": "2024-01-01T00:00:00"}],
        },
    )
    assert response.status_code == 400
    assert set(response.json()["events"]["0"]) == {"occurred_at"}
    missing = send("/api/v1/events", {"source": "adt", **admit(department="", patient="")})
    assert missing.status_code == 400


def test_staff_cannot_send_events(api_client, ed_staff):
    api_client.force_authenticate(ed_staff)
    assert api_client.post("/api/v1/events", {"source": "adt", **admit()}, format="json").status_code == 403
