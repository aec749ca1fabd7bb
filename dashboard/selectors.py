"""What a department's dashboard shows: one snapshot, served over REST and on websocket connect."""

from datetime import UTC, datetime, timedelta

from django.db.models import Max
from django.utils import timezone

from dashboard.broadcast import department_sequence
from healthcare.encounters.models import Department, WorkloadHour
from optimization.models import OptimizationRun, RunStatus
from predictions.selectors import forecast_latest

PAST_HOURS = 48
FUTURE_HOURS = 72


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def department_snapshot(department: Department, *, now: datetime | None = None) -> dict:
    """The department now: the last 48 h, the next 72 h (forecast and plan) and the headline tiles.

    seq is read first: a page applies only the events numbered after it, so none is lost
    between the snapshot and the live feed.
    """
    seq = department_sequence(department.code)
    now = (now or timezone.now()).replace(minute=0, second=0, microsecond=0)
    first = now - timedelta(hours=PAST_HOURS - 1)
    rows = {
        hour: (census, arrivals)
        for hour, census, arrivals in WorkloadHour.objects.filter(
            department=department, hour__gte=first, hour__lte=now
        ).values_list("hour", "census", "arrivals")
    }
    # Hours after the latest data are unknown (null), not empty: the feed may have stopped.
    last_observed = WorkloadHour.objects.filter(department=department, hour__lte=now).aggregate(last=Max("hour"))[
        "last"
    ]
    actual = []
    for hour in (first + timedelta(hours=index) for index in range(PAST_HOURS)):
        census, arrivals = rows.get(hour, (0, 0)) if last_observed and hour <= last_observed else (None, None)
        actual.append({"hour": _iso(hour), "census": census, "arrivals": arrivals})

    forecast, future_points = forecast_latest(department), []
    if forecast is not None:
        future_points = [
            {key: point[key] for key in ("hour", "census_mean", "census_lower", "census_upper", "arrivals_mean")}
            for point in forecast.points
            if datetime.fromisoformat(point["hour"]) >= now
        ][:FUTURE_HOURS]
    forecast_info = {"issued_at": _iso(forecast.issued_at), "source": "forecast job"} if forecast else None
    if not future_points:
        future_points, forecast_info = _outlook_points(department, now)

    plan = (
        OptimizationRun.objects.filter(department=department, status=RunStatus.SUCCEEDED, planned_from__lte=now)
        .order_by("-planned_from", "-finished_at")
        .only("planned_from", "result")
        .first()
    )
    planned = {}
    if plan is not None:
        planned = {
            datetime.fromisoformat(hour["hour"]): hour["planned_nurses"] for hour in plan.result.get("hours", [])
        }

    census_now = actual[-1]["census"]
    known_now = census_now is not None
    staff_now = planned.get(now)
    ratio = department.patients_per_nurse
    at_risk = None
    for point in future_points:
        nurses = planned.get(datetime.fromisoformat(point["hour"]))
        if nurses is not None and point["census_upper"] > ratio * nurses:
            at_risk = point["hour"]
            break
    return {
        "seq": seq,
        "generated_at": _iso(timezone.now()),
        "department": {
            "code": department.code,
            "name": department.name,
            "unit_type": department.unit_type,
            "patients_per_nurse": ratio,
            "min_nurses": department.min_nurses,
            "timezone": department.timezone,
        },
        "actual": actual,
        "forecast": {**forecast_info, "points": future_points} if forecast_info else None,
        "plan": {
            "optimization_id": str(plan.id),
            "planned_from": _iso(plan.planned_from),
            "hours": [{"hour": _iso(hour), "planned_nurses": nurses} for hour, nurses in sorted(planned.items())],
        }
        if plan
        else None,
        "tiles": {
            "census_now": census_now,
            "nurses_required_now": department.nurses_required(census_now) if known_now else None,
            "staff_on_duty": staff_now,
            "patients_per_nurse_now": round(census_now / staff_now, 2)
            if staff_now and census_now is not None
            else None,
            "compliance_24h": _compliance(actual[-24:], planned, ratio),
            "compliance_7d": _compliance_since(department, now - timedelta(days=7), now, planned, ratio),
            "next_hour_at_risk": at_risk,
        },
    }


def _outlook_points(department: Department, now: datetime) -> tuple[list[dict], dict | None]:
    """Without a recent forecast job: the hour's outlook from the active model, if one was trained.

    Never trains a model here (this runs on the websocket path); the outlook is cached per hour.
    """
    from predictions.models import ForecastModel
    from predictions.selectors import epoch_hour
    from predictions.services import ForecastUnavailable, workload_outlook

    model = ForecastModel.objects.filter(department=department, is_active=True, training_end__lte=now).first()
    if model is None:
        return [], None
    try:
        outlook = workload_outlook(
            department=department, model=model, issue_hour=epoch_hour(now), horizon=FUTURE_HOURS, confidence=0.9
        )
    except ForecastUnavailable:
        return [], None
    points = [
        {
            "hour": _iso(now + timedelta(hours=index)),
            "census_mean": round(float(outlook.census.mean[index]), 2),
            "census_lower": round(float(outlook.census.lower[index]), 2),
            "census_upper": round(float(outlook.census.upper[index]), 2),
            "arrivals_mean": round(float(outlook.arrivals.mean[index]), 3),
        }
        for index in range(FUTURE_HOURS)
    ]
    return points, {"issued_at": _iso(now), "source": f"model v{model.version}"}


def _compliance(hours: list[dict], planned: dict, ratio: int) -> float | None:
    """Share of patient-hours covered at the ratio, over the hours the plan staffed."""
    covered = total = 0.0
    for hour in hours:
        nurses = planned.get(datetime.fromisoformat(hour["hour"]))
        if nurses is None or hour["census"] is None:
            continue
        total += hour["census"]
        covered += min(hour["census"], ratio * nurses)
    return round(covered / total, 4) if total else None


def _compliance_since(department: Department, first: datetime, last: datetime, planned: dict, ratio: int):
    rows = WorkloadHour.objects.filter(department=department, hour__gte=first, hour__lte=last).values_list(
        "hour", "census"
    )
    return _compliance([{"hour": _iso(hour), "census": census} for hour, census in rows], planned, ratio)
