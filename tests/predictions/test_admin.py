"""The forecasting screens of the admin: they render, and admins activate versions there."""

from healthcare.encounters import services as encounter_services
from predictions import services
from tests.predictions.conftest import records_until
from tests.predictions.test_services import current_hour


def test_forecast_screens_render_and_a_version_is_activated(admin_client, ed):
    encounter_services.arrivals_ingest(department=ed, records=records_until(current_hour(), days=100), source="s")
    first = services.forecast_model_train(department=ed)
    second = services.forecast_model_train(department=ed, activate=False)
    assert admin_client.get("/admin/predictions/forecastmodel/").status_code == 200
    assert admin_client.get("/admin/predictions/forecast/").status_code == 200
    response = admin_client.post(
        "/admin/predictions/forecastmodel/", {"action": "activate", "_selected_action": [second.id]}
    )
    assert response.status_code == 302
    second.refresh_from_db()
    first.refresh_from_db()
    assert second.is_active and not first.is_active
