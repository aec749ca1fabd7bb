"""hl7_listen: receive HL7 v2 ADT messages over MLLP and apply them to the census (docs/integration.md)."""

import asyncio
import signal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from healthcare.encounters.ingest.mapping import MappingError, load_mapping
from healthcare.encounters.mllp import DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_MESSAGE_BYTES, AdtListener
from healthcare.encounters.models import source_validator


class Command(BaseCommand):
    help = "Listen for HL7 v2 ADT messages over MLLP; answer each with AA, AE or AR."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
        parser.add_argument("--port", type=int, default=2575, help="TCP port (default 2575, HL7's registered port)")
        parser.add_argument("--mapping", help="JSON mapping file; its 'hl7' key maps points of care to departments")
        parser.add_argument("--source", default="hl7", help="source name of the stays (default hl7)")
        parser.add_argument("--max-connections", type=int, default=DEFAULT_MAX_CONNECTIONS)
        parser.add_argument("--max-message-bytes", type=int, default=DEFAULT_MAX_MESSAGE_BYTES)
        parser.add_argument("--metrics-port", type=int, help="serve the listener's Prometheus metrics on this port")

    def handle(self, *args, **options):
        try:
            source_validator(options["source"])
        except ValidationError as exc:
            raise CommandError(f"--source: {exc.messages[0]}") from None
        try:
            mapping = load_mapping(options["mapping"] or settings.INGEST_CLASS_MAPPING_FILE)
        except MappingError as exc:
            raise CommandError(str(exc)) from None
        if options["metrics_port"]:
            from prometheus_client import start_http_server

            start_http_server(options["metrics_port"], addr=options["host"])
        listener = AdtListener(
            source=options["source"],
            mapping=mapping,
            max_connections=options["max_connections"],
            max_message_bytes=options["max_message_bytes"],
        )
        try:
            asyncio.run(self._serve(listener, options["host"], options["port"]))
        finally:
            listener.close()

    async def _serve(self, listener: AdtListener, host: str, port: int) -> None:
        try:
            server = await listener.start(host, port)
        except OSError as exc:
            raise CommandError(f"cannot listen on {host}:{port} ({exc.strerror})") from None
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for number in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(number, stop.set)
        bound = ", ".join(f"{s.getsockname()[0]}:{s.getsockname()[1]}" for s in server.sockets)
        self.stdout.write(f"hl7_listen: MLLP on {bound}, source '{listener.source}' (Ctrl-C stops)", ending="\n")
        self.stdout.flush()
        async with server:
            await stop.wait()
        self.stdout.write("hl7_listen: stopped")
