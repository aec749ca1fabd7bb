from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from healthcare.encounters.models import Department
from healthcare.encounters.services import workload_rebuild


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
        for department in departments:
            with transaction.atomic():
                Department.objects.select_for_update().filter(id=department.id).first()
                change = workload_rebuild(department=department)
            self.stdout.write(f"{department.code}: {change.written:,} hours written, {change.deleted:,} removed")
