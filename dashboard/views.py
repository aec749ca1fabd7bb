"""Server-rendered pages."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from healthcare.encounters.selectors import departments_with_latest_workload


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The user's departments with their latest recorded hour and the nurses it required."""
    departments = list(departments_with_latest_workload(request.user))
    for department in departments:
        if department.latest_census is not None:
            department.nurses_required_now = department.nurses_required(department.latest_census)
    return render(request, "dashboard/home.html", {"departments": departments})
