from django.core.management.base import BaseCommand, CommandError

from healthcare.encounters.models import Department
from healthcare.encounters.services import department_workload_rebuild


class Command(BaseCommand):
    help = "Recompute the hourly workload of departments from their encounters and counts."

    def add_arguments(self, parser):
        parser.add_argument("codes", nargs="*", help="Department codes (default: every department)")

    def handle(self, *args, **options):
        codes = [code.upper() for code in options["codes"]]
        departments = Department.objects.order_by("code")
        if codes:
            departments = departments.filter(code__in=codes)
            unknown = set(codes) - set(departments.values_list("code", flat=True))
            if unknown:
                raise CommandError(f"unknown department(s): {', '.join(sorted(unknown))}")
        for department_id, code in departments.values_list("id", "code"):
            change = department_workload_rebuild(department_id=department_id)
            if change is not None:
                self.stdout.write(f"{code}: {change.written:,} hours written, {change.deleted:,} removed")
