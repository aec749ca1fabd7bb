"""/api/v1/optimize/...: requests, status, history, recommendations; validation and scoping."""

import pytest

from optimization.models import RunStatus
from predictions.models import ForecastModel


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


def test_recommend_answers_synchronously(post, ed_staff, ed_history, ed_forecaster):
    response = post(
        ed_staff, "/api/v1/optimize/recommend", {"department": "ED", "current_patients": 70, "current_staff": 3}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["call_in"] >= 1 and body["release"] == 0 and len(body["projection"]) == 12


def test_recommend_validates_its_input(post, ed_staff, ed, icu):
    assert post(ed_staff, "/api/v1/optimize/recommend", {"department": "ED", "current_staff": -1}).status_code == 400
    foreign = post(
        ed_staff, "/api/v1/optimize/recommend", {"department": "ICU", "current_patients": 1, "current_staff": 1}
    )
    assert foreign.status_code == 404
    assert foreign.json() == {"detail": "No department 'ICU' among yours."}


@pytest.mark.parametrize("code", ["NOPE", "ICU"])
def test_a_plan_for_a_department_not_among_yours_is_a_404(post, ed_staff, ed, icu, code):
    response = post(ed_staff, "/api/v1/optimize/workload", {"department": code})
    assert response.status_code == 404
    assert response.json() == {"detail": f"No department '{code}' among yours."}


def test_recommend_without_history_still_decides_the_current_hour(post, ed_staff, ed):
    response = post(
        ed_staff, "/api/v1/optimize/recommend", {"department": "ED", "current_patients": 41, "current_staff": 10}
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["required_now"], body["on_duty"], body["short_now"], body["call_in"]) == (11, 10, 1, 1)
    assert body["lookahead"] is False and body["projection"] == []
    assert "Look-ahead off" in body["reason"]


def test_recommend_with_history_but_no_model_trains_nothing(post, ed_staff, ed_history):
    """A read open to view-only staff: it decides the current hour and stores no forecast model."""
    response = post(
        ed_staff, "/api/v1/optimize/recommend", {"department": "ED", "current_patients": 41, "current_staff": 10}
    )
    assert response.status_code == 200
    assert response.json()["short_now"] == 1
    assert not ForecastModel.objects.exists()


def test_recommend_says_what_is_missing_when_nothing_is_recorded(post, ed_staff, ed):
    response = post(ed_staff, "/api/v1/optimize/recommend", {"department": "ED", "current_patients": 5})
    assert response.status_code == 409 and "current_staff" in response.json()["detail"]
    response = post(ed_staff, "/api/v1/optimize/recommend", {"department": "ED"})
    assert response.status_code == 409 and "current_patients" in response.json()["detail"]


@pytest.mark.parametrize(
    ("patients", "staff", "required", "call_in", "short_after"),
    [(80, 10, 20, 4, 6), (60, 2, 15, 4, 9), (41, 10, 11, 1, 0)],
)
def test_recommend_covers_the_shortfall_now_and_escalates_what_on_call_cannot(
    post, ed_staff, ed_history, ed_forecaster, patients, staff, required, call_in, short_after
):
    # The cases at the ED (1:4, on-call capped at 4 a day): never a silent 0.
    body = post(
        ed_staff,
        "/api/v1/optimize/recommend",
        {"department": "ED", "current_patients": patients, "current_staff": staff},
    ).json()
    assert (body["required_now"], body["on_duty"], body["short_now"]) == (required, staff, required - staff)
    # Never fewer than the shortfall now allows; the look-ahead may call more for the hours coming.
    assert body["call_in"] >= call_in and body["release"] == 0 and body["status"] == "short"
    assert body["short_after_call_in"] >= short_after
    assert body["escalate"] is (body["short_after_call_in"] > 0)
    if short_after:
        assert "escalate" in body["reason"]
    assert body["lookahead"] is True and len(body["projection"]) == 12


def test_recommend_projects_from_the_patients_given(post, ed_staff, ed_history, ed_forecaster):
    def first_hour_mean(patients: int) -> float:
        situation = {"department": "ED", "current_patients": patients, "current_staff": 20}
        body = post(ed_staff, "/api/v1/optimize/recommend", situation).json()
        return body["projection"][0]["census_mean"]

    # Most of 80 patients are still there an hour later (a 3.5-hour median stay).
    assert first_hour_mean(80) - first_hour_mean(20) > 20


def test_recommend_never_releases_below_the_ratio(post, ed_staff, ed_history, ed_forecaster):
    body = post(
        ed_staff, "/api/v1/optimize/recommend", {"department": "ED", "current_patients": 40, "current_staff": 10}
    ).json()
    assert body["short_now"] == 0 and body["release"] == 0


def test_anonymous_callers_are_refused(api_client, db):
    assert api_client.post("/api/v1/optimize/workload", {"department": "ED"}, format="json").status_code == 401
    assert api_client.get("/api/v1/optimize/history").status_code == 401
