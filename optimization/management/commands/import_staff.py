from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from optimization.services.staff import nurses_import, requests_import

ERRORS_SHOWN = 50


class Command(BaseCommand):
    help = (
        "Import nurses or their shift requests from a CSV file exported by a workforce system. Every line is "
        "checked first; on any error nothing is imported. A second import of the same file updates in place."
    )

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=["nurses", "requests"])
        parser.add_argument("path", help="The CSV file (columns: see docs/rostering.md)")

    def handle(self, *args, **options):
        path = Path(options["path"])
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        result = nurses_import(path=path) if options["kind"] == "nurses" else requests_import(path=path)
        if result.errors:
            for error in result.errors[:ERRORS_SHOWN]:
                self.stderr.write(f"  {error}")
            if len(result.errors) > ERRORS_SHOWN:
                self.stderr.write(f"  ... and {len(result.errors) - ERRORS_SHOWN} more")
            raise CommandError(f"{len(result.errors)} invalid line(s) in {path.name}; nothing was imported.")
        self.stdout.write(f"{options['kind']}: {result.created} created, {result.updated} updated")
