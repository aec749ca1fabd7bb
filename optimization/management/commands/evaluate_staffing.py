import json

from django.core.management.base import BaseCommand, CommandError

from healthcare.encounters.management.arguments import department_by_code, parse_moment
from healthcare.hours import epoch_hour, hour_start
from optimization.evaluation import DepartmentData, staffing_evaluation
from optimization.policies import staffing_rules_for
from predictions.census import StayModel
from predictions.features import Calendar
from predictions.ml import forecaster_train
from predictions.selectors import department_history


class Command(BaseCommand):
    help = (
        "Judge the staffing policies (oracle, clairvoyant bound, static, quantile, rule, ppo) on the whole weeks "
        "from --start to --end. The forecaster, the baselines and the policy are trained and tuned only on data "
        "before --train-until; each week is replayed with the real arrivals and --seeds length-of-stay draws."
    )

    def add_arguments(self, parser):
        parser.add_argument("--department", required=True)
        parser.add_argument("--train-until", required=True)
        parser.add_argument("--start", required=True)
        parser.add_argument("--end", required=True)
        parser.add_argument("--seeds", type=int, default=3, help="Length-of-stay draws per week")
        parser.add_argument("--timesteps", type=int, default=200_000, help="PPO training steps")
        parser.add_argument("--format", choices=["json", "table"], default="json")

    def handle(self, *args, **options):
        department = department_by_code(options["department"])
        zone = department.timezone
        train_until = epoch_hour(parse_moment(options["train_until"], zone, "--train-until"))
        start = epoch_hour(parse_moment(options["start"], zone, "--start"))
        end = epoch_hour(parse_moment(options["end"], zone, "--end"))
        if start < train_until:
            raise CommandError("--start must not be before --train-until")
        if end <= start:
            raise CommandError("--end must be after --start")
        if not 1 <= options["seeds"] <= 20:
            raise CommandError("--seeds must be 1-20")
        history = department_history(department, until=hour_start(end + 24))
        if history is None:
            raise CommandError(f"{department.code} has no workload data")
        calendar = Calendar.build(
            history.first_hour,
            end + 400 - history.first_hour,
            timezone=zone,
            holiday_country=department.holiday_country,
        )
        quiet = options["format"] == "json"

        def progress(message: str) -> None:
            self.stderr.write(message) if quiet else self.stdout.write(message)

        try:
            forecaster = forecaster_train(history, calendar, until=train_until)
            unit = DepartmentData(
                rules=staffing_rules_for(department),
                history=history,
                calendar=calendar,
                stays=StayModel(department.los_median_hours, department.los_sigma),
                timezone=zone,
            )
            report = staffing_evaluation(
                unit,
                forecaster=forecaster,
                train_until=train_until,
                start=start,
                end=end,
                seeds=options["seeds"],
                timesteps=options["timesteps"],
                progress=progress,
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if quiet:
            self.stdout.write(json.dumps(report, indent=2))
            return
        self.stdout.write(f"{'policy':<12} {'cost/oracle':>11} {'compliance':>11} {'under h/wk':>10} {'calls/wk':>9}")
        for name, row in report["policies"].items():
            compliance = _format(row.get("compliance"), ".4%")
            understaffed = _format(row.get("understaffed_hours_per_week"), ".1f")
            callins = _format(row.get("callins_per_week"), ".1f")
            self.stdout.write(f"{name:<12} {row['cost_ratio']:>11.3f} {compliance:>11} {understaffed:>10} {callins:>9}")
        difference = report["ppo_vs_rule"]
        low, high = difference["ci95"]
        self.stdout.write(f"PPO vs rule: {difference['diff']:+.2%} (95% CI {low:+.2%} to {high:+.2%})")


def _format(value, spec: str) -> str:
    return "-" if value is None else format(value, spec)
