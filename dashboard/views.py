"""Server-rendered pages. The live parts are drawn by static/js from the snapshot API and JSON in the page.

Every page is scoped like the API: a department (or plan, or alert) the user may not see is a 404.
"""

from dataclasses import asdict
from datetime import timedelta
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from dashboard.forms import DepartmentRulesForm, DutyChangeForm, PlanRequestForm, StaffingRulesForm, shifts_format
from dashboard.selectors import duty_changes_today, named_staff_now
from healthcare.encounters.selectors import departments_visible_to, departments_with_latest_workload
from monitoring_app.selectors import alerts_visible_to
from monitoring_app.services import alert_acknowledge
from optimization.models import DutyChangeKind, Nurse, OptimizationRun, RunStatus, StaffingRuleSet
from optimization.on_duty import duty_change_record, plan_put_in_force
from optimization.plan_result import Plan
from optimization.policies import staffing_rules_for
from optimization.selectors import (
    compliance_by_hour_of_day,
    compliance_share,
    staffed_hours,
    staffing_state,
    worst_periods,
)
from optimization.services import optimization_request, staffing_rules_save
from optimization.staffing import nurses
from predictions.models import ForecastModel
from predictions.selectors import forecast_live_accuracy, forecasts_against_actuals

COMPLIANCE_DAYS = (7, 28, 90)
ACCURACY_DAYS = 28
LIVE_CONFIDENCE = 0.9
PAST_FORECAST_DAYS = 7


def department_or_404(request: HttpRequest, code: str):
    visible = departments_visible_to(request.user).order_by("code")
    return get_object_or_404(visible, code=code.upper()), visible


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The user's departments at a glance: safe, short or with a nurse to spare now, and the first
    hour at risk, each in the department's local time; then their latest recorded hour. A nurse who
    sees no department goes to her own page."""
    departments = list(departments_with_latest_workload(request.user))
    if not departments and Nurse.objects.filter(user=request.user).exists():
        return redirect("dashboard:me")
    for department in departments:
        state = staffing_state(department)
        department.staffing = state.as_dict()
        department.verdict = state.verdict(department.timezone)
        department.local_now = f"{timezone.now().astimezone(ZoneInfo(department.timezone)):%a %H:%M}"
    open_alerts = alerts_visible_to(request.user).open().count()
    return render(
        request,
        "dashboard/home.html",
        {"departments": departments, "open_alerts": open_alerts},
    )


@login_required
def department_dashboard(request: HttpRequest, code: str) -> HttpResponse:
    """One department, live: the verdict and what to do, tiles, census and staffing chart, arrivals
    chart, open alerts, and today's recorded call-ins, releases and absences."""
    department, visible = department_or_404(request, code)
    return render(
        request,
        "dashboard/department.html",
        {
            "department": department,
            "departments": visible,
            "tab": "now",
            "duty_form": DutyChangeForm(initial={"kind": DutyChangeKind.CALL_IN}),
            "may_record": request.user.has_perm("optimization.add_dutychange"),
            "may_offer": request.user.has_perm("optimization.add_callinoffer"),
            "named": named_staff_now(department, now=timezone.now()),
            "recorded": duty_changes_today(department, now=timezone.now()),
        },
    )


@login_required
def recorded_today(request: HttpRequest, code: str) -> HttpResponse:
    """The department page's "Recorded today" alone, which the page reloads when the staffing changes."""
    department, _ = department_or_404(request, code)
    return render(
        request,
        "dashboard/_recorded_today.html",
        {"department": department, "recorded": duty_changes_today(department, now=timezone.now())},
    )


@login_required
@require_POST
def duty_change_view(request: HttpRequest, code: str) -> HttpResponse:
    """Record a call-in, a release or an absence from the department page, then back to it.

    Every open page of the department follows within seconds (the alert check pushes the new state).
    """
    department, _ = department_or_404(request, code)
    if not request.user.has_perm("optimization.add_dutychange"):
        raise PermissionDenied
    form = DutyChangeForm(request.POST)
    if not form.is_valid():
        problems = "; ".join(f"{field}: {' '.join(errors)}" for field, errors in form.errors.items())
        messages.error(request, f"Nothing was recorded: {problems}")
        return redirect("dashboard:department", code=department.code)
    data = form.cleaned_data
    arrives_now = data["starts"] == DutyChangeForm.ARRIVES_NOW or data["kind"] != DutyChangeKind.CALL_IN
    try:
        change = duty_change_record(
            department=department,
            kind=data["kind"],
            nurses=data["nurses"],
            # "This hour": the nurse is here now, so the whole hour counts.
            starts_at=timezone.now().replace(minute=0, second=0, microsecond=0) if arrives_now else None,
            note=data["note"],
            by=request.user,
        )
    except ValidationError as exc:
        messages.error(request, f"Nothing was recorded: {'; '.join(exc.messages)}")
    else:
        zone = ZoneInfo(department.timezone)
        messages.success(
            request,
            f"Recorded: {change.get_kind_display().lower()}, {nurses(change.nurses)},"
            f" {change.starts_at.astimezone(zone):%H:00} to {change.ends_at.astimezone(zone):%H:00}.",
        )
    return redirect("dashboard:department", code=department.code)


@login_required
@require_POST
def plan_put_in_force_view(request: HttpRequest, run_id) -> HttpResponse:
    """Put a plan in force from the next shift start (the shift on duty keeps its nurses)."""
    visible = departments_visible_to(request.user)
    run = get_object_or_404(OptimizationRun.objects.select_related("department"), id=run_id, department__in=visible)
    if not request.user.has_perm("optimization.change_optimizationrun"):
        raise PermissionDenied
    try:
        run = plan_put_in_force(run=run, by=request.user)
    except ValidationError as exc:
        messages.error(request, f"Not put in force: {'; '.join(exc.messages)}")
    else:
        local = run.in_force_from.astimezone(ZoneInfo(run.department.timezone))
        messages.success(request, f"In force from {local:%a %H:00}: the roster of the coming shifts is this plan's.")
    return redirect("dashboard:plan", run_id=run.id)


@login_required
def department_plans(request: HttpRequest, code: str) -> HttpResponse:
    """Request a staffing plan (POST) and see the department's past runs."""
    department, visible = department_or_404(request, code)
    may_request = request.user.has_perm("optimization.add_optimizationrun")
    form = PlanRequestForm(request.POST or None)
    if request.method == "POST":
        if not may_request:
            raise PermissionDenied
        if form.is_valid():
            with transaction.atomic():
                run = optimization_request(
                    department=department, params=dict(form.cleaned_data), requested_by=request.user
                )
            return redirect("dashboard:plan", run_id=run.id)
    runs = OptimizationRun.objects.filter(department=department).select_related("requested_by")[:50]
    return render(
        request,
        "dashboard/plans.html",
        {
            "department": department,
            "departments": visible,
            "tab": "plans",
            "form": form,
            "may_request": may_request,
            "runs": runs,
        },
    )


@login_required
def plan_detail(request: HttpRequest, run_id) -> HttpResponse:
    """One plan: its progress while it runs; then the roster, its expected cost against the baselines,
    and once its hours have passed, its cost against the hindsight oracle."""
    visible = departments_visible_to(request.user).order_by("code")
    run = get_object_or_404(
        OptimizationRun.objects.select_related("department", "requested_by", "put_in_force_by"),
        id=run_id,
        department__in=visible,
    )
    result = run.result or {}
    zone = ZoneInfo(run.department.timezone)
    roster, hours, costs = [], [], []
    if run.status == RunStatus.SUCCEEDED:
        plan = Plan.from_json(result)
        roster = [
            {"start": shift.start.astimezone(zone), "end": shift.end.astimezone(zone), "nurses": shift.nurses}
            for shift in plan.roster
        ]
        hours = [{**asdict(hour), "hour": hour.hour.astimezone(zone)} for hour in plan.hours]
        costs = [
            ("This plan (expected)", plan.expected),
            ("Roster for the mean forecast", plan.baselines["static_roster"]),
        ]
    return render(
        request,
        "dashboard/plan.html",
        {
            "department": run.department,
            "departments": visible,
            "tab": "plans",
            "run": run,
            "result": result,
            "costs": costs,
            "review": result.get("review"),
            "roster": roster,
            "hours": hours,
            "may_put_in_force": request.user.has_perm("optimization.change_optimizationrun"),
        },
    )


@login_required
def department_predictions(request: HttpRequest, code: str) -> HttpResponse:
    """The active forecaster, its validation backtest, live accuracy, and last week's forecasts against what came."""
    department, visible = department_or_404(request, code)
    active = ForecastModel.objects.filter(department=department, is_active=True).defer("artifact").first()
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    candidates = []
    if active is not None:
        chosen = active.backtest_metrics.get("chosen")
        for name, scores in active.backtest_metrics.get("candidates", {}).items():
            candidates.append({"name": name, "chosen": name == chosen, **scores})
    return render(
        request,
        "dashboard/predictions.html",
        {
            "department": department,
            "departments": visible,
            "tab": "predictions",
            "active": active,
            "candidates": candidates,
            "skipped": active.backtest_metrics.get("skipped", {}) if active else {},
            "accuracy_days": ACCURACY_DAYS,
            # Interval coverage only means something against one nominal level: the 90% forecasts.
            "live": forecast_live_accuracy(
                department, since=now - timedelta(days=ACCURACY_DAYS), confidence_level=LIVE_CONFIDENCE
            ),
            "past": forecasts_against_actuals(
                department, first=now - timedelta(days=PAST_FORECAST_DAYS), last=now - timedelta(hours=1)
            ),
        },
    )


@login_required
def compliance(request: HttpRequest) -> HttpResponse:
    """Share of patient-hours at the ratio per department and hour of day, and the worst periods."""
    days = request.GET.get("days", "28")
    days = int(days) if days.isdigit() and int(days) in COMPLIANCE_DAYS else 28
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    rows = []
    for department in departments_visible_to(request.user).order_by("code"):
        hours = staffed_hours(department, first=now - timedelta(days=days), last=now - timedelta(hours=1))
        rows.append(
            {
                "department": department,
                "hours_planned": len(hours),
                "compliance": compliance_share(hours),
                "by_hour": compliance_by_hour_of_day(hours, department.timezone),
                "worst": worst_periods(hours, limit=5),
            }
        )
    return render(request, "dashboard/compliance.html", {"rows": rows, "days": days, "day_choices": COMPLIANCE_DAYS})


@login_required
def alerts(request: HttpRequest) -> HttpResponse:
    """Open alerts of the user's departments, then those closed (acknowledged or resolved) in the last 7 days."""
    scoped = alerts_visible_to(request.user)
    week_ago = timezone.now() - timedelta(days=7)
    closed = scoped.filter(Q(acknowledged_at__gte=week_ago) | Q(resolved_at__gte=week_ago))
    return render(
        request,
        "dashboard/alerts.html",
        {
            "open_alerts": scoped.open(),
            "closed": closed.order_by("-last_seen_at")[:50],
            "may_acknowledge": request.user.has_perm("monitoring_app.change_alert"),
        },
    )


@login_required
@require_POST
def alert_acknowledge_view(request: HttpRequest, alert_id: int) -> HttpResponse:
    """Acknowledge one alert of the user's departments (their role must allow it), then back to the list."""
    if not request.user.has_perm("monitoring_app.change_alert"):
        raise PermissionDenied
    alert = get_object_or_404(alerts_visible_to(request.user), id=alert_id)
    alert_acknowledge(alert=alert, user=request.user)
    messages.success(request, f"Acknowledged: {alert.title}")
    return redirect("dashboard:alerts")


# Department rules live on two models: the ratio and minimum on Department, the rest on StaffingRuleSet.
RULES_PERMISSIONS = (
    "encounters.change_department",
    "optimization.add_staffingruleset",
    "optimization.change_staffingruleset",
)


@login_required
@permission_required(RULES_PERMISSIONS, raise_exception=True)
def settings_list(request: HttpRequest) -> HttpResponse:
    """Admins: every department's ratio, minimum and staffing rules."""
    departments = []
    for department in departments_visible_to(request.user).order_by("code"):
        rules = staffing_rules_for(department)
        department.rules = rules
        department.shifts_text = shifts_format([[shift.start_hour, shift.hours] for shift in rules.shifts])
        departments.append(department)
    return render(request, "dashboard/settings.html", {"departments": departments})


@login_required
@permission_required(RULES_PERMISSIONS, raise_exception=True)
def settings_department(request: HttpRequest, code: str) -> HttpResponse:
    """Admins: change one department's ratio, minimum and staffing rules."""
    department, _ = department_or_404(request, code)
    ruleset = StaffingRuleSet.objects.filter(department=department).first() or StaffingRuleSet(department=department)
    department_form = DepartmentRulesForm(request.POST or None, instance=department, prefix="department")
    rules_form = StaffingRulesForm(request.POST or None, instance=ruleset, prefix="rules")
    if request.method == "POST" and department_form.is_valid() and rules_form.is_valid():
        try:
            staffing_rules_save(
                department=department,
                patients_per_nurse=department_form.cleaned_data["patients_per_nurse"],
                min_nurses=department_form.cleaned_data["min_nurses"],
                **rules_form.cleaned_data,
            )
        except ValidationError as exc:
            rules_form.add_error(None, exc)
        else:
            messages.success(request, f"{department.code} rules saved; plans made from now on use them.")
            return redirect("dashboard:settings")
    return render(
        request,
        "dashboard/settings_department.html",
        {"department": department, "department_form": department_form, "rules_form": rules_form},
    )
