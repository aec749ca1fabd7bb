"""The Django admin: every patient-flow screen renders; ingested data is read-only there."""

from unittest import mock

import pytest

from healthcare.encounters import services
from healthcare.encounters.tasks import workload_rebuild_task
from tests.factories import encounter_record, hour


@pytest.fixture
def admin_client_with_data(admin_client, ed):
    services.encounters_ingest(records=[encounter_record("e1", start=hour(1, 1), hours=2)], source="s", now=hour(2, 0))
    return admin_client


@pytest.mark.parametrize("model", ["department", "encounter", "workloadhour", "arrivalcount"])
def test_changelists_render(admin_client_with_data, model):
    assert admin_client_with_data.get(f"/admin/encounters/{model}/").status_code == 200


def test_encounters_can_be_searched_but_not_added_or_changed(admin_client_with_data):
    response = admin_client_with_data.get("/admin/encounters/encounter/", {"q": "e1"})
    assert b"e1" in response.content
    assert admin_client_with_data.get("/admin/encounters/encounter/add/").status_code == 403


def test_changing_the_length_of_stay_in_the_admin_queues_a_rebuild(
    admin_client_with_data, ed, django_capture_on_commit_callbacks
):
    form = {
        "code": "ED",
        "name": "Emergency",
        "unit_type": "ed",
        "timezone": "UTC",
        "patients_per_nurse": 4,
        "min_nurses": 2,
        "los_median_hours": 9,
        "los_sigma": 0.7,
    }
    with (
        mock.patch.object(workload_rebuild_task, "delay", autospec=True) as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = admin_client_with_data.post(f"/admin/encounters/department/{ed.id}/change/", form)
    assert response.status_code == 302
    ed.refresh_from_db()
    assert (ed.name, ed.los_median_hours) == ("Emergency", 9)
    delay.assert_called_once_with(ed.id)


def test_staff_with_admin_access_see_only_their_departments_rows(client, ed_staff, icu):
    records = [
        encounter_record("ed-1", start=hour(1, 1), hours=2),
        encounter_record("icu-1", start=hour(1, 1), department="ICU", hours=2),
    ]
    services.encounters_ingest(records=records, source="s", now=hour(2, 0))
    ed_staff.is_staff = True
    ed_staff.save()
    client.force_login(ed_staff)
    page = client.get("/admin/encounters/encounter/").content.decode()
    assert "ed-1" in page and "icu-1" not in page
