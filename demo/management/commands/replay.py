import json
import os
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from demo.management.commands.seed_demo import DEFAULT_DEMO_PASSWORD
from healthcare.encounters.management.arguments import department_by_code, parse_moment
from healthcare.encounters.models import Department, Encounter
from healthcare.encounters.services import EventRecord, IngestError, events_apply

SOURCE = "replay"


class Command(BaseCommand):
    help = (
        "Stream a department's history as live admit and discharge events, for demos: the stays that began "
        "from --from on are replayed --speed times faster than they happened, stamped with the time they are "
        "sent, through the same events service as POST /api/v1/events."
    )

    def add_arguments(self, parser):
        parser.add_argument("--department", required=True)
        parser.add_argument(
            "--from", dest="start", required=True, help="Replay stays that began from here (ISO 8601, or e.g. 7d ago)"
        )
        parser.add_argument("--speed", type=float, default=1.0, help="History hours per real hour (default 1)")
        parser.add_argument("--hours", type=float, default=24 * 7, help="History hours to replay (default a week)")
        parser.add_argument(
            "--post-to",
            metavar="URL",
            help="Send the events to this server's POST /api/v1/events (as --user) instead of storing them here: "
            "then they reach its dashboards at once even on the in-memory channel layer",
        )
        parser.add_argument("--user", default="integrator", help="Who posts with --post-to (default integrator)")

    def handle(self, *args, **options):
        department = department_by_code(options["department"])
        text = options["start"]
        if text.endswith("d") and text[:-1].isdigit():
            start = timezone.now() - timedelta(days=int(text[:-1]))
        else:
            start = parse_moment(text, department.timezone, "--from")
        speed, hours = options["speed"], options["hours"]
        if not 0.1 <= speed <= 3600:
            raise CommandError("--speed must be 0.1-3600")
        self.api = _EventsApi(options["post_to"], options["user"], _password()) if options["post_to"] else None
        end = start + timedelta(hours=hours)
        stays = list(
            Encounter.objects.filter(department=department, start__gte=start, start__lt=end)
            .exclude(source=SOURCE)
            .order_by("start")
            .values_list("id", "start", "end")
        )
        if not stays:
            raise CommandError(f"{department.code} has no stays from {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M}")
        schedule = []  # (history moment, kind, stay id)
        for stay_id, began, ended in stays:
            schedule.append((began, "admit", stay_id))
            if ended is not None and ended < end:
                schedule.append((ended, "discharge", stay_id))
        schedule.sort()
        self.stdout.write(
            f"Replaying {len(stays)} stays of {department.code} ({len(schedule)} events) at {speed:g}x; Ctrl-C stops."
        )
        began_at = time.monotonic()
        run = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
        for number, (moment, kind, stay_id) in enumerate(schedule, start=1):
            due = (moment - start).total_seconds() / speed
            delay = due - (time.monotonic() - began_at)
            if delay > 0:
                time.sleep(delay)
            self._send(department, kind, f"{run}-{stay_id}", f"{run}-{number}")
            if number % 25 == 0:
                self.stdout.write(f"  ... {number}/{len(schedule)} events sent")
        self.stdout.write(self.style.SUCCESS(f"Replay of {department.code} done."))

    def _send(self, department: Department, kind: str, encounter_id: str, event_id: str) -> None:
        if self.api is not None:
            event = {"event_id": event_id, "kind": kind, "encounter_id": encounter_id}
            event["occurred_at"] = timezone.now().isoformat()
            if kind == "admit":
                event.update(department=department.code, patient=f"replay-{encounter_id}")
            problem = self.api.send(event)
            if problem:
                self.stderr.write(f"  skipped {kind} {encounter_id}: {problem}")
            return
        event = EventRecord(
            event_id=event_id,
            kind=kind,
            encounter_id=encounter_id,
            occurred_at=timezone.now(),
            location=event_id,
            department_code=department.code,
            patient_id=f"replay-{encounter_id}",
        )
        try:
            events_apply(source=SOURCE, events=[event], visible_departments=Department.objects.filter(id=department.id))
        except IngestError as exc:
            self.stderr.write(f"  skipped {kind} {encounter_id}: {exc.errors[0]}")


def _password() -> str:
    """The --user's password: REPLAY_PASSWORD, else DEMO_PASSWORD, else (DEBUG only) the demo's."""
    from django.conf import settings

    password = os.environ.get("REPLAY_PASSWORD") or os.environ.get("DEMO_PASSWORD")
    if password:
        return password
    if not settings.DEBUG:
        raise CommandError("Set REPLAY_PASSWORD (the password of --user) to use --post-to")
    return DEFAULT_DEMO_PASSWORD


class _EventsApi:
    """POST /api/v1/events as an integrator would: a token, renewed when it expires."""

    def __init__(self, base: str, username: str, password: str):
        self.base, self.credentials, self.token = base.rstrip("/"), {"username": username, "password": password}, None

    def _call(self, path: str, body: dict, token: str | None = None) -> tuple[int, dict]:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(
            f"{self.base}{path}", data=json.dumps(body).encode(), headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")

    def _login(self) -> str:
        for _ in range(60):  # the server may still be starting (make demo starts both at once)
            try:
                status, body = self._call("/api/v1/auth/token/", self.credentials)
            except OSError:
                time.sleep(1)
                continue
            if status != 200:
                raise CommandError(f"{self.base} refused {self.credentials['username']}: {body}")
            return body["access"]
        raise CommandError(f"{self.base} is not answering")

    def send(self, event: dict) -> str | None:
        """Post one event; returns the refusal, if any."""
        for _ in range(2):
            self.token = self.token or self._login()
            status, body = self._call("/api/v1/events", {"source": SOURCE, "events": [event]}, self.token)
            if status == 401:  # the access token expired: sign in again
                self.token = None
                continue
            return None if status == 200 else f"HTTP {status} {body}"
        return "HTTP 401 after signing in again"
