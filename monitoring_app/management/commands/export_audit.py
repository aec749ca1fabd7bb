import csv
import json
import sys

from django.core.management.base import BaseCommand, CommandError

from healthcare.encounters.management.arguments import parse_moment
from monitoring_app.audit import audit_record
from monitoring_app.models import AuditEvent

FIELDS = ["at", "username", "user_id", "action", "method", "target", "ip", "outcome"]


class Command(BaseCommand):
    help = (
        "Export the audit trail for compliance officers: every event from --since (to --until), oldest first, "
        "as CSV (default) or JSON lines, to --output or standard output. The export itself is audited."
    )

    def add_arguments(self, parser):
        parser.add_argument("--since", required=True, help="From this moment, ISO 8601 (UTC unless an offset is given)")
        parser.add_argument("--until", help="Up to (not including) this moment, ISO 8601")
        parser.add_argument("--format", choices=["csv", "jsonl"], default="csv")
        parser.add_argument("--output", help="File to write (default: standard output)")

    def handle(self, *args, **options):
        since = parse_moment(options["since"], "UTC", "--since")
        until = parse_moment(options["until"], "UTC", "--until") if options["until"] else None
        if until is not None and until <= since:
            raise CommandError("--until must be after --since")
        events = AuditEvent.objects.filter(at__gte=since).order_by("at", "id")
        if until is not None:
            events = events.filter(at__lt=until)
        rows = events.values_list(*FIELDS)
        if options["output"]:
            with open(options["output"], "w", newline="", encoding="utf-8") as output:
                count = _write(rows, output, options["format"])
        else:
            count = _write(rows, sys.stdout, options["format"])
        target = f"audit since {since.isoformat()}" + (f" until {until.isoformat()}" if until else "")
        audit_record(action="export", outcome=200, username="manage.py export_audit", target=target)
        self.stderr.write(f"{count} audit event(s) exported")


def _write(rows, output, fmt: str) -> int:
    """Stream the rows as CSV or JSON lines; returns how many."""
    count = 0
    writer = csv.writer(output) if fmt == "csv" else None
    if writer is not None:
        writer.writerow(FIELDS)
    for row in rows.iterator(chunk_size=2000):
        values = [row[0].isoformat(), *row[1:]]
        if writer is not None:
            writer.writerow(values)
        else:
            output.write(json.dumps(dict(zip(FIELDS, values, strict=True))) + "\n")
        count += 1
    return count
