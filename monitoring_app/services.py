"""Alerts: raise them from what the other apps know, acknowledge them, announce them to dashboards."""

import logging
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.utils import timezone

from healthcare.encounters.models import Department
from healthcare.hours import iso_utc
from healthcare.signals import send_on_commit
from monitoring_app.models import Alert, AlertKind, AlertSeverity
from monitoring_app.signals import alert_changed, staffing_judged
from optimization.selectors import staffing_state
from optimization.staffing import nurses
from predictions.selectors import forecast_live_accuracy

logger = logging.getLogger(__name__)

# Forecast drift: the next-24-hour interval should hold ~90% of actual arrivals.
DRIFT_WINDOW = timedelta(days=7)
DRIFT_MIN_HOURS = 48
DRIFT_COVERAGE_FLOOR = 0.75
DRIFT_CONFIDENCE = 0.9  # only forecasts issued with 90% intervals are judged


SEVERITY_RANK = {AlertSeverity.WARNING: 0, AlertSeverity.CRITICAL: 1}


def alert_raise(
    *, department: Department, kind: str, key: str, title: str, detail: dict, severity: str = AlertSeverity.WARNING
) -> tuple[Alert, bool]:
    """Raise the condition `key` for the department, or refresh it if already raised. Returns (alert, raised).

    raised: the alert is new, or came back (it had resolved), or got worse (warning to
    critical, which opens it again even if acknowledged). Then it is pushed to the
    department's dashboards (alert_changed, "raised") after commit; otherwise only its detail changes.
    """
    now = timezone.now()
    try:
        with transaction.atomic():
            alert, created = Alert.objects.get_or_create(
                department=department,
                key=key,
                defaults={"kind": kind, "severity": severity, "title": title, "detail": detail, "last_seen_at": now},
            )
    except IntegrityError:  # raised concurrently by another worker: that one is the alert
        alert, created = Alert.objects.get(department=department, key=key), False
    raised = created
    if not created:
        worse = SEVERITY_RANK[severity] > SEVERITY_RANK[alert.severity]
        raised = worse or alert.resolved_at is not None
        alert.title, alert.detail, alert.severity, alert.last_seen_at = title, detail, severity, now
        fields = ["title", "detail", "severity", "last_seen_at"]
        if raised:
            alert.resolved_at = None
            fields.append("resolved_at")
        if worse:
            alert.acknowledged_at, alert.acknowledged_by = None, None
            fields += ["acknowledged_at", "acknowledged_by"]
        alert.save(update_fields=fields)
    if raised:
        logger.info("alert raised: %s %s (%s)", department.code, key, severity)
        _announce(department.code, "raised", alert_payload(alert))
    return alert, raised


def alert_resolve(*, alert: Alert) -> Alert:
    """The condition cleared by itself: close the alert (acknowledged or not) and tell the dashboards."""
    if alert.resolved_at is None:
        alert.resolved_at = timezone.now()
        alert.save(update_fields=["resolved_at"])
        _announce(alert.department.code, "resolved", {"id": alert.id})
    return alert


def _announce(department_code: str, change: str, alert: dict) -> None:
    send_on_commit(alert_changed, sender=Alert, department_code=department_code, change=change, alert=alert)


def _episode(department: Department, kind: str) -> Alert | None:
    """The department's unresolved alert of this kind: a condition that lasts is one alert, not one per hour."""
    return (
        Alert.objects.filter(department=department, kind=kind, resolved_at__isnull=True).order_by("-raised_at").first()
    )


def alert_payload(alert: Alert) -> dict:
    """What a dashboard shows of an alert (no patient data is ever in one)."""
    return {
        "id": alert.id,
        "kind": alert.kind,
        "severity": alert.severity,
        "title": alert.title,
        "raised_at": alert.raised_at.isoformat(),
    }


def alert_acknowledge(*, alert: Alert, user) -> Alert:
    """Mark the alert seen by `user`. Acknowledging twice keeps the first acknowledgement."""
    with transaction.atomic():
        alert = Alert.objects.select_for_update().get(pk=alert.pk)
        if alert.acknowledged_at is None:
            alert.acknowledged_at = timezone.now()
            alert.acknowledged_by = user
            alert.save(update_fields=["acknowledged_at", "acknowledged_by"])
            _announce(alert.department.code, "acknowledged", {"id": alert.id})
    return alert


def alerts_after_job(check, **kwargs) -> None:
    """Run an alert check at the end of a job; a failing check is logged, never fails the finished job."""
    try:
        check(**kwargs)
    except Exception:  # noqa: BLE001 - the job's result is already committed
        logger.exception("alert check %s failed", check.__name__)


def job_failed_alert_raise(*, department: Department, job_kind: str, job_id, reason: str) -> None:
    """A forecast job or staffing run ended failed: the plan or forecast people expect is missing."""
    alert_raise(
        department=department,
        kind=AlertKind.JOB_FAILED,
        key=f"job:{job_id}",
        title=f"{job_kind} failed",
        detail={"job_id": str(job_id), "job_kind": job_kind, "reason": reason},
    )


def understaffing_check(*, department: Department, now: datetime | None = None) -> Alert | None:
    """Open, refresh or resolve the department's understaffing alert from its staffing state, and
    announce the state to its dashboards (staffing_judged).

    Critical while the unit is short now (fewer nurses on duty than the census requires); a
    warning while some hour of the next staffing.ACTION_HOURS is at risk (left short,
    after the policy's recourse, with a probability above the department's threshold). While
    the shortage lasts it is one alert, raised again when it turns critical; it resolves as soon
    as the unit is covered now and no coming hour is at risk. A unit that cannot be judged (no
    census, no roster in force) neither opens nor resolves it.
    """
    state = staffing_state(department, now=now)
    send_on_commit(
        staffing_judged,
        sender=Department,
        department_code=department.code,
        staffing=state.as_dict(),
        verdict=state.verdict(department.timezone),
    )
    episode = _episode(department, AlertKind.UNDERSTAFFING)
    decision = state.decision
    if decision is None:
        return episode  # not knowing is not being covered: an open alert stands until the unit is judged
    soon = state.hours_to_act_on
    if not (decision.short_now or soon):
        if episode is not None:
            alert_resolve(alert=episode)
        return None
    detail = {key: value for key, value in state.as_dict().items() if key != "hours_at_risk"}
    detail["hours_at_risk"] = [
        {
            "hour": iso_utc(state.hour_at(hour.offset)),
            "p_short": round(hour.p_short, 3),
            "staffed": hour.staffed,
            "required_at_mean": hour.required,
        }
        for hour in soon
    ]
    if decision.short_now:
        title = (
            f"Short {nurses(decision.short_now)} now: {state.census_now} patients need"
            f" {decision.required_now}, {decision.on_duty} on duty"
        )
        severity = AlertSeverity.CRITICAL
    else:
        first = soon[0]
        local = state.hour_at(first.offset).astimezone(ZoneInfo(department.timezone))
        title = f"At risk of being short at {local:%a %H:00} ({first.p_short:.0%} chance); {len(soon)} hour(s) at risk"
        severity = AlertSeverity.WARNING
    alert, _ = alert_raise(
        department=department,
        kind=AlertKind.UNDERSTAFFING,
        key=episode.key if episode else f"understaffing:{iso_utc(state.hour)}",
        title=title,
        detail=detail,
        severity=severity,
    )
    return alert


def forecast_drift_check(*, department: Department, now: datetime | None = None) -> Alert | None:
    """Raise an alert when the next-24-hour forecasts of the past week missed too often.

    Drift: the 90% arrival intervals held under 75% of actual hours, over at least 48
    scored hours (forecasts requested with other interval widths are not judged). One alert
    while it lasts; it resolves when coverage is back above the floor.
    """
    now = now or timezone.now()
    bands = forecast_live_accuracy(department, since=now - DRIFT_WINDOW, confidence_level=DRIFT_CONFIDENCE)
    near = [band for band in bands if band["horizon_band"] in ("1-6h", "7-24h")]
    scored = sum(band["hours_scored"] for band in near)
    if scored < DRIFT_MIN_HOURS:
        return None
    coverage = sum(band["arrivals_coverage"] * band["hours_scored"] for band in near) / scored
    episode = _episode(department, AlertKind.FORECAST_DRIFT)
    if coverage >= DRIFT_COVERAGE_FLOOR:
        if episode is not None:
            alert_resolve(alert=episode)
        return None
    alert, _ = alert_raise(
        department=department,
        kind=AlertKind.FORECAST_DRIFT,
        key=episode.key if episode else f"drift:{now:%Y-%m-%d}",
        title=f"Forecasts drifting: intervals held {coverage:.0%} of arrivals this week (expected 90%)",
        detail={"coverage": round(coverage, 3), "hours_scored": scored, "bands": near},
    )
    return alert


def alerts_check(*, now: datetime | None = None) -> int:
    """Run every check for every department (Celery beat); one failing does not stop the others.

    Returns how many alerts are open.
    """
    for department in Department.objects.all():
        alerts_after_job(understaffing_check, department=department, now=now)
        alerts_after_job(forecast_drift_check, department=department, now=now)
    return Alert.objects.open().count()


# A runbook is shown on the dashboards: a web address (a link) or a path in the docs (text); nothing else.
RUNBOOK_ADDRESS = re.compile(r"(https?://\S+|docs/[\w./-]+(#[\w-]+)?)")


def _runbook_address(address: str) -> str:
    return address if RUNBOOK_ADDRESS.fullmatch(address) else ""


def prometheus_alerts_apply(alerts: list[dict]) -> dict:
    """Alertmanager's webhook: raise its firing alerts on the dashboards and resolve its resolved ones.

    Each alert is a validated webhook entry (status, labels, annotations, fingerprint). One
    with a `department` label goes to that department; one without goes to every department
    (a slow API or a missing worker affects them all). Returns counts: raised, refreshed,
    resolved, ignored (a department label naming no department).
    """
    counts = dict.fromkeys(("raised", "refreshed", "resolved", "ignored"), 0)
    departments = {department.code: department for department in Department.objects.all()}
    for entry in alerts:
        labels = entry["labels"]
        code = labels.get("department")
        if code is not None and code not in departments:
            logger.warning("Prometheus alert %s names unknown department %r", labels["alertname"], code)
            counts["ignored"] += 1
            continue
        targets = [departments[code]] if code is not None else list(departments.values())
        key = f"prometheus:{entry['fingerprint']}"
        if entry["status"] == "resolved":
            for alert in Alert.objects.filter(department__in=targets, key=key, resolved_at__isnull=True):
                alert_resolve(alert=alert)
                counts["resolved"] += 1
            continue
        annotations = entry["annotations"]
        detail = {
            "alertname": labels["alertname"],
            "description": annotations.get("description", ""),
            "runbook_url": _runbook_address(annotations.get("runbook_url", "")),
            "started_at": entry.get("startsAt", ""),
        }
        severity = AlertSeverity.CRITICAL if labels.get("severity") == "critical" else AlertSeverity.WARNING
        for department in targets:
            _, raised = alert_raise(
                department=department,
                kind=AlertKind.OPERATIONS,
                key=key,
                title=(annotations.get("summary") or labels["alertname"])[:200],
                detail=detail,
                severity=severity,
            )
            counts["raised" if raised else "refreshed"] += 1
    return counts
