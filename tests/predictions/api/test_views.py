"""/api/v1/predict/...: requests, jobs, models, performance; validation and department scoping."""

from datetime import timedelta

import pytest

from predictions import services
from predictions.models import Forecast, ForecastStatus


@pytest.fixture
def post_forecast(api_client, django_capture_on_commit_callbacks):
    def post(user, body, path="/api/v1/predict/workload"):
        api_client.force_authenticate(user)
        with django_capture_on_commit_callbacks(execute=True):
            return api_client.post(path, body, format="json")

    return post


def test_a_forecast_request_answers_202_with_the_job_and_its_url(post_forecast, api_client, ed_staff, ed_history):
    response = post_forecast(ed_staff, {"department": "ed", "horizon_hours": 48, "confidence_level": 0.8})
    assert response.status_code == 202
    job = response.json()
    assert response["Location"] == job["url"] and job["department"] == "ED"
    result = api_client.get(job["url"]).json()
    assert result["status"] == ForecastStatus.SUCCEEDED and len(result["points"]) == 48
    assert result["confidence_level"] == 0.8 and result["model_version"] == 1


def test_the_trailing_slash_is_optional(post_forecast, ed_staff, ed_history):
    assert post_forecast(ed_staff, {"department": "ED"}, path="/api/v1/predict/workload/").status_code == 202


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"department": "ED", "horizon_hours": 0}, "horizon_hours"),
        ({"department": "ED", "horizon_hours": 500}, "horizon_hours"),
        ({"department": "ED", "confidence_level": 1.5}, "confidence_level"),
        ({"department": "ED", "horizon_hours": "soon"}, "horizon_hours"),
        ({}, "department"),
    ],
)
def test_bad_requests_name_the_field(post_forecast, ed_staff, icu, body, field):
    response = post_forecast(ed_staff, body)
    assert response.status_code == 400
    assert field in response.json()


@pytest.mark.parametrize("code", ["NOPE", "ICU"])
def test_a_forecast_for_a_department_not_among_yours_is_a_404(post_forecast, ed_staff, icu, code):
    response = post_forecast(ed_staff, {"department": code})
    assert response.status_code == 404
    assert response.json() == {"detail": f"No department '{code}' among yours."}


def test_anonymous_callers_are_refused(api_client, db):
    assert api_client.post("/api/v1/predict/workload", {"department": "ED"}, format="json").status_code == 401
    assert api_client.get("/api/v1/predict/models").status_code == 401


def test_jobs_and_models_of_foreign_departments_do_not_exist(
    post_forecast, api_client, ed_staff, icu_staff, ed_history
):
    job = post_forecast(ed_staff, {"department": "ED"}).json()
    api_client.force_authenticate(icu_staff)
    assert api_client.get(job["url"]).status_code == 404
    assert api_client.get("/api/v1/predict/jobs").json()["results"] == []
    assert api_client.get("/api/v1/predict/models").json()["results"] == []
    assert api_client.get("/api/v1/predict/jobs/latest", {"department": "ED"}).status_code == 404
    assert [row["department"] for row in api_client.get("/api/v1/predict/performance").json()] == ["ICU"]


def test_latest_returns_the_newest_successful_forecast(post_forecast, api_client, ed_staff, ed_history):
    job = post_forecast(ed_staff, {"department": "ED", "horizon_hours": 12}).json()
    older = Forecast.objects.get(id=job["id"])
    Forecast.objects.create(
        department=ed_history,
        issued_at=older.issued_at - timedelta(hours=5),
        horizon_hours=6,
        confidence_level=0.9,
        status=ForecastStatus.SUCCEEDED,
        points=older.points[:6],
    )
    response = api_client.get("/api/v1/predict/jobs/latest", {"department": "ed"})
    assert response.status_code == 200 and response.json()["id"] == job["id"]
    assert api_client.get("/api/v1/predict/jobs/latest").status_code == 400


def test_models_list_never_carries_the_artifact(api_client, ed_staff, ed_history):
    services.forecast_model_train(department=ed_history)
    api_client.force_authenticate(ed_staff)
    (model,) = api_client.get("/api/v1/predict/models").json()["results"]
    assert "artifact" not in model and "artifact_sha256" not in model
    assert model["is_active"] and model["backtest_metrics"]["chosen"] == model["algorithm"]


def test_only_admins_activate_a_version(api_client, ed_staff, hospital_admin, ed_history):
    first = services.forecast_model_train(department=ed_history)
    second = services.forecast_model_train(department=ed_history, algorithms=["seasonal_naive"], activate=False)
    api_client.force_authenticate(ed_staff)
    assert api_client.post(f"/api/v1/predict/models/{second.id}/activate").status_code == 403
    api_client.force_authenticate(hospital_admin)
    response = api_client.post(f"/api/v1/predict/models/{second.id}/activate")
    assert response.status_code == 200 and response.json()["is_active"]
    first.refresh_from_db()
    assert not first.is_active


def test_performance_reports_the_active_models_backtest(api_client, ed_staff, ed_history):
    model = services.forecast_model_train(department=ed_history)
    api_client.force_authenticate(ed_staff)
    (row,) = api_client.get("/api/v1/predict/performance", {"department": "ED"}).json()
    assert row["active_model_version"] == model.version and row["algorithm"] == model.algorithm
    assert (
        row["backtest"]["poisson_deviance"] == model.backtest_metrics["candidates"][model.algorithm]["poisson_deviance"]
    )
    assert row["live"] == []
    assert api_client.get("/api/v1/predict/performance", {"days": 0}).status_code == 400
    assert api_client.get("/api/v1/predict/performance", {"department": "ICU"}).status_code == 404


@pytest.mark.parametrize("path", ["/api/v1/predict/performance/", "/api/v1/predict/jobs/latest/"])
def test_a_department_code_with_a_null_character_is_refused_by_name(api_client, ed_staff, ed, path):
    api_client.force_authenticate(ed_staff)
    response = api_client.get(path, {"department": "E\x00D"})
    assert response.status_code == 400 and "department" in response.json()
