from rest_framework import serializers

from healthcare.serializer_fields import TextField
from monitoring_app.models import Alert


class AlertSerializer(serializers.ModelSerializer):
    department = serializers.SlugRelatedField(slug_field="code", read_only=True)
    acknowledged_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    is_open = serializers.BooleanField(read_only=True)

    class Meta:
        model = Alert
        fields = [
            "id",
            "department",
            "kind",
            "severity",
            "title",
            "detail",
            "raised_at",
            "last_seen_at",
            "is_open",
            "acknowledged_at",
            "acknowledged_by",
            "resolved_at",
        ]
        read_only_fields = fields


class PrometheusAlertSerializer(serializers.Serializer):
    """One alert of Alertmanager's webhook (version 4); fields the product does not use are ignored."""

    status = serializers.ChoiceField(choices=["firing", "resolved"])
    labels = serializers.DictField(child=TextField(allow_blank=True))
    annotations = serializers.DictField(child=TextField(allow_blank=True), required=False, default=dict)
    startsAt = TextField(required=False, allow_blank=True)  # noqa: N815 - Alertmanager's name
    fingerprint = serializers.RegexField(r"^[0-9a-zA-Z]{1,64}$")

    def validate_labels(self, labels: dict) -> dict:
        if not labels.get("alertname"):
            raise serializers.ValidationError("alertname is required.")
        return labels


class AlertmanagerWebhookSerializer(serializers.Serializer):
    version = serializers.ChoiceField(choices=["4"])
    alerts = PrometheusAlertSerializer(many=True, allow_empty=True, max_length=1000)
