"""Department scoping, attacked: every department-scoped endpoint x role x a department the user is not in.

A foreign object must not exist for the user (404), and a list must hold 0 of its rows.
"""

import hashlib
from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from healthcare.encounters import services as encounter_services
from healthcare.encounters.models import Encounter
from monitoring_app.models import Alert, AlertKind
from optimization.models import OptimizationRun
from predictions.models import Forecast, ForecastModel, ForecastStatus
from tests.factories import current_hour, encounter_record, plan_make, user_make


@pytest.fixture
def icu_world(icu):
    """One object of every department-scoped kind, in the ICU."""
    hour = current_hour()
    encounter_services.encounters_ingest(
        records=[encounter_record("icu-1", start=hour - timedelta(hours=5), hours=2, department="ICU")],
        source="test",
    )
    model = ForecastModel.objects.create(
        department=icu,
        version=1,
        algorithm="seasonal_naive",
        training_start=hour - timedelta(days=30),
        training_end=hour,
        artifact=b"x",
        artifact_sha256=hashlib.sha256(b"x").hexdigest(),
    )
    forecast = Forecast.objects.create(
        department=icu,
        model=model,
        issued_at=hour,
        horizon_hours=1,
        confidence_level=0.9,
        status=ForecastStatus.SUCCEEDED,
        points=[],
    )
    run = plan_make(icu, hour, [2])
    alert = Alert.objects.create(
        department=icu, kind=AlertKind.JOB_FAILED, key="job:x", title="ICU job failed", last_seen_at=hour
    )
    return {
        "encounter": Encounter.objects.get(source_id="icu-1"),
        "model": model,
        "forecast": forecast,
        "run": run,
        "alert": alert,
    }


@pytest.fixture(params=["staff", "integrator"])
def ed_user(request, ed):
    return user_make(f"ed-{request.param}", role=request.param, departments=[ed])


DETAILS = [
    "/api/v1/departments/ICU/",
    "/api/v1/departments/ICU/snapshot/",
    "/api/v1/encounters/{encounter}/",
    "/api/v1/fhir/Encounter/{encounter}",
    "/api/v1/predict/jobs/{forecast}/",
    "/api/v1/predict/jobs/latest/?department=ICU",
    "/api/v1/predict/models/{model}/",
    "/api/v1/optimize/status/{run}",
    "/api/v1/alerts/{alert}/",
    "/departments/ICU/",
    "/departments/ICU/plans/",
    "/departments/ICU/predictions/",
    "/plans/{run}/",
]

LISTS = [
    ("/api/v1/departments/", "code", "ICU"),
    ("/api/v1/encounters/", "source_id", "icu-1"),
    ("/api/v1/encounters/?department=ICU", "source_id", "icu-1"),
    ("/api/v1/workload-hours/?department=ICU", "department", "ICU"),
    ("/api/v1/predict/jobs/", "department", "ICU"),
    ("/api/v1/predict/models/", "department", "ICU"),
    ("/api/v1/optimize/history", "department", "ICU"),
    ("/api/v1/alerts/", "department", "ICU"),
]


def _url(template: str, world: dict) -> str:
    return template.format(**{name: obj.pk for name, obj in world.items()})


@pytest.mark.parametrize("template", DETAILS)
def test_a_foreign_departments_object_does_not_exist_for_the_user(ed_user, icu_world, template):
    client = APIClient()
    client.force_login(ed_user)
    assert client.get(_url(template, icu_world)).status_code == 404


@pytest.mark.parametrize(("path", "field", "foreign"), LISTS)
def test_lists_hold_no_row_of_a_foreign_department(ed_user, icu_world, path, field, foreign):
    client = APIClient()
    client.force_login(ed_user)
    response = client.get(path)
    assert response.status_code == 200
    body = response.json()
    rows = body["results"] if isinstance(body, dict) else body
    assert [row for row in rows if row.get(field) == foreign] == []


def test_the_fhir_read_and_search_answer_the_departments_own_staff(icu, icu_world):
    """The FHIR paths above are the right ones: the ICU's staff read the encounter there."""
    client = APIClient()
    client.force_login(user_make("icu-staff-own", role="staff", departments=[icu]))
    assert client.get(_url("/api/v1/fhir/Encounter/{encounter}", icu_world)).status_code == 200
    assert client.get("/api/v1/fhir/Encounter?location=ICU").json()["total"] == 1


@pytest.mark.parametrize("query", ["", "?location=ICU", "?location=Location/ICU&status=finished"])
def test_fhir_searches_hold_no_encounter_of_a_foreign_department(ed_user, icu_world, query):
    client = APIClient()
    client.force_login(ed_user)
    response = client.get(f"/api/v1/fhir/Encounter{query}")
    assert response.status_code == 200
    bundle = response.json()
    assert (bundle["resourceType"], bundle["total"], bundle.get("entry", [])) == ("Bundle", 0, [])


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/optimize/workload", {"department": "ICU", "horizon_hours": 24}),
        ("/api/v1/predict/workload", {"department": "ICU", "horizon_hours": 24}),
        ("/api/v1/optimize/recommend", {"department": "ICU", "current_patients": 5, "current_staff": 3}),
        ("/api/v1/alerts/{alert}/acknowledge/", {}),
    ],
)
def test_requests_about_a_foreign_department_are_refused_and_change_nothing(ed_user, icu_world, path, body):
    client = APIClient()
    client.force_login(ed_user)
    response = client.post(_url(path, icu_world), body, format="json")
    assert response.status_code in (400, 404)
    assert OptimizationRun.objects.filter(department__code="ICU").count() == 1
    assert Forecast.objects.filter(department__code="ICU").count() == 1
    assert Alert.objects.get(pk=icu_world["alert"].pk).acknowledged_at is None


def test_an_integrator_cannot_write_to_a_foreign_department(ed, icu_world):
    integrator = user_make("ed-integrator-w", role="integrator", departments=[ed])
    client = APIClient()
    client.force_authenticate(integrator)
    event = {
        "event_id": "x1",
        "kind": "admit",
        "encounter_id": "V9",
        "patient": "P9",
        "department": "ICU",
        "occurred_at": current_hour().isoformat(),
    }
    assert client.post("/api/v1/events", {"source": "adt", "events": [event]}, format="json").status_code == 400
    batch = {
        "source": "test",
        "encounters": [
            {
                "id": "icu-1",
                "patient": "P",
                "department": "ED",
                "encounter_class": "EMER",
                "status": "finished",
                "start": current_hour().isoformat(),
                "end": None,
            }
        ],
    }
    assert client.post("/api/v1/encounters/batch/", batch, format="json").status_code == 400
    assert Encounter.objects.get(source_id="icu-1").department.code == "ICU"
    assert not Encounter.objects.filter(source="adt").exists()


@pytest.mark.parametrize(("path", "field", "foreign"), LISTS)
def test_the_same_lists_show_those_rows_to_an_admin(hospital_admin, icu_world, path, field, foreign):
    """The control: the rows the staff must not see are there, and the matrix looks for them by the right field."""
    client = APIClient()
    client.force_login(hospital_admin)
    body = client.get(path).json()
    rows = body["results"] if isinstance(body, dict) else body
    assert [row for row in rows if row.get(field) == foreign] != []


@pytest.mark.parametrize("template", [t for t in DETAILS if t.startswith("/api/")])
def test_the_same_objects_exist_for_an_admin(hospital_admin, icu_world, template):
    client = APIClient()
    client.force_login(hospital_admin)
    assert client.get(_url(template, icu_world)).status_code == 200
