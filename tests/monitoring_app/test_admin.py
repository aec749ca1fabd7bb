"""The alerts admin: it renders, acknowledges selected alerts, and changes nothing else."""

from django.contrib.auth import get_user_model

from monitoring_app.models import Alert
from monitoring_app.services import alert_acknowledge


def test_alert_screens_render(admin_client, ed, raise_alert):
    alert = raise_alert(ed, "job:1", title="Forecast failed")
    listing = admin_client.get("/admin/monitoring_app/alert/")
    assert listing.status_code == 200 and "Forecast failed" in listing.content.decode()
    assert admin_client.get(f"/admin/monitoring_app/alert/{alert.id}/change/").status_code == 200


def test_the_acknowledge_action_acknowledges_open_alerts_and_keeps_earlier_acknowledgements(
    admin_client, ed, icu, ed_staff, raise_alert
):
    admin = get_user_model().objects.get(username="admin")
    first = raise_alert(ed, "job:1")
    second = raise_alert(icu, "job:2")
    earlier = alert_acknowledge(alert=raise_alert(ed, "job:3"), user=ed_staff)
    response = admin_client.post(
        "/admin/monitoring_app/alert/",
        {"action": "acknowledge", "_selected_action": [first.id, second.id, earlier.id]},
        follow=True,
    )
    assert response.status_code == 200
    assert "2 alert(s) acknowledged." in [str(message) for message in response.context["messages"]]
    for alert in (first, second):
        alert.refresh_from_db()
        assert alert.acknowledged_by == admin and alert.acknowledged_at is not None
    kept = Alert.objects.get(id=earlier.id)
    assert (kept.acknowledged_by, kept.acknowledged_at) == (ed_staff, earlier.acknowledged_at)


def test_alerts_cannot_be_added_changed_or_deleted_in_the_admin(admin_client, ed, raise_alert):
    alert = raise_alert(ed, "job:1", title="Forecast failed")
    assert admin_client.get("/admin/monitoring_app/alert/add/").status_code == 403
    response = admin_client.post(
        f"/admin/monitoring_app/alert/{alert.id}/change/", {"title": "changed", "kind": "job_failed"}
    )
    assert response.status_code == 403
    assert admin_client.post(f"/admin/monitoring_app/alert/{alert.id}/delete/", {"post": "yes"}).status_code == 403
    listing = admin_client.get("/admin/monitoring_app/alert/")
    assert "delete_selected" not in listing.content.decode()
    stored = Alert.objects.get(id=alert.id)
    assert stored.title == "Forecast failed"
