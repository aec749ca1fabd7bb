import csv
import json
import math
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from optimization.contracts import roster_check
from optimization.named_roster import (
    RosterInfeasible,
    SolveSettings,
    roster_solve,
    roster_solve_plain,
)
from optimization.roster_instances import InstanceError, instance_read, solution_rows

# Seconds between two progress lines.
PROGRESS_EVERY = 5.0


class Command(BaseCommand):
    help = (
        "Solve a shift-scheduling benchmark instance (schedulingbenchmarks.org format) with the product's roster "
        "engine and print {objective, bound, seconds, feasible}. Feasibility and the objective are judged on the "
        "roster itself, rule by rule, not taken from the solver. --plain solves the same model in one CP-SAT call."
    )

    def add_arguments(self, parser):
        parser.add_argument("instance", help="Path of the instance file, e.g. Instance1.txt")
        parser.add_argument("--seconds", type=float, default=60.0)
        parser.add_argument("--solution", help="Write the roster as CSV rows employee,day,shift (days from 0)")
        parser.add_argument("--format", choices=["json", "text"], default="text")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--workers", type=int, default=2, help="CP-SAT workers (threads)")
        parser.add_argument("--plain", action="store_true", help="The plain CP-SAT model, the yardstick")

    def handle(self, *args, **options):
        if not 0 < options["seconds"] <= 24 * 3600:
            raise CommandError("--seconds must be more than 0 and at most a day")
        if not 1 <= options["workers"] <= 64:
            raise CommandError("--workers must be 1-64")
        path = Path(options["instance"])
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        try:
            problem = instance_read(path)
        except InstanceError as exc:
            raise CommandError(str(exc)) from None
        settings = SolveSettings(seconds=options["seconds"], seed=options["seed"], workers=options["workers"])
        last_line = [0.0]

        def progress(seconds: float, share: float, objective: int | None, bound: float) -> None:
            if seconds - last_line[0] >= PROGRESS_EVERY:
                last_line[0] = seconds
                self.stderr.write(f"{path.name}: {seconds:5.1f} s, best {objective}, bound {bound:.0f}")

        started = time.perf_counter()
        try:
            if options["plain"]:
                solution = roster_solve_plain(problem, settings)
            else:
                solution = roster_solve(problem, settings, progress=progress)
        except RosterInfeasible as exc:
            raise CommandError(f"{path.name}: {exc}") from None
        seconds = round(time.perf_counter() - started, 2)
        check = roster_check(problem, solution.assignment)
        feasible = solution.feasible and check.feasible
        if solution.feasible and check.penalty != solution.objective:
            raise CommandError(f"the solver's objective {solution.objective} differs from the roster's {check.penalty}")
        if options["solution"]:
            with open(options["solution"], "w", newline="", encoding="utf-8") as out:
                writer = csv.writer(out)
                writer.writerow(["employee", "day", "shift"])
                writer.writerows(solution_rows(problem, solution.assignment))
        result = {
            "objective": check.penalty if solution.feasible else None,
            "bound": solution.bound if math.isfinite(solution.bound) else None,
            "seconds": seconds,
            "feasible": feasible,
        }
        if options["format"] == "json":
            self.stdout.write(json.dumps(result))
            return
        if not solution.feasible:
            self.stdout.write(f"{path.name}: no roster found in {seconds} s ({solution.status})")
            return
        verdict = "feasible" if feasible else "BREAKS " + ", ".join(sorted({v.rule for v in check.violations}))
        self.stdout.write(
            f"{path.name}: objective {check.penalty}, bound {solution.bound:.0f} "
            f"(gap {100 * solution.gap:.2f} %), {seconds} s, {solution.status}, {verdict}"
        )
