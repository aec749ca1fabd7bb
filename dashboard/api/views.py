"""The dashboard's REST read: what a department page draws, for the page and for integrators."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from dashboard.selectors import department_snapshot
from healthcare.encounters.api.permissions import ModelPermissions
from healthcare.encounters.models import Department
from healthcare.encounters.selectors import departments_visible_to


class DepartmentSnapshotView(APIView):
    """The dashboard's view of the department now: last 48 h, next 72 h, tiles, and the live feed's seq."""

    queryset = Department.objects.none()  # the model of the permissions; the row: departments_visible_to
    permission_classes = [ModelPermissions]

    @extend_schema(responses={200: dict}, operation_id="departments_snapshot_retrieve")
    def get(self, request, code: str):
        department = get_object_or_404(departments_visible_to(request.user), code=code)
        return Response(department_snapshot(department))
