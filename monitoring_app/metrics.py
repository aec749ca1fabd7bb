"""The product's own metrics, beside django-prometheus' requests, latencies and database calls.

Counters are incremented where things happen (broadcasts, ingestion, websockets). The
figures per department (compliance, nurses, forecast error, alerts) are read from the
database when scraped, by one function that also answers GET /api/v1/metrics.
"""

from datetime import timedelta

from prometheus_client import REGISTRY, Counter, Gauge
from prometheus_client.core import GaugeMetricFamily

EVENTS_BROADCAST = Counter("hospital_events_broadcast_total", "Live events sent to dashboards, by event.", ["event"])
INGEST_ROWS = Counter("hospital_ingest_rows_total", "Rows stored by ingestion, by kind and result.", ["kind", "result"])
WEBSOCKETS_OPEN = Gauge("hospital_websocket_connections", "Dashboard websockets open in this process.")

LIVE_ACCURACY_DAYS = 7


def product_figures() -> dict:
    """Per department: census and nurses now, compliance 24 h and 7 days, forecast error by band,
    open alerts; and the Celery queue depth. Plain JSON; the same figures /metrics exposes."""
    from django.utils import timezone

    from healthcare.encounters.models import Department, WorkloadHour
    from monitoring_app.models import Alert
    from optimization.selectors import compliance_recent, planned_nurses
    from predictions.selectors import forecast_live_accuracy

    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    week_ago = now - timedelta(days=7)
    departments = []
    for department in Department.objects.order_by("code"):
        planned = planned_nurses(department, first=week_ago, last=now)
        census_now = WorkloadHour.objects.filter(department=department, hour=now).values_list("census", flat=True)
        census = census_now.first()
        departments.append(
            {
                "department": department.code,
                "census_now": census,
                "nurses_required_now": department.nurses_required(census) if census is not None else None,
                "nurses_planned_now": planned.get(now),
                **compliance_recent(department, now=now, planned=planned),
                "forecast_error": [
                    {
                        "horizon_band": band["horizon_band"],
                        "arrivals_mae": band["arrivals_mae"],
                        "census_mae": band["census_mae"],
                        "arrivals_coverage": band["arrivals_coverage"],
                        "hours_scored": band["hours_scored"],
                    }
                    for band in forecast_live_accuracy(
                        department, since=now - timedelta(days=LIVE_ACCURACY_DAYS), confidence_level=0.9
                    )
                ],
                "open_alerts": Alert.objects.filter(department=department).open().count(),
            }
        )
    return {"departments": departments, "celery_queue_depth": celery_queue_depth()}


def celery_queue_depth() -> int | None:
    """Messages waiting in the Celery queue (Redis); None on the embedded default (no broker)."""
    from django.conf import settings

    if not settings.REDIS_URL:
        return None
    import redis

    client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=2)
    return int(client.llen("celery"))


class ProductCollector:
    """Prometheus collector of product_figures(), computed at scrape time."""

    def describe(self):
        """The metric names, without reading anything (registration calls this, before any database)."""
        yield from self._families({"departments": [], "celery_queue_depth": 0})

    def collect(self):
        yield from self._families(product_figures())

    def _families(self, figures: dict):
        gauges = {
            name: GaugeMetricFamily(f"hospital_{name}", help_text, labels=["department"])
            for name, help_text in (
                ("census_now", "Patients in the department this hour."),
                ("nurses_required_now", "Nurses the census requires at the ratio."),
                ("nurses_planned_now", "Nurses the plan puts on duty this hour."),
                ("compliance_24h", "Share of patient-hours at ratio, last 24 h of planned hours."),
                ("compliance_7d", "Share of patient-hours at ratio, last 7 days of planned hours."),
                ("open_alerts", "Alerts neither acknowledged nor resolved."),
            )
        }
        error = GaugeMetricFamily(
            "hospital_forecast_census_mae",
            f"Mean absolute census error of forecasts of the last {LIVE_ACCURACY_DAYS} days, by hours ahead.",
            labels=["department", "horizon_band"],
        )
        coverage = GaugeMetricFamily(
            "hospital_forecast_arrivals_coverage",
            "Share of actual arrivals inside the 90% interval, by hours ahead.",
            labels=["department", "horizon_band"],
        )
        for row in figures["departments"]:
            for name, gauge in gauges.items():
                if row[name] is not None:
                    gauge.add_metric([row["department"]], float(row[name]))
            for band in row["forecast_error"]:
                error.add_metric([row["department"], band["horizon_band"]], band["census_mae"])
                coverage.add_metric([row["department"], band["horizon_band"]], band["arrivals_coverage"])
        yield from gauges.values()
        yield error
        yield coverage
        if figures["celery_queue_depth"] is not None:
            depth = GaugeMetricFamily("hospital_celery_queue_depth", "Messages waiting for a Celery worker.")
            depth.add_metric([], figures["celery_queue_depth"])
            yield depth


REGISTRY.register(ProductCollector())
