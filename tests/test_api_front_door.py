"""/api/v1/ lists every endpoint, and every error under /api/ answers in JSON, DEBUG or not."""

import pytest
from django.test import override_settings


def test_the_index_lists_every_area_of_the_api(api_client, db):
    body = api_client.get("/api/v1/").json()
    assert set(body["endpoints"]) >= {
        "auth",
        "departments",
        "encounters",
        "events",
        "fhir",
        "workload-hours",
        "predict",
        "optimize",
        "alerts",
        "metrics",
        "health",
    }
    recommend = [row for row in body["endpoints"]["optimize"] if row["path"] == "/api/v1/optimize/recommend/"]
    assert recommend == [{"path": "/api/v1/optimize/recommend/", "methods": ["POST"]}]
    assert body["schema"].endswith("/api/schema/") and body["docs"].endswith("/api/docs/")


@pytest.mark.parametrize("debug", [True, False])
@pytest.mark.parametrize("path", ["/api/v1/nothing/", "/api/v1/predict/nothing", "/api/schema/x"])
def test_an_unknown_api_path_is_a_json_404_naming_the_path(api_client, db, path, debug):
    with override_settings(DEBUG=debug):
        response = api_client.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert path in response.json()["detail"]


def test_a_method_an_endpoint_lacks_is_a_json_405(api_client, db):
    response = api_client.put("/api/v1/auth/token/", {}, format="json")
    assert response.status_code == 405
    assert response["Content-Type"] == "application/json"


def test_an_unsupported_media_type_is_a_json_415(api_client, integrator):
    api_client.force_authenticate(integrator)
    response = api_client.post("/api/v1/events", data="<events/>", content_type="application/xml")
    assert response.status_code == 415
    assert "application/xml" in response.json()["detail"]


def test_pages_outside_the_api_keep_the_sites_own_404(client, db):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("path", ["/api/v1/events", "/api/v1/encounters/batch/", "/api/v1/fhir/Encounter"])
def test_json_nested_too_deeply_is_a_400_not_a_server_error(api_client, integrator, path):
    api_client.force_authenticate(integrator)
    body = "[" * 100_000 + "]" * 100_000
    response = api_client.generic("POST", path, body, content_type="application/json")
    assert response.status_code == 400
    assert "nested too deeply" in response.content.decode()
