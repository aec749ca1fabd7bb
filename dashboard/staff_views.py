"""Pages of named staff: the roster grid, whom to call and whom to send home, and a nurse's own page.

Scoped like the other pages: a department, roster or offer the user may not see is a 404. A nurse's
own page reads only her own shifts, requests and offers, through her account's nurse.
"""

import csv
from datetime import timedelta
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from dashboard.forms_staff import OwnRequestForm, RosterRequestForm, SickCallForm
from dashboard.selectors import named_staff_now
from dashboard.views import department_or_404
from healthcare.encounters.selectors import departments_visible_to
from optimization.calendar_feed import nurse_calendar
from optimization.call_in_candidates import shifts_in_force
from optimization.models import (
    CallInOffer,
    DutyChange,
    DutyChangeKind,
    NamedRoster,
    Nurse,
    OfferStatus,
    ReleaseVolunteer,
    RunStatus,
    ShiftRequest,
)
from optimization.policies import staffing_rules_for
from optimization.roster_grid import roster_grid
from optimization.services.call_ins import (
    call_in_offer,
    call_in_offer_answer,
    call_in_offer_withdraw,
    nurse_release,
    release_volunteer,
)
from optimization.services.rosters import (
    named_roster_in_force,
    named_roster_put_in_force,
    named_roster_request,
    sick_call_record,
)
from optimization.ward_shifts import shift_codes

PLAN_ROSTERS = "optimization.add_namedroster"
PUT_IN_FORCE = "optimization.change_namedroster"
OFFER_CALL_INS = "optimization.add_callinoffer"
MY_SHIFT_DAYS = 28


def _problems(exc: ValidationError) -> str:
    return "; ".join(exc.messages)


# --- The roster grid ------------------------------------------------------------------------------


@login_required
def department_roster(request: HttpRequest, code: str) -> HttpResponse:
    """The roster of named nurses in force today, the forms to solve a new one or report a sick call,
    and the department's recent rosters."""
    department, visible = department_or_404(request, code)
    today = timezone.now().astimezone(ZoneInfo(department.timezone)).date()
    may_plan = request.user.has_perm(PLAN_ROSTERS)
    form = RosterRequestForm(request.POST or None)
    if request.method == "POST":
        if not may_plan:
            raise PermissionDenied
        if form.is_valid():
            try:
                with transaction.atomic():
                    roster = named_roster_request(department=department, requested_by=request.user, **form.cleaned_data)
            except ValidationError as exc:
                messages.error(request, f"No roster requested: {_problems(exc)}")
            else:
                return redirect("dashboard:roster", roster_id=roster.id)
    in_force = named_roster_in_force(department, on=today)
    return render(
        request,
        "dashboard/roster.html",
        {
            "department": department,
            "departments": visible,
            "tab": "roster",
            "roster": in_force,
            "grid": roster_grid(in_force) if in_force else None,
            "today": today,
            "form": form,
            "sick_form": SickCallForm(department=department, initial={"first_day": today, "last_day": today}),
            "may_plan": may_plan,
            "recent": NamedRoster.objects.filter(department=department).select_related("requested_by")[:20],
        },
    )


@login_required
def roster_detail(request: HttpRequest, roster_id) -> HttpResponse:
    """One roster: its progress while it is solved, then its grid, figures and the put-in-force button."""
    visible = departments_visible_to(request.user).order_by("code")
    roster = get_object_or_404(
        NamedRoster.objects.select_related("department", "requested_by", "put_in_force_by", "repair_of"),
        id=roster_id,
        department__in=visible,
    )
    department = roster.department
    return render(
        request,
        "dashboard/roster.html",
        {
            "department": department,
            "departments": visible,
            "tab": "roster",
            "roster": roster,
            "grid": roster_grid(roster) if roster.status == RunStatus.SUCCEEDED else None,
            "today": timezone.now().astimezone(ZoneInfo(department.timezone)).date(),
            "detail": True,
            "may_put_in_force": request.user.has_perm(PUT_IN_FORCE) and roster.in_force_from is None,
        },
    )


@login_required
@require_POST
def roster_put_in_force_view(request: HttpRequest, roster_id) -> HttpResponse:
    visible = departments_visible_to(request.user)
    roster = get_object_or_404(NamedRoster, id=roster_id, department__in=visible)
    if not request.user.has_perm(PUT_IN_FORCE):
        raise PermissionDenied
    try:
        roster = named_roster_put_in_force(roster=roster, by=request.user)
    except ValidationError as exc:
        messages.error(request, f"Not put in force: {_problems(exc)}")
    else:
        local = roster.in_force_from.astimezone(ZoneInfo(roster.department.timezone))
        messages.success(request, f"In force from {local:%a %d %b %H:%M}: who is on duty reads this roster.")
    return redirect("dashboard:roster", roster_id=roster.id)


@login_required
@require_GET
def roster_csv(request: HttpRequest, roster_id) -> HttpResponse:
    """The roster as CSV: one row per shift worked, with local start and end times."""
    visible = departments_visible_to(request.user)
    roster = get_object_or_404(NamedRoster.objects.select_related("department"), id=roster_id, department__in=visible)
    zone = ZoneInfo(roster.department.timezone)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="roster-{roster.department.code}-{roster.first_day:%Y-%m-%d}.csv"'
    )
    writer = csv.writer(response)
    writer.writerow(["employee_number", "display_name", "day", "shift", "starts", "ends"])
    for shift in roster.shifts.select_related("nurse").order_by("day", "shift", "nurse__display_name"):
        writer.writerow(
            [
                shift.nurse.employee_number,
                shift.nurse.display_name,
                shift.day.isoformat(),
                shift.shift,
                shift.starts_at.astimezone(zone).isoformat(timespec="minutes"),
                shift.ends_at.astimezone(zone).isoformat(timespec="minutes"),
            ]
        )
    return response


@login_required
@require_POST
def sick_call_view(request: HttpRequest, code: str) -> HttpResponse:
    """A nurse called in sick: record her leave and queue a repair of the roster in force."""
    department, _ = department_or_404(request, code)
    if not request.user.has_perm(PLAN_ROSTERS):
        raise PermissionDenied
    form = SickCallForm(request.POST, department=department)
    if not form.is_valid():
        problems = "; ".join(f"{field}: {' '.join(errors)}" for field, errors in form.errors.items())
        messages.error(request, f"Nothing was recorded: {problems}")
        return redirect("dashboard:department-roster", code=department.code)
    try:
        repair = sick_call_record(by=request.user, **form.cleaned_data)
    except ValidationError as exc:
        messages.error(request, f"Nothing was recorded: {_problems(exc)}")
        return redirect("dashboard:department-roster", code=department.code)
    messages.success(
        request, f"Recorded: {repair.note}. The repaired roster below changes as few shifts as it can; put it in force."
    )
    return redirect("dashboard:roster", roster_id=repair.id)


# --- Whom to call, whom to send home ----------------------------------------------------------------


@login_required
@require_GET
def named_staff_panel(request: HttpRequest, code: str) -> HttpResponse:
    """The department page's named panel alone (who is on duty, whom to call, whom to send home, offers),
    which the page reloads when the live feed says something changed."""
    department, _ = department_or_404(request, code)
    return render(request, "dashboard/_named_staff.html", _named_staff_context(request, department))


def _posted_nurse(request: HttpRequest) -> Nurse | None:
    nurse_id = str(request.POST.get("nurse", ""))
    return Nurse.objects.filter(pk=int(nurse_id)).first() if nurse_id.isdigit() and len(nurse_id) < 10 else None


def _named_staff_context(request: HttpRequest, department) -> dict:
    return {
        "department": department,
        "named": named_staff_now(department, now=timezone.now()),
        "may_offer": request.user.has_perm(OFFER_CALL_INS),
        "may_record": request.user.has_perm("optimization.add_dutychange"),
    }


@login_required
@require_POST
def call_in_offer_view(request: HttpRequest, code: str) -> HttpResponse:
    """Offer the default call-in (from the on-call lead time, for the block) to a named nurse."""
    department, _ = department_or_404(request, code)
    if not request.user.has_perm(OFFER_CALL_INS):
        raise PermissionDenied
    nurse = _posted_nurse(request)
    if nurse is None:
        messages.error(request, "Nothing was offered: choose a nurse.")
        return redirect("dashboard:department", code=department.code)
    try:
        offer = call_in_offer(department=department, nurse=nurse, by=request.user)
    except ValidationError as exc:
        messages.error(request, f"Nothing was offered: {_problems(exc)}")
    else:
        zone = ZoneInfo(department.timezone)
        messages.success(
            request,
            f"Offered to {nurse.display_name}: {offer.starts_at.astimezone(zone):%H:%M} to"
            f" {offer.ends_at.astimezone(zone):%H:%M} ({offer.pay}). She answers on her page.",
        )
    return redirect("dashboard:department", code=department.code)


@login_required
@require_POST
def call_in_withdraw_view(request: HttpRequest, offer_id: int) -> HttpResponse:
    visible = departments_visible_to(request.user)
    offer = get_object_or_404(CallInOffer.objects.select_related("department"), id=offer_id, department__in=visible)
    if not request.user.has_perm(OFFER_CALL_INS):
        raise PermissionDenied
    call_in_offer_withdraw(offer=offer, by=request.user)
    messages.success(request, "Offer withdrawn.")
    return redirect("dashboard:department", code=offer.department.code)


@login_required
@require_POST
def nurse_release_view(request: HttpRequest, code: str) -> HttpResponse:
    """Send a named nurse on duty home until her shift ends."""
    department, _ = department_or_404(request, code)
    if not request.user.has_perm("optimization.add_dutychange"):
        raise PermissionDenied
    nurse = _posted_nurse(request)
    if nurse is None:
        messages.error(request, "Nobody was sent home: choose a nurse.")
        return redirect("dashboard:department", code=department.code)
    try:
        change = nurse_release(department=department, nurse=nurse, by=request.user)
    except ValidationError as exc:
        messages.error(request, f"Nobody was sent home: {_problems(exc)}")
    else:
        zone = ZoneInfo(department.timezone)
        messages.success(
            request, f"{nurse.display_name} goes home; off duty until {change.ends_at.astimezone(zone):%H:%M}."
        )
    return redirect("dashboard:department", code=department.code)


# --- A nurse's own page -------------------------------------------------------------------------


def _own_nurse(request: HttpRequest) -> Nurse:
    nurse = Nurse.objects.select_related("home_department", "contract").filter(user=request.user).first()
    if nurse is None:
        raise Http404("no nurse is linked to this account")
    return nurse


@login_required
def my_page(request: HttpRequest) -> HttpResponse:
    """A nurse's own page: the call-ins offered to her, her shifts, the open shifts of her unit, her requests."""
    nurse = _own_nurse(request)
    department = nurse.home_department
    zone = ZoneInfo(department.timezone)
    now = timezone.now()
    today = now.astimezone(zone).date()
    codes = list(shift_codes(staffing_rules_for(department).shifts))
    form = OwnRequestForm(request.POST or None, codes=codes, initial={"day": today + timedelta(days=7)})
    if request.method == "POST" and form.is_valid():
        ShiftRequest.objects.update_or_create(
            nurse=nurse,
            day=form.cleaned_data["day"],
            shift=form.cleaned_data["shift"],
            defaults={"wanted": form.cleaned_data["wanted"], "weight": form.cleaned_data["weight"]},
        )
        messages.success(request, "Request saved: the next roster weighs it.")
        return redirect("dashboard:me")
    shifts = shifts_in_force([nurse.id], first=now - timedelta(hours=16), last=now + timedelta(days=MY_SHIFT_DAYS))
    calls = DutyChange.objects.filter(
        nurse=nurse, kind=DutyChangeKind.CALL_IN, cancelled_at__isnull=True, ends_at__gt=now
    ).select_related("department")
    roster = named_roster_in_force(department, on=today)
    open_shifts = []
    if roster is not None:
        grid = roster_grid(roster)
        for code in grid.codes:
            for day, cell in zip(grid.days, grid.cover.get(code, []), strict=True):
                if day >= today and cell.short:
                    open_shifts.append({"day": day, "shift": code, "short": cell.short})
    return render(
        request,
        "dashboard/me.html",
        {
            "nurse": nurse,
            "department": department,
            "offers": CallInOffer.objects.filter(nurse=nurse, status=OfferStatus.OFFERED, starts_at__gt=now).order_by(
                "starts_at"
            ),
            "answered": CallInOffer.objects.filter(nurse=nurse).exclude(status=OfferStatus.OFFERED)[:5],
            "duties": _duties(shifts.get(nurse.id, []), calls, zone),
            "open_shifts": open_shifts[:14],
            "requests": ShiftRequest.objects.filter(nurse=nurse, day__gte=today).order_by("day", "shift"),
            "volunteered": set(
                ReleaseVolunteer.objects.filter(nurse=nurse, day__gte=today).values_list("day", flat=True)
            ),
            "form": form,
            "today": today,
            "calendar_url": request.build_absolute_uri(
                reverse("dashboard:calendar", kwargs={"token": nurse.calendar_token})
            ),
        },
    )


def _duties(shifts, calls, zone: ZoneInfo) -> list[dict]:
    """Her shifts in force and accepted call-ins, in the order she works them."""
    duties = [
        {
            "day": shift.day,
            "shift": shift.shift,
            "starts_at": shift.starts_at,
            "ends_at": shift.ends_at,
            "department": shift.roster.department.code,
        }
        for shift in shifts
    ]
    duties += [
        {
            "day": call.starts_at.astimezone(zone).date(),
            "shift": None,
            "starts_at": call.starts_at,
            "ends_at": call.ends_at,
            "department": call.department.code,
        }
        for call in calls
    ]
    return sorted(duties, key=lambda duty: duty["starts_at"])


@login_required
@require_POST
def my_offer_answer(request: HttpRequest, offer_id: int) -> HttpResponse:
    """The nurse accepts or declines a call-in offered to her."""
    nurse = _own_nurse(request)
    offer = get_object_or_404(CallInOffer, id=offer_id, nurse=nurse)
    accept = request.POST.get("answer") == "accept"
    try:
        call_in_offer_answer(offer=offer, accept=accept, by=request.user)
    except ValidationError as exc:
        messages.error(request, f"Not recorded: {_problems(exc)}")
    else:
        zone = ZoneInfo(offer.department.timezone)
        if accept:
            messages.success(
                request,
                f"Accepted: you are on duty in {offer.department.code} from {offer.starts_at.astimezone(zone):%a %H:%M}"
                f" to {offer.ends_at.astimezone(zone):%H:%M}. Your charge nurse sees it now.",
            )
        else:
            messages.success(request, "Declined; your charge nurse sees it now.")
    return redirect("dashboard:me")


@login_required
@require_POST
def my_request_delete(request: HttpRequest, request_id: int) -> HttpResponse:
    nurse = _own_nurse(request)
    ShiftRequest.objects.filter(id=request_id, nurse=nurse).delete()
    messages.success(request, "Request removed.")
    return redirect("dashboard:me")


@login_required
@require_POST
def my_volunteer(request: HttpRequest) -> HttpResponse:
    """The nurse offers to go home early today if the unit can spare her (or takes it back)."""
    nurse = _own_nurse(request)
    today = timezone.now().astimezone(ZoneInfo(nurse.home_department.timezone)).date()
    volunteer = request.POST.get("volunteer") == "yes"
    release_volunteer(nurse=nurse, day=today, volunteer=volunteer)
    messages.success(
        request,
        "Noted: you are first to go home today if the unit can spare a nurse."
        if volunteer
        else "Noted: you no longer volunteer to go home early today.",
    )
    return redirect("dashboard:me")


@require_GET
def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    """A nurse's shifts as an iCalendar feed; the secret token in its address is the only key (calendar
    apps cannot sign in), so an unknown token is a 404 like any unknown address."""
    nurse = Nurse.objects.filter(calendar_token=token).select_related("home_department").first() if token else None
    if nurse is None:
        raise Http404("unknown calendar")
    response = HttpResponse(nurse_calendar(nurse, now=timezone.now()), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="shifts-{nurse.employee_number}.ics"'
    return response
