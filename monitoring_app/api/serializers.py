from rest_framework import serializers

from monitoring_app.models import Alert


class AlertSerializer(serializers.ModelSerializer):
    department = serializers.SlugRelatedField(slug_field="code", read_only=True)
    acknowledged_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
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
