"""What a department's dashboard shows: one snapshot, served over REST and on websocket connect."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Q
from django.utils import timezone

from dashboard.broadcast import department_sequence
from healthcare.encounters.models import Department, WorkloadHour
from healthcare.encounters.selectors import workload_last_hour
from healthcare.encounters.services.workload import LIVE_WINDOW_HOURS, workload_hour_now
from healthcare.hours import iso_utc
from monitoring_app.models import Alert
from monitoring_app.services import alert_payload
from optimization.call_in_candidates import call_in_candidates, release_candidates
from optimization.models import CallInOffer, DutyChange, OfferStatus, OptimizationRun
from optimization.roster_in_force import nurses_on_duty, on_duty_at
from optimization.selectors import OUTLOOK_Z, compliance_recent, staffing_state
from optimization.services.call_ins import call_in_hours
from predictions.outlook import census_outlook_points

PAST_HOURS = LIVE_WINDOW_HOURS  # the hours workload.changed events carry
FUTURE_HOURS = 72
MAX_ALERTS = 10


def _as_judged(point: dict, hour) -> dict:
    """A forecast point with the census the staffing state judged the hour on (90 % interval)."""
    spread = OUTLOOK_Z * hour.census_std
    return {
        **point,
        "census_mean": round(hour.census_mean, 2),
        "census_lower": round(max(hour.census_mean - spread, 0.0), 2),
        "census_upper": round(hour.census_mean + spread, 2),
    }


def department_snapshot(department: Department, *, now: datetime | None = None) -> dict:
    """The department now: the last 48 h, the next 71 h (forecast and nurses on duty), the staffing state
    and its verdict, open alerts and the headline tiles.

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
    last_observed = workload_last_hour(department, until=now)
    actual = []
    for hour in (first + timedelta(hours=index) for index in range(PAST_HOURS)):
        census, arrivals = rows.get(hour, (0, 0)) if last_observed and hour <= last_observed else (None, None)
        actual.append({"hour": iso_utc(hour), "census": census, "arrivals": arrivals})

    # Before the current hour's row is written, its patients are those still here (not "no data").
    current = workload_hour_now(department, now=now) if actual[-1]["census"] is None else None
    if current is not None:
        actual[-1].update(arrivals=current[0], census=current[1])

    future_points, forecast_info = census_outlook_points(department, now=now, hours=FUTURE_HOURS)
    state = staffing_state(department, now=now, hours=FUTURE_HOURS, census_now=actual[-1]["census"])
    # The coming hours are drawn as the staffing state judges them: from the patients there now.
    # The current hour is in `actual`; the forecast is drawn from the next one.
    judged = {hour.offset: hour for hour in state.ahead}
    future_points = [
        _as_judged(point, judged[offset]) if offset in judged else point
        for offset, point in enumerate(future_points)
        if offset > 0
    ]

    week_ago = now - timedelta(days=7)
    on_duty = nurses_on_duty(department, first=min(first, week_ago), last=now + timedelta(hours=FUTURE_HOURS))
    plan = (
        OptimizationRun.objects.filter(department=department, in_force_from__isnull=False, in_force_from__lte=now)
        .order_by("-put_in_force_at")
        .only("id", "planned_from", "in_force_from", "put_in_force_at")
        .first()
    )
    census_now = actual[-1]["census"]
    staffing = state.as_dict()
    return {
        "seq": seq,
        "generated_at": iso_utc(timezone.now()),
        "department": {
            "code": department.code,
            "name": department.name,
            "unit_type": department.unit_type,
            "patients_per_nurse": department.patients_per_nurse,
            "min_nurses": department.min_nurses,
            "timezone": department.timezone,
        },
        "actual": actual,
        "forecast": {**forecast_info, "points": future_points} if forecast_info else None,
        "plan": {
            "optimization_id": str(plan.id) if plan else None,
            "planned_from": iso_utc(plan.planned_from) if plan else None,
            "in_force_from": iso_utc(plan.in_force_from) if plan else None,
            "hours": [
                {"hour": iso_utc(hour), "planned_nurses": nurses}
                for hour, nurses in sorted(on_duty.items())
                if hour >= first
            ],
        }
        if on_duty
        else None,
        "staffing": staffing,
        "verdict": state.verdict(department.timezone),
        "alerts": [alert_payload(alert) for alert in Alert.objects.filter(department=department).open()[:MAX_ALERTS]],
        "tiles": {
            "census_now": census_now,
            "nurses_required_now": staffing["required_now"],
            "staff_on_duty": staffing["on_duty"],
            "patients_per_nurse_now": round(census_now / state.on_duty, 2)
            if state.on_duty and census_now is not None
            else None,
            **compliance_recent(department, now=now, planned=on_duty),
            "next_hour_at_risk": staffing["next_hour_at_risk"],
        },
    }


# The named panel lists this many nurses to call, and to send home.
NAMED_SHOWN = 5


def named_staff_now(department: Department, *, now: datetime) -> dict:
    """The department page's named panel: who is on duty this hour, whom to call in (ranked, for the
    default call-in from the on-call lead time), whom to send home (ranked), and today's call-in offers.

    The decision (how many to call or send home) is the staffing state's, as everywhere else.
    """
    hour = now.replace(minute=0, second=0, microsecond=0)
    state = staffing_state(department, now=hour)
    starts_at, ends_at = call_in_hours(department, now=now)
    choice = call_in_candidates(department, starts_at=starts_at, ends_at=ends_at, now=now)
    on_duty = on_duty_at(department, hour=hour)
    offers = (
        CallInOffer.objects.filter(department=department)
        .filter(Q(offered_at__gte=now - timedelta(hours=24)) | Q(status=OfferStatus.OFFERED, starts_at__gt=now))
        .select_related("nurse", "offered_by")
        .order_by("-offered_at")
    )
    open_offers = {offer.nurse_id for offer in offers if offer.status == OfferStatus.OFFERED}
    return {
        "on_duty": on_duty,
        "decision": state.decision,
        "call_in": choice,
        "call_in_shown": choice.legal[:NAMED_SHOWN],
        "call_in_hidden": len(choice.legal) - min(len(choice.legal), NAMED_SHOWN),
        "not_legal": [candidate for candidate in choice.ranked if not candidate.legal],
        "release": release_candidates(department, hour=hour, now=now, on_duty=on_duty)[:NAMED_SHOWN],
        "offers": offers,
        "open_offers": open_offers,
    }


def duty_changes_today(department: Department, *, now: datetime):
    """Call-ins, releases and absences running since the department's local midnight, with who recorded them."""
    midnight = now.astimezone(ZoneInfo(department.timezone)).replace(hour=0, minute=0, second=0, microsecond=0)
    return (
        DutyChange.objects.filter(department=department, ends_at__gt=midnight)
        .select_related("recorded_by", "cancelled_by", "nurse")
        .order_by("starts_at", "id")
    )
