"""/api/v1/optimize/...: requests, status, history, recommendations; validation and scoping."""

import pytest

from optimization.models import RunStatus


@pytest.fixture
def post(api_client, django_capture_on_commit_callbacks):
    def send(user, path, body):
        """body: a dict, or raw JSON text (for numbers Python's encoder refuses, like 1e400)."""
        api_client.force_authenticate(user)
        with django_capture_on_commit_callbacks(execute=True):
            if isinstance(body, str):
                return api_client.post(path, data=body, content_type="application/json")
            return api_client.post(path, body, format="json")

    return send


def test_a_plan_request_answers_202_with_the_run_and_its_status_link(post, api_client, ed_staff, ed_history):
    response = post(ed_staff, "/api/v1/optimize/workload", {"department": "ed", "horizon_hours": 24})
    assert response.status_code == 202
    run = response.json()
    assert response["Location"] == run["links"]["status"]
    result = api_client.get(run["links"]["status"]).json()
    assert result["status"] == RunStatus.SUCCEEDED and len(result["result"]["hours"]) == 24
    history = api_client.get("/api/v1/optimize/history", {"department": "ED"}).json()
    assert [row["optimization_id"] for row in history["results"]] == [run["optimization_id"]]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"department": "ED", "horizon_hours": 0}, "horizon_hours"),
        ({"department": "ED", "horizon_hours": 169}, "horizon_hours"),
        ({"department": "ED", "current_patients": -1}, "current_patients"),
        ({"department": "ED", "current_staff": -3}, "current_staff"),
        ({"department": "ED", "quantile": 1.2}, "quantile"),
        ({"department": "ED", "risk_level": "low", "quantile": 0.9}, "quantile"),
        ({"department": "ED", "rule_overrides": {"oncall_cap": 2}}, "rule_overrides"),
        ({"department": "ED", "rule_overrides": {"release_saving": 3}}, "rule_overrides"),
        ({"department": "ED", "rule_overrides": {"oncall_block_hours": 2.5}}, "rule_overrides"),
        ({"department": "ED", "rule_overrides": {"nurse_hour_cost": 10**400}}, "rule_overrides"),
        ('{"department": "ED", "rule_overrides": {"understaffed_penalty": 1e400}}', "rule_overrides"),
        ({"department": "NOPE"}, "department"),
        ({"department": "ICU"}, "department"),
    ],
)
def test_bad_plan_requests_name_the_field(post, ed_staff, icu, body, field):
    response = post(ed_staff, "/api/v1/optimize/workload", body)
    assert response.status_code == 400
    assert field in response.json()


def test_runs_of_foreign_departments_do_not_exist(post, api_client, ed_staff, icu_staff, ed_history):
    run = post(ed_staff, "/api/v1/optimize/workload", {"department": "ED"}).json()
    api_client.force_authenticate(icu_staff)
    assert api_client.get(f"/api/v1/optimize/status/{run['optimization_id']}").status_code == 404
    assert api_client.get("/api/v1/optimize/history").json()["results"] == []


def test_recommend_answers_synchronously(post, ed_staff, ed_history):
    response = post(
        ed_staff, "/api/v1/optimize/recommend", {"department": "ED", "current_patients": 70, "current_staff": 3}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["call_in"] >= 1 and body["release"] == 0 and len(body["projection"]) == 12


def test_recommend_validates_and_explains_missing_data(post, ed_staff, ed, icu):
    assert post(ed_staff, "/api/v1/optimize/recommend", {"department": "ED", "current_staff": 3}).status_code == 400
    assert (
        "department"
        in post(
            ed_staff, "/api/v1/optimize/recommend", {"department": "ICU", "current_patients": 1, "current_staff": 1}
        ).json()
    )
    response = post(
        ed_staff, "/api/v1/optimize/recommend", {"department": "ED", "current_patients": 1, "current_staff": 1}
    )
    assert response.status_code == 409 and "no workload data" in response.json()["detail"]


def test_anonymous_callers_are_refused(api_client, db):
    assert api_client.post("/api/v1/optimize/workload", {"department": "ED"}, format="json").status_code == 401
    assert api_client.get("/api/v1/optimize/history").status_code == 401
