from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from healthcare.encounters import services
from healthcare.encounters.ingest.arrivals import parse_arrivals_csv
from healthcare.encounters.ingest.fhir import fhir_files, parse_fhir_file
from healthcare.encounters.ingest.mapping import MappingError, load_mapping
from healthcare.encounters.ingest.records import ParseResult
from healthcare.encounters.ingest.synthea import parse_synthea_csv
from healthcare.encounters.models import Department

FORMATS = ("synthea-csv", "fhir", "arrivals-csv")
ERRORS_SHOWN = 50


class Command(BaseCommand):
    help = (
        "Import patient flow: synthea-csv (encounters.csv), fhir (Bundles, Encounters, NDJSON; files or "
        "folders) or arrivals-csv (hourly counts: timestamp,arrivals; needs --department). All or nothing: "
        "one bad record and nothing is stored, unless --skip-invalid. Importing the same data again changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("format", choices=FORMATS)
        parser.add_argument("paths", nargs="+", type=Path)
        parser.add_argument("--department", help="Department code (arrivals-csv)")
        parser.add_argument("--source", help="Name of the sending system (default: the format name)")
        parser.add_argument("--mapping", help="JSON file mapping encounter classes to departments")
        parser.add_argument("--timezone", help="Zone of timestamps without an offset")
        parser.add_argument("--skip-invalid", action="store_true", help="Import the valid records, list the rest")

    def handle(self, *args, **options):
        fmt = options["format"]
        for path in options["paths"]:
            if not path.exists():
                raise CommandError(f"{path}: no such file or folder")
        summary = self._ingest_arrivals(options) if fmt == "arrivals-csv" else self._ingest_encounters(fmt, options)
        self._report(summary, options)

    def _progress(self, message: str) -> None:
        self.stdout.write(f"  ... {message}")
        self.stdout.flush()

    def _timezone(self, name: str) -> ZoneInfo:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise CommandError(f"--timezone: '{name}' is not an IANA time zone") from None

    def _check(self, parsed: ParseResult, options) -> None:
        """Stop before any write if a record is invalid (unless --skip-invalid)."""
        if parsed.errors and not options["skip_invalid"]:
            self._fail(parsed.errors)

    def _fail(self, errors) -> None:
        for error in errors[:ERRORS_SHOWN]:
            self.stderr.write(f"  {error}")
        if len(errors) > ERRORS_SHOWN:
            self.stderr.write(f"  ... and {len(errors) - ERRORS_SHOWN} more")
        raise CommandError(
            f"{len(errors)} invalid record(s); nothing was imported. Fix them, or use --skip-invalid "
            "to import the valid records."
        )

    def _ingest_encounters(self, fmt: str, options) -> services.IngestSummary:
        try:
            mapping = load_mapping(options["mapping"] or settings.INGEST_CLASS_MAPPING_FILE)
        except MappingError as exc:
            raise CommandError(str(exc)) from None
        default_tz = self._timezone(options["timezone"] or settings.HOSPITAL_TIME_ZONE)
        parsed: ParseResult = ParseResult()
        if fmt == "synthea-csv":
            for path in options["paths"]:
                parsed.extend(parse_synthea_csv(path, mapping=mapping, default_tz=default_tz, progress=self._progress))
        else:
            files = fhir_files(options["paths"])
            if not files:
                raise CommandError("no .json or .ndjson files found")
            for number, path in enumerate(files, start=1):
                parsed.extend(parse_fhir_file(path, mapping=mapping, default_tz=default_tz))
                if number % 100 == 0:
                    self._progress(f"read {number:,}/{len(files):,} files")
        self._check(parsed, options)
        summary = services.IngestSummary(
            skipped=list(parsed.errors),
            out_of_scope=parsed.out_of_scope,
            other_resources=parsed.other_resources,
            notes=list(parsed.notes),
        )
        try:
            return services.encounters_ingest(
                records=parsed.records,
                source=options["source"] or fmt,
                mapping=mapping,
                skip_invalid=options["skip_invalid"],
                summary=summary,
                progress=self._progress,
            )
        except services.IngestError as exc:
            self._fail(exc.errors)

    def _ingest_arrivals(self, options) -> services.IngestSummary:
        if not options["department"]:
            raise CommandError("arrivals-csv needs --department CODE")
        department = Department.objects.filter(code=options["department"].upper()).first()
        if department is None:
            raise CommandError(f"unknown department '{options['department']}'; create it first with add_department")
        default_tz = self._timezone(options["timezone"] or department.timezone)
        parsed_files = [(path, parse_arrivals_csv(path, default_tz=default_tz)) for path in options["paths"]]
        self._check(ParseResult(errors=[e for _, parsed in parsed_files for e in parsed.errors]), options)
        summary = services.IngestSummary()
        # All files or none: a later file's failure must not leave an earlier one stored.
        with transaction.atomic():
            for path, parsed in parsed_files:
                summary.skipped.extend(parsed.errors)
                summary.notes.extend(parsed.notes)
                services.arrivals_ingest(
                    department=department, records=parsed.records, source=path.name, summary=summary
                )
        return summary

    def _report(self, summary: services.IngestSummary, options) -> None:
        unit = "hours" if options["format"] == "arrivals-csv" else "encounters"
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {options['format']}: {summary.created:,} {unit} created, {summary.updated:,} updated, "
                f"{summary.unchanged:,} unchanged, {len(summary.skipped):,} skipped"
            )
        )
        if summary.out_of_scope:
            classes = ", ".join(f"{name} {count:,}" for name, count in summary.out_of_scope.most_common())
            self.stdout.write(f"  out of scope (classes the mapping leaves out): {classes}")
        if summary.other_resources:
            kinds = ", ".join(f"{name} {count:,}" for name, count in summary.other_resources.most_common())
            self.stdout.write(f"  other resources ignored: {kinds}")
        for code in summary.departments_created:
            self.stdout.write(f"  created department {code} with its unit type's defaults (review it in the admin)")
        self.stdout.write(
            f"  hourly workload: {summary.workload.written:,} hours written, {summary.workload.deleted:,} removed"
        )
        for note in summary.notes:
            self.stdout.write(f"  note: {note}")
        if summary.skipped:
            self.stdout.write(self.style.WARNING(f"  skipped {len(summary.skipped):,} invalid record(s):"))
            for error in summary.skipped[:ERRORS_SHOWN]:
                self.stdout.write(f"    {error}")
            if len(summary.skipped) > ERRORS_SHOWN:
                self.stdout.write(f"    ... and {len(summary.skipped) - ERRORS_SHOWN} more")
