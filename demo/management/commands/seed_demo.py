import os
from datetime import UTC, datetime

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from demo.seeding import DEMO_NURSE_ACCOUNTS, demo_hospital_seed, demo_planning_seed, demo_users_ensure
from demo.staff import demo_nurse_accounts_link

# Documented in the README; only ever accepted with DEBUG on.
DEFAULT_DEMO_PASSWORD = "ward-demo-2026"


class Command(BaseCommand):
    help = (
        "Seed the demo hospital (ED, ICU, MEDSURG with a year or more of synthetic patient flow) and the demo "
        "users admin, integrator, ed_staff, icu_staff, ed_nurse, icu_nurse with the password from DEMO_PASSWORD."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=400, help="Days of history (default 400)")
        parser.add_argument("--seed", type=int, default=2026, help="Random seed (same seed, same hospital)")
        parser.add_argument("--end", help="When history ends, ISO 8601 (default: now, on the hour)")
        parser.add_argument("--reset", action="store_true", help="Replace existing demo patient flow")
        parser.add_argument(
            "--plan-days",
            type=int,
            default=7,
            help="Days of past forecasts and plans to make, for the staff pages (default 7; 0 for none)",
        )

    def handle(self, *args, **options):
        password = self._password()
        if options["days"] < 1:
            raise CommandError("--days must be at least 1")
        end = self._end(options["end"])
        summary = demo_hospital_seed(
            days=options["days"],
            seed=options["seed"],
            end=end,
            reset=options["reset"],
            progress=lambda message: self.stdout.write(f"  ... {message}"),
        )
        if summary is None:
            self.stdout.write("Demo patient flow already present (use --reset to regenerate it).")
        else:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Demo hospital seeded: {summary.created:,} encounters, "
                    f"{summary.workload.written:,} workload hours, up to {end:%Y-%m-%d %H:00} UTC"
                )
            )
        if options["plan_days"] > 0:
            demo_planning_seed(
                end=end,
                days=options["plan_days"],
                seed=options["seed"],
                progress=lambda message: self.stdout.write(f"  ... {message}"),
            )
        for username, role, departments in demo_users_ensure(password=password):
            self.stdout.write(f"  user {username:<11} role {role:<10} departments {', '.join(departments)}")
        for line in demo_nurse_accounts_link(accounts=DEMO_NURSE_ACCOUNTS, end=end):
            self.stdout.write(f"  {line}")

    def _password(self) -> str:
        password = os.environ.get("DEMO_PASSWORD", "")
        if password:
            return password
        if not settings.DEBUG:
            raise CommandError("Set DEMO_PASSWORD: the documented demo password is refused with DEBUG off.")
        return DEFAULT_DEMO_PASSWORD

    def _end(self, text: str | None) -> datetime:
        if not text:
            return datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        try:
            end = datetime.fromisoformat(text)
        except ValueError:
            raise CommandError(f"--end: '{text}' is not an ISO 8601 date-time") from None
        if end.tzinfo is None:
            end = end.replace(tzinfo=UTC)
        return end.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
