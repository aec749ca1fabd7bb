"""Forecasting API: a small input serializer for requests, explicit output serializers."""

from rest_framework import serializers

from healthcare.serializer_fields import TextField
from predictions.models import Forecast, ForecastModel


class ForecastRequestSerializer(serializers.Serializer):
    """POST /predict/workload."""

    department = TextField(max_length=16, help_text="Department code, e.g. ED.")
    horizon_hours = serializers.IntegerField(min_value=1, max_value=168, default=72)
    confidence_level = serializers.FloatField(min_value=0.5, max_value=0.99, default=0.9)

    def validate_department(self, value: str) -> str:
        return value.strip().upper()


class ForecastPointSerializer(serializers.Serializer):
    hour = serializers.DateTimeField()
    arrivals_mean = serializers.FloatField()
    arrivals_lower = serializers.IntegerField()
    arrivals_upper = serializers.IntegerField()
    census_mean = serializers.FloatField()
    census_lower = serializers.FloatField()
    census_upper = serializers.FloatField()


class ForecastSerializer(serializers.ModelSerializer):
    """A forecast job; points are there once it succeeded."""

    department = serializers.SlugRelatedField(slug_field="code", read_only=True)
    model_version = serializers.IntegerField(source="model.version", read_only=True, allow_null=True)
    algorithm = serializers.CharField(source="model.algorithm", read_only=True, allow_null=True)
    points = ForecastPointSerializer(many=True, read_only=True)
    url = serializers.HyperlinkedIdentityField(view_name="predictions-api:forecast-detail")

    class Meta:
        model = Forecast
        fields = [
            "id",
            "url",
            "department",
            "status",
            "failure_reason",
            "issued_at",
            "horizon_hours",
            "confidence_level",
            "model_version",
            "algorithm",
            "points",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


class ForecastModelSerializer(serializers.ModelSerializer):
    """A model version and how it scored; never its artifact."""

    department = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = ForecastModel
        fields = [
            "id",
            "department",
            "version",
            "algorithm",
            "is_active",
            "hyperparameters",
            "features",
            "training_start",
            "training_end",
            "backtest_metrics",
            "stay_model",
            "created_at",
        ]
        read_only_fields = fields


class HorizonBandSerializer(serializers.Serializer):
    horizon_band = serializers.CharField()
    hours_scored = serializers.IntegerField()
    arrivals_mae = serializers.FloatField()
    arrivals_bias = serializers.FloatField()
    arrivals_coverage = serializers.FloatField()
    census_mae = serializers.FloatField()
    census_bias = serializers.FloatField()
    census_mape = serializers.FloatField(
        allow_null=True, help_text="Total absolute census error over total actual census (weighted MAPE)."
    )


class DepartmentPerformanceSerializer(serializers.Serializer):
    """GET /predict/performance: one department's active model and its live accuracy."""

    department = serializers.CharField()
    active_model_version = serializers.IntegerField(allow_null=True)
    algorithm = serializers.CharField(allow_null=True)
    backtest = serializers.DictField(allow_null=True, help_text="Validation backtest of the active model.")
    live_since = serializers.DateTimeField()
    live = HorizonBandSerializer(many=True)
