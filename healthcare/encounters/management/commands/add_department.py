from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from healthcare.encounters.choices import UnitType
from healthcare.encounters.services import department_create


class Command(BaseCommand):
    help = "Create a department with the defaults of its unit type (ratio, minimum nurses, length of stay)."

    def add_arguments(self, parser):
        parser.add_argument("code", help="Short unique code, e.g. ED, ICU, MEDSURG-4")
        parser.add_argument("--name", required=True)
        parser.add_argument("--unit-type", required=True, choices=UnitType.values)
        parser.add_argument("--patients-per-nurse", type=int, help="Ratio 1:N (default: the unit type's)")
        parser.add_argument("--min-nurses", type=int)
        parser.add_argument("--los-median-hours", type=float, help="Median length of stay, hours")
        parser.add_argument("--los-sigma", type=float, help="Spread of the lognormal length of stay")
        parser.add_argument("--timezone", help="IANA zone (default: HOSPITAL_TIME_ZONE)")

    def handle(self, *args, **options):
        try:
            department = department_create(
                code=options["code"],
                name=options["name"],
                unit_type=options["unit_type"],
                patients_per_nurse=options["patients_per_nurse"],
                min_nurses=options["min_nurses"],
                los_median_hours=options["los_median_hours"],
                los_sigma=options["los_sigma"],
                timezone=options["timezone"],
            )
        except ValidationError as exc:
            problems = "; ".join(f"{field}: {' '.join(messages)}" for field, messages in exc.message_dict.items())
            raise CommandError(f"Department not created. {problems}") from None
        self.stdout.write(
            self.style.SUCCESS(f"Created {department.code} ({department.name}), {department.get_unit_type_display()}")
        )
        self.stdout.write(
            f"  ratio 1:{department.patients_per_nurse}, at least {department.min_nurses} nurses, "
            f"length of stay median {department.los_median_hours:g} h (sigma {department.los_sigma:g}), "
            f"time zone {department.timezone}"
        )
