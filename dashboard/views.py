"""Server-rendered pages; the live parts are drawn by static/js/dashboard.js from the snapshot API."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from healthcare.encounters.selectors import departments_visible_to, departments_with_latest_workload


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The user's departments with their latest recorded hour and the nurses it required."""
    departments = list(departments_with_latest_workload(request.user))
    for department in departments:
        if department.latest_census is not None:
            department.nurses_required_now = department.nurses_required(department.latest_census)
    return render(request, "dashboard/home.html", {"departments": departments})


@login_required
def department_dashboard(request: HttpRequest, code: str) -> HttpResponse:
    """One department, live: tiles, census and staffing chart, arrivals chart. Others' are 404."""
    visible = departments_visible_to(request.user).order_by("code")
    department = get_object_or_404(visible, code=code.upper())
    return render(request, "dashboard/department.html", {"department": department, "departments": visible})
