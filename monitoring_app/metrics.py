"""The product's own metrics, beside django-prometheus' requests, latencies, database and cache calls.

Counters are incremented where things happen (broadcasts and websockets here, ingestion in
healthcare.encounters.metrics). The
figures per department (compliance, nurses, forecast error, data and model age, alerts) are
read from the database when scraped, and the Celery figures from Redis (task_stats.py), by
one function that also answers GET /api/v1/metrics.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import Case, CharField, Count, Value, When
from django.db.models.functions import StrIndex, Substr
from django.utils import timezone
from prometheus_client import REGISTRY, Counter, Gauge
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from healthcare.encounters.models import Department, HeldAdtEvent, Hl7Message
from monitoring_app import task_stats
from monitoring_app.models import Alert
from monitoring_app.selectors import department_freshness
from optimization.roster_in_force import nurses_on_duty
from optimization.selectors import compliance_recent, staffing_state
from predictions.selectors import forecast_live_accuracy, forecast_live_daily_mape

logger = logging.getLogger(__name__)

EVENTS_BROADCAST = Counter("hospital_events_broadcast_total", "Live events sent to dashboards, by event.", ["event"])
WEBSOCKETS_OPEN = Gauge("hospital_websocket_connections", "Dashboard websockets open in this process.")

LIVE_ACCURACY_DAYS = 7
# hospital_hours_at_risk_12h counts the coming hours up to this far ahead.
RISK_HOURS = 12
# Daily totals come one per forecast: four weeks of them, or the error would swing with every day.
LIVE_DAILY_MAPE_DAYS = 28


def product_figures() -> dict:
    """Per department: census and nurses now, compliance 24 h and 7 days, forecast error by band,
    seconds since the last encounter write and since the active model was made, open alerts;
    the Celery queue depth, live workers and task counts. Plain JSON; the same figures /metrics exposes."""
    moment = timezone.now()
    now = moment.replace(minute=0, second=0, microsecond=0)
    week_ago = now - timedelta(days=7)
    freshness = {row["department"]: row for row in department_freshness()}
    departments = []
    for department in Department.objects.order_by("code"):
        fresh = freshness[department.code]
        planned = nurses_on_duty(department, first=week_ago, last=now)
        state = staffing_state(department, now=now, hours=RISK_HOURS + 1)
        decision = state.decision
        departments.append(
            {
                "department": department.code,
                "census_now": state.census_now,
                "nurses_required_now": decision.required_now if decision else None,
                "nurses_on_duty_now": state.on_duty,
                "nurses_short_now": decision.short_now if decision else None,
                "hours_at_risk_12h": len(state.hours_at_risk) if decision else None,
                **compliance_recent(department, now=now, planned=planned),
                "forecast_error": [
                    {
                        "horizon_band": band["horizon_band"],
                        "arrivals_mae": band["arrivals_mae"],
                        "census_mae": band["census_mae"],
                        "census_mape": band["census_mape"],
                        "arrivals_coverage": band["arrivals_coverage"],
                        "hours_scored": band["hours_scored"],
                    }
                    for band in forecast_live_accuracy(
                        department, since=now - timedelta(days=LIVE_ACCURACY_DAYS), confidence_level=0.9
                    )
                ],
                "forecast_daily_arrivals": forecast_live_daily_mape(
                    department, since=now - timedelta(days=LIVE_DAILY_MAPE_DAYS)
                ),
                "data_age_seconds": _seconds_since(fresh["last_ingest"], moment),
                "model_age_seconds": _seconds_since(fresh["model_created_at"], moment),
                "open_alerts": Alert.objects.filter(department=department).open().count(),
            }
        )
    return {
        "departments": departments,
        "celery_queue_depth": celery_queue_depth(),
        **_celery_figures(),
        **hl7_figures(moment),
    }


def hl7_figures(now) -> dict:
    """HL7 ADT messages of the last 24 hours by acknowledgement and the field an AE or AR named, and
    the discharges held for an admission that has not come."""
    field = Case(
        When(error="", then=Value("")),
        default=Substr("error", 1, StrIndex("error", Value(":")) - 1),
        output_field=CharField(),
    )
    rows = (
        Hl7Message.objects.filter(received_at__gte=now - timedelta(hours=24))
        .annotate(field=field)
        .values("outcome", "field")
        .annotate(count=Count("id"))
        .order_by("outcome", "field")
    )
    return {
        "hl7_messages_24h": [{"outcome": r["outcome"], "field": r["field"], "count": r["count"]} for r in rows],
        "hl7_held_discharges": HeldAdtEvent.objects.count(),
    }


def _seconds_since(moment, now) -> int | None:
    return None if moment is None else max(0, int((now - moment).total_seconds()))


def _celery_figures() -> dict:
    """Live workers and task counts; both None when Redis cannot be read (the scrape still answers)."""
    try:
        figures = task_stats.task_figures()
    except Exception:  # noqa: BLE001 - a Redis outage must not take the rest of the metrics with it
        logger.warning("could not read the Celery figures", exc_info=True)
        return {"celery_workers": None, "celery_tasks": None}
    return {"celery_workers": figures["workers"], "celery_tasks": figures["tasks"]}


def celery_queue_depth() -> int | None:
    """Messages waiting in the Celery queue (Redis, the broker); None on the embedded default (no broker)."""
    if not settings.REDIS_URL:
        return None
    return int(task_stats.redis_client().llen("celery"))


class ProductCollector:
    """Prometheus collector of product_figures(), computed at scrape time."""

    def describe(self):
        """The metric names, without reading anything (registration calls this, before any database)."""
        yield from self._families(
            {
                "departments": [],
                "celery_queue_depth": 0,
                "celery_workers": 0,
                "celery_tasks": [],
                "hl7_messages_24h": [],
                "hl7_held_discharges": 0,
            }
        )

    def collect(self):
        yield from self._families(product_figures())

    def _families(self, figures: dict):
        gauges = {
            name: GaugeMetricFamily(f"hospital_{name}", help_text, labels=["department"])
            for name, help_text in (
                ("census_now", "Patients in the department this hour."),
                ("nurses_required_now", "Nurses the census requires at the ratio."),
                ("nurses_on_duty_now", "Nurses recorded on duty this hour (roster in force and duty changes)."),
                ("nurses_short_now", "Nurses fewer on duty than the census requires this hour (0: covered)."),
                ("hours_at_risk_12h", "Coming hours of the next 12 left short with more than the department's risk."),
                ("compliance_24h", "Share of patient-hours at ratio, last 24 h of planned hours."),
                ("compliance_7d", "Share of patient-hours at ratio, last 7 days of planned hours."),
                ("open_alerts", "Alerts neither acknowledged nor resolved."),
                ("data_age_seconds", "Seconds since the department's latest encounter was written."),
                ("model_age_seconds", "Seconds since the department's active forecast model was made."),
            )
        }
        error = GaugeMetricFamily(
            "hospital_forecast_census_mae",
            f"Mean absolute census error of forecasts of the last {LIVE_ACCURACY_DAYS} days, by hours ahead.",
            labels=["department", "horizon_band"],
        )
        mape = GaugeMetricFamily(
            "hospital_forecast_census_mape",
            "Census error over actual census (weighted MAPE) of the same forecasts, by hours ahead.",
            labels=["department", "horizon_band"],
        )
        daily_mape = GaugeMetricFamily(
            "hospital_forecast_daily_arrivals_mape",
            f"Daily arrivals error (weighted MAPE) of the forecasts of the last {LIVE_DAILY_MAPE_DAYS} days.",
            labels=["department"],
        )
        daily_limit = GaugeMetricFamily(
            "hospital_forecast_daily_arrivals_mape_limit",
            "The error a forecast right about the mean stays under 97.5% of the time (Poisson arrivals).",
            labels=["department"],
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
                labels = [row["department"], band["horizon_band"]]
                error.add_metric(labels, band["census_mae"])
                if band["census_mape"] is not None:
                    mape.add_metric(labels, band["census_mape"])
                coverage.add_metric(labels, band["arrivals_coverage"])
            if row["forecast_daily_arrivals"] is not None:
                daily_mape.add_metric([row["department"]], row["forecast_daily_arrivals"]["mape"])
                daily_limit.add_metric([row["department"]], row["forecast_daily_arrivals"]["limit"])
        yield from gauges.values()
        yield from (error, mape, coverage, daily_mape, daily_limit)
        hl7 = GaugeMetricFamily(
            "hospital_hl7_messages_24h",
            "HL7 ADT messages of the last 24 h by acknowledgement (AA, AE, AR) and the field an AE or AR named.",
            labels=["outcome", "field"],
        )
        for row in figures["hl7_messages_24h"]:
            hl7.add_metric([row["outcome"], row["field"]], row["count"])
        yield hl7
        held = GaugeMetricFamily(
            "hospital_hl7_held_discharges", "Discharges received before their admission, held until it comes."
        )
        held.add_metric([], figures["hl7_held_discharges"])
        yield held
        if figures["celery_queue_depth"] is not None:
            depth = GaugeMetricFamily("hospital_celery_queue_depth", "Messages waiting for a Celery worker.")
            depth.add_metric([], figures["celery_queue_depth"])
            yield depth
        if figures["celery_workers"] is not None:
            workers = GaugeMetricFamily(
                "hospital_celery_workers",
                f"Celery workers that sent a heartbeat in the last {task_stats.HEARTBEAT_EXPIRY_SECONDS} s.",
            )
            workers.add_metric([], figures["celery_workers"])
            yield workers
        if figures["celery_tasks"] is not None:
            yield from self._task_families(figures["celery_tasks"])

    @staticmethod
    def _task_families(tasks: list[dict]):
        counts = CounterMetricFamily(
            "hospital_celery_tasks",
            "Celery tasks finished, by task and outcome (all workers).",
            labels=["task", "outcome"],
        )
        durations = HistogramMetricFamily(
            "hospital_celery_task_duration_seconds", "Celery task run time, by task (all workers).", labels=["task"]
        )
        for row in tasks:
            for outcome in task_stats.OUTCOMES.values():
                counts.add_metric([row["task"], outcome], row[outcome])
            per_bucket = row["duration"]["buckets"]
            cumulative, buckets = 0, []
            for bound in [*map(str, task_stats.DURATION_BUCKETS), "+Inf"]:
                cumulative += per_bucket.get(bound, 0)
                buckets.append((bound, cumulative))
            durations.add_metric([row["task"]], buckets, sum_value=row["duration"]["sum"])
        yield counts
        yield durations


REGISTRY.register(ProductCollector())
