"""The /api/v1 patient-flow endpoints: auth, roles, department scoping, batch upsert."""

import json
from datetime import timedelta
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from healthcare.encounters import services
from healthcare.encounters.api import pagination
from healthcare.encounters.models import Department, Encounter, WorkloadHour
from healthcare.encounters.tasks import workload_rebuild_task
from tests.factories import PASSWORD, encounter_record, hour


def seed_both_departments():
    records = [
        encounter_record("ed-1", start=hour(1, 10), hours=3),
        encounter_record("icu-1", start=hour(1, 11), hours=30, department="ICU"),
    ]
    services.encounters_ingest(records=records, source="seed", now=hour(3, 0))


def batch(*encounters, source="epic-adt"):
    return {"source": source, "encounters": list(encounters)}


# Batches are about recent stays: an encounter still in progress after a year is refused.
RECENT = (timezone.now() - timedelta(days=2)).replace(minute=0, second=0, microsecond=0)


def recent(hours: float, naive: bool = False) -> str:
    moment = RECENT + timedelta(hours=hours)
    return moment.replace(tzinfo=None).isoformat() if naive else moment.isoformat().replace("+00:00", "Z")


def item(id_="v1", department="ED", start=None, end="default", **extra):
    start = start or recent(10)
    end = recent(13.5) if end == "default" else end
    return {
        "id": id_,
        "patient": "MRN-1",
        "department": department,
        "encounter_class": "EMER",
        "status": "finished",
        "start": start,
        "end": end,
        **extra,
    }


@pytest.fixture
def as_user(api_client):
    def login(user):
        api_client.force_authenticate(user)
        return api_client

    return login


# --- Authentication ---------------------------------------------------------------------------


def test_token_obtain_and_refresh_then_read_with_the_bearer_token(api_client, ed_staff):
    response = api_client.post("/api/v1/auth/token/", {"username": "ed_staff", "password": PASSWORD}, format="json")
    assert response.status_code == 200
    tokens = response.json()
    refreshed = api_client.post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]}, format="json")
    assert refreshed.status_code == 200 and "access" in refreshed.json()
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {refreshed.json()['access']}")
    assert api_client.get("/api/v1/departments/").status_code == 200


def test_wrong_password_gets_no_token(api_client, ed_staff):
    response = api_client.post("/api/v1/auth/token/", {"username": "ed_staff", "password": "nope"}, format="json")
    assert response.status_code == 401


@pytest.mark.parametrize("path", ["/api/v1/departments/", "/api/v1/encounters/", "/api/v1/workload-hours/"])
def test_every_endpoint_refuses_anonymous_callers(api_client, db, path):
    assert api_client.get(path).status_code == 401


def test_a_user_without_a_role_sees_nothing(api_client, ed, django_user_model):
    nobody = django_user_model.objects.create_user("nobody", password=PASSWORD)
    ed.members.add(nobody)
    api_client.force_authenticate(nobody)
    assert api_client.get("/api/v1/departments/").status_code == 403
    assert api_client.get("/api/v1/encounters/").status_code == 403


# --- Department scoping: a staff user of ED cannot see ICU through any endpoint ----------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/departments/ICU/",
        "/api/v1/encounters/{icu_encounter}/",
    ],
)
def test_objects_of_foreign_departments_do_not_exist_for_staff(as_user, ed_staff, icu, path):
    seed_both_departments()
    icu_encounter = Encounter.objects.get(source_id="icu-1").id
    assert as_user(ed_staff).get(path.format(icu_encounter=icu_encounter)).status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/departments/",
        "/api/v1/encounters/",
        "/api/v1/encounters/?department=ICU",
        "/api/v1/workload-hours/",
        "/api/v1/workload-hours/?department=ICU",
    ],
)
def test_lists_hold_no_rows_of_foreign_departments(as_user, ed_staff, icu, path):
    seed_both_departments()
    results = as_user(ed_staff).get(path).json()["results"]
    departments = {row.get("department", row.get("code")) for row in results}
    assert "ICU" not in departments


def test_staff_see_their_own_department_and_admins_see_all(as_user, ed_staff, icu, hospital_admin):
    seed_both_departments()
    assert [d["code"] for d in as_user(ed_staff).get("/api/v1/departments/").json()["results"]] == ["ED"]
    assert [e["source_id"] for e in as_user(ed_staff).get("/api/v1/encounters/").json()["results"]] == ["ed-1"]
    codes = [d["code"] for d in as_user(hospital_admin).get("/api/v1/departments/").json()["results"]]
    assert codes == ["ED", "ICU"]


def test_encounters_never_expose_the_patient_pseudonym(as_user, ed_staff):
    records = [encounter_record("e", start=hour(1, 1), hours=1, patient="MRN-9")]
    services.encounters_ingest(records=records, source="seed", now=hour(3, 0))
    (row,) = as_user(ed_staff).get("/api/v1/encounters/").json()["results"]
    assert "patient" not in row and "patient_key" not in row
    assert row["length_of_stay_hours"] == 1.0


# --- Workload series ------------------------------------------------------------------------


def test_workload_hours_filter_by_department_and_time_range(as_user, ed_staff):
    services.encounters_ingest(records=[encounter_record("e", start=hour(1, 10), hours=5)], source="s", now=hour(3, 0))
    response = as_user(ed_staff).get(
        "/api/v1/workload-hours/", {"department": "ED", "start": "2024-01-01T11:00:00Z", "end": "2024-01-01T13:00:00Z"}
    )
    rows = response.json()["results"]
    assert [(r["hour"], r["census"]) for r in rows] == [("2024-01-01T11:00:00Z", 1), ("2024-01-01T12:00:00Z", 1)]


def test_each_request_validates_its_own_filters(as_user, ed_staff):
    services.encounters_ingest(records=[encounter_record("e", start=hour(1, 10), hours=5)], source="s", now=hour(3, 0))
    client = as_user(ed_staff)
    bad = client.get("/api/v1/workload-hours/", {"start": "yesterday"})
    assert bad.status_code == 400 and "start" in bad.json()
    good = client.get("/api/v1/workload-hours/", {"start": "2024-01-01T14:00:00Z"})
    assert [r["hour"] for r in good.json()["results"]] == ["2024-01-01T14:00:00Z", "2024-01-01T15:00:00Z"]
    assert client.get("/api/v1/encounters/", {"status": "nonsense"}).status_code == 400
    assert client.get("/api/v1/encounters/", {"status": "finished"}).json()["count"] == 1


def test_workload_hours_are_paginated_with_a_bounded_page_size(as_user, ed_staff, django_assert_max_num_queries):
    stay = [encounter_record("e", start=hour(1, 0), hours=1200)]
    services.encounters_ingest(records=stay, source="s", now=hour(1, 0) + timedelta(days=60))
    client = as_user(ed_staff)
    with django_assert_max_num_queries(6):
        body = client.get("/api/v1/workload-hours/", {"page_size": 5000}).json()
    assert body["count"] == 1201 and len(body["results"]) == 1000
    body = client.get("/api/v1/workload-hours/", {"page_size": 50, "page": 2}).json()
    assert len(body["results"]) == 50 and body["results"][0]["hour"] == "2024-01-03T02:00:00Z"


def test_encounter_list_query_count_does_not_grow_with_rows(as_user, ed_staff, django_assert_max_num_queries):
    records = [encounter_record(f"e{i}", start=hour(1, i % 24), hours=1) for i in range(60)]
    services.encounters_ingest(records=records, source="s", now=hour(3, 0))
    with django_assert_max_num_queries(8):  # 6, plus the audit event of this read (a savepoint and an insert)
        assert as_user(ed_staff).get("/api/v1/encounters/").status_code == 200


@pytest.fixture
def every_count_kept(monkeypatch):
    monkeypatch.setattr(pagination, "CACHED_COUNT_MIN_ROWS", 1)


@pytest.fixture
def stays_in_ed_and_icu(ed, icu):
    records = [
        encounter_record("e", start=hour(1, 0), hours=1),
        encounter_record("i", start=hour(1, 0), department="ICU"),
    ]
    services.encounters_ingest(records=records, source="s", now=hour(3, 0))


def counts_made(client, path: str) -> tuple[int, int]:
    """(the count answered, COUNT statements run) of one list request."""
    with CaptureQueriesContext(connection) as captured:
        body = client.get(path).json()
    return body["count"], sum("COUNT(" in query["sql"] for query in captured.captured_queries)


def test_a_large_encounter_count_is_kept_until_an_encounter_is_written(as_user, ed_staff, monkeypatch):
    monkeypatch.setattr(pagination, "CACHED_COUNT_MIN_ROWS", 3)
    records = [encounter_record(f"e{i}", start=hour(1, i), hours=1) for i in range(4)]
    services.encounters_ingest(records=records, source="s", now=hour(3, 0))
    client = as_user(ed_staff)
    assert counts_made(client, "/api/v1/encounters/?page_size=2") == (4, 1)
    assert counts_made(client, "/api/v1/encounters/?page_size=2") == (4, 0)
    assert counts_made(client, "/api/v1/encounters/?page_size=2&status=finished") == (4, 1)  # its own key
    services.encounters_ingest(records=[encounter_record("e9", start=hour(2, 0), hours=1)], source="s", now=hour(3, 0))
    assert counts_made(client, "/api/v1/encounters/?page_size=2") == (5, 1)


def test_a_kept_count_is_forgotten_when_the_reader_joins_a_department(
    as_user, ed_staff, icu, every_count_kept, stays_in_ed_and_icu
):
    client = as_user(ed_staff)
    assert counts_made(client, "/api/v1/encounters/") == (1, 1)
    icu.members.add(ed_staff)
    assert counts_made(client, "/api/v1/encounters/") == (2, 1)


def test_kept_counts_are_never_shared_between_department_scopes(
    as_user, ed_staff, icu_staff, hospital_admin, every_count_kept
):
    records = [
        encounter_record("e1", start=hour(1, 0), hours=1),
        encounter_record("e2", start=hour(1, 1), hours=1),
        encounter_record("i", start=hour(1, 0), department="ICU"),
    ]
    services.encounters_ingest(records=records, source="s", now=hour(3, 0))
    readers = {ed_staff: 2, icu_staff: 1, hospital_admin: 3}
    for user, count in readers.items():
        assert counts_made(as_user(user), "/api/v1/encounters/") == (count, 1), user
    for user, count in readers.items():
        assert counts_made(as_user(user), "/api/v1/encounters/") == (count, 0), user  # each its own, kept


def test_a_kept_count_follows_a_new_role_at_once(as_user, ed_staff, every_count_kept, stays_in_ed_and_icu):
    assert counts_made(as_user(ed_staff), "/api/v1/encounters/") == (1, 1)
    ed_staff.groups.set([Group.objects.get(name="admin")])  # now sees every department
    promoted = get_user_model().objects.get(pk=ed_staff.pk)  # as the next request loads the user
    assert counts_made(as_user(promoted), "/api/v1/encounters/") == (2, 1)


def test_a_kept_count_is_keyed_on_the_filters_not_on_other_parameters(as_user, ed_staff, every_count_kept):
    records = [
        encounter_record("open", start=hour(1, 0)),
        encounter_record("done", start=hour(1, 1), hours=1),
    ]
    services.encounters_ingest(records=records, source="s", now=hour(3, 0))
    client = as_user(ed_staff)
    assert counts_made(client, "/api/v1/encounters/?status=in-progress") == (1, 1)
    assert counts_made(client, "/api/v1/encounters/?status=in-progress&page=1&page_size=5&x=1") == (1, 0)
    assert counts_made(client, "/api/v1/encounters/?status=finished") == (1, 1)
    assert counts_made(client, "/api/v1/encounters/?start_after=2024-01-01T00:30:00Z") == (1, 1)
    assert counts_made(client, "/api/v1/encounters/") == (2, 1)


def test_a_small_encounter_count_is_always_counted(as_user, ed_staff):
    services.encounters_ingest(records=[encounter_record("e", start=hour(1, 0), hours=1)], source="s", now=hour(3, 0))
    client = as_user(ed_staff)
    assert counts_made(client, "/api/v1/encounters/") == (1, 1)
    assert counts_made(client, "/api/v1/encounters/") == (1, 1)


def test_hand_written_rows_equal_what_the_declared_fields_give(ed, icu):
    """The two hot list serializers write their rows by hand; DRF's own field-by-field answer must be the same."""
    from rest_framework.serializers import ModelSerializer

    from healthcare.encounters.api.serializers import EncounterSerializer, WorkloadHourSerializer
    from healthcare.encounters.selectors import with_department_code

    records = [
        encounter_record("closed", start=hour(1, 10, 17), end=hour(1, 13, 2)),
        encounter_record("open", start=hour(2, 9), department="ICU"),
        encounter_record("cancelled", start=hour(2, 11), status="cancelled"),
    ]
    services.encounters_ingest(records=records, source="s", now=hour(3, 0))
    Encounter.objects.filter(source_id="closed").update(created_at=hour(1, 14, 0).replace(microsecond=123456))
    for serializer, rows in (
        (EncounterSerializer(), with_department_code(Encounter.objects.all())),
        (WorkloadHourSerializer(), with_department_code(WorkloadHour.objects.all())),
    ):
        assert rows.count() >= 3
        for row in rows:
            assert serializer.to_representation(row) == dict(ModelSerializer.to_representation(serializer, row))


# --- Departments (admin writes) ----------------------------------------------------------------


def test_admin_creates_a_department_with_its_unit_defaults(as_user, hospital_admin):
    response = as_user(hospital_admin).post(
        "/api/v1/departments/", {"code": "TELE", "name": "Telemetry 3", "unit_type": "telemetry"}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["code"] == "TELE" and response.json()["patients_per_nurse"] == 4


def test_department_validation_errors_name_the_field(as_user, hospital_admin):
    response = as_user(hospital_admin).post(
        "/api/v1/departments/", {"code": "X", "name": "X", "unit_type": "ward", "patients_per_nurse": 0}, format="json"
    )
    assert response.status_code == 400
    assert set(response.json()) == {"unit_type", "patients_per_nurse"}


def test_staff_and_integrators_cannot_change_departments(as_user, ed_staff, integrator):
    for user in (ed_staff, integrator):
        client = as_user(user)
        assert (
            client.post(
                "/api/v1/departments/", {"code": "NEW", "name": "n", "unit_type": "ed"}, format="json"
            ).status_code
            == 403
        )
        assert client.patch("/api/v1/departments/ED/", {"min_nurses": 9}, format="json").status_code == 403


def test_department_code_is_read_only_and_a_new_length_of_stay_queues_a_rebuild(
    as_user, hospital_admin, ed, django_capture_on_commit_callbacks
):
    with (
        mock.patch.object(workload_rebuild_task, "delay", autospec=True) as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = as_user(hospital_admin).patch(
            "/api/v1/departments/ED/", {"code": "ZZ", "los_median_hours": 6}, format="json"
        )
    assert response.status_code == 200
    assert response.json()["code"] == "ED" and response.json()["los_median_hours"] == 6
    delay.assert_called_once_with(ed.id)


def test_a_department_with_encounters_cannot_be_deleted(as_user, hospital_admin, ed):
    seed = [encounter_record("e", start=hour(1, 1), hours=1)]
    services.encounters_ingest(records=seed, source="s", now=hour(3, 0))
    response = as_user(hospital_admin).delete("/api/v1/departments/ED/")
    assert response.status_code == 409 and "encounters" in response.json()["detail"]
    assert Department.objects.filter(code="ED").exists()
    Department.objects.create(
        code="EMPTY", name="e", unit_type="ed", patients_per_nurse=4, min_nurses=1, los_median_hours=3, los_sigma=0.5
    )
    assert as_user(hospital_admin).delete("/api/v1/departments/EMPTY/").status_code == 204


# --- Batch upsert -------------------------------------------------------------------------------


def test_integrator_upserts_a_batch_idempotently(as_user, integrator):
    client = as_user(integrator)
    response = client.post(
        "/api/v1/encounters/batch/", batch(item("v1"), item("v2", end=None, status="in-progress")), format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["created"] == 2 and response.json()["workload_hours_written"] > 0
    again = client.post(
        "/api/v1/encounters/batch/", batch(item("v1"), item("v2", end=None, status="in-progress")), format="json"
    )
    assert again.json()["unchanged"] == 2
    done = client.post("/api/v1/encounters/batch/", batch(item("v2", end=recent(18))), format="json")
    assert done.json()["updated"] == 1
    assert Encounter.objects.get(source="epic-adt", source_id="v2").status == "finished"


def test_batch_errors_name_the_record_and_field_and_nothing_is_stored(as_user, integrator):
    response = as_user(integrator).post(
        "/api/v1/encounters/batch/",
        batch(item("ok"), item("backwards", end=recent(-24)), item("naive", start=recent(10, naive=True))),
        format="json",
    )
    assert response.status_code == 400
    # Only the failing records, keyed by their index in the batch.
    errors = response.json()["encounters"]
    assert set(errors) == {"1", "2"}
    assert errors["1"] == {"end": ["must not be before start."]}
    assert "UTC offset" in errors["2"]["start"][0]
    assert Encounter.objects.count() == 0


def test_batch_refuses_departments_the_integrator_is_not_assigned_to(as_user, integrator, icu):
    response = as_user(integrator).post(
        "/api/v1/encounters/batch/", batch(item("a"), item("b", department="ICU")), format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"encounters": ["encounters[1], field department: unknown department 'ICU'"]}
    assert Encounter.objects.count() == 0 and WorkloadHour.objects.count() == 0


def test_batch_rejects_empty_oversized_and_malformed_bodies(as_user, integrator, settings):
    client = as_user(integrator)
    assert client.post("/api/v1/encounters/batch/", batch(), format="json").status_code == 400
    assert (
        client.post(
            "/api/v1/encounters/batch/", {"source": "Bad Source!", "encounters": [item()]}, format="json"
        ).status_code
        == 400
    )
    malformed = client.post("/api/v1/encounters/batch/", data='{"source": ', content_type="application/json")
    assert malformed.status_code == 400
    too_many = batch(*[item(f"i{n}") for n in range(settings.ENCOUNTER_BATCH_MAX + 1)])
    response = client.post("/api/v1/encounters/batch/", too_many, format="json")
    assert response.status_code == 400 and "encounters" in response.json()


def test_batch_bodies_over_the_upload_limit_are_refused(client, integrator, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    client.force_login(integrator)
    body = json.dumps(batch(*[item(f"i{n}") for n in range(100)]))
    assert len(body) > 10_000
    response = client.post("/api/v1/encounters/batch/", data=body, content_type="application/json")
    assert response.status_code == 413  # a JSON answer naming the limit (tests/test_hardening.py)
    assert Encounter.objects.count() == 0


def test_staff_cannot_write_encounters(as_user, ed_staff):
    assert as_user(ed_staff).post("/api/v1/encounters/batch/", batch(item()), format="json").status_code == 403


# --- Schema and docs -----------------------------------------------------------------------------


def test_openapi_schema_documents_jwt_auth_and_the_endpoints(api_client, db):
    response = api_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["components"]["securitySchemes"]["jwtAuth"]["scheme"] == "bearer"
    assert {"/api/v1/encounters/batch/", "/api/v1/workload-hours/", "/api/v1/departments/{code}/"} <= set(
        schema["paths"]
    )


def test_a_department_shows_the_id_the_lists_filter_by(as_user, integrator, ed):
    client = as_user(integrator)
    department = client.get("/api/v1/departments/ED/").json()
    assert department["id"] == ed.id and department["code"] == "ED"
    assert client.get("/api/v1/workload-hours/", {"department_id": department["id"]}).status_code == 200


def test_a_field_with_its_own_pattern_keeps_it_in_request_bodies(api_client, db):
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    code = schema["components"]["schemas"]["DepartmentCreateRequest"]["properties"]["code"]
    assert code["pattern"] == "^[A-Z0-9][A-Z0-9_-]{0,15}$"


def test_swagger_ui_is_served_without_any_cdn(api_client, db):
    response = api_client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "cdn" not in html.lower() and "https://" not in html


def test_the_schema_generates_without_warnings_and_validates(tmp_path, db):
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))
    assert "/api/v1/predict/workload" in (tmp_path / "schema.yml").read_text()
