from django.core.management.base import BaseCommand, CommandError

from healthcare.encounters.management.arguments import department_by_code, parse_moment
from optimization.services import PlanUnavailable, staffing_policy_train


class Command(BaseCommand):
    help = (
        "Tune the reactive rule and train the PPO real-time policy on a department's weeks before --until; "
        "store the one that does better on held-out weeks as the active policy version."
    )

    def add_arguments(self, parser):
        parser.add_argument("--department", required=True)
        parser.add_argument("--until", help="Use weeks before this moment (ISO 8601; default: now)")
        parser.add_argument("--timesteps", type=int, default=200_000, help="PPO training steps (hours simulated)")

    def handle(self, *args, **options):
        department = department_by_code(options["department"])
        until = parse_moment(options["until"], department.timezone, "--until") if options["until"] else None
        if options["timesteps"] < 1000:
            raise CommandError("--timesteps must be at least 1000")

        def progress(message: str) -> None:
            self.stdout.write(message)
            self.stdout.flush()

        try:
            policy = staffing_policy_train(
                department=department, until=until, timesteps=options["timesteps"], progress=progress
            )
        except PlanUnavailable as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(self.style.SUCCESS(f"{department.code} policy v{policy.version}: {policy.algorithm}, active"))
