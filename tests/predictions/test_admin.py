"""The forecasting screens of the admin: they render, and admins activate versions there."""

from predictions import services


def test_forecast_screens_render_and_a_version_is_activated(admin_client, ed_history):
    first = services.forecast_model_train(department=ed_history)
    second = services.forecast_model_train(department=ed_history, activate=False)
    assert admin_client.get("/admin/predictions/forecastmodel/").status_code == 200
    assert admin_client.get("/admin/predictions/forecast/").status_code == 200
    response = admin_client.post(
        "/admin/predictions/forecastmodel/", {"action": "activate", "_selected_action": [second.id]}
    )
    assert response.status_code == 302
    second.refresh_from_db()
    first.refresh_from_db()
    assert second.is_active and not first.is_active
