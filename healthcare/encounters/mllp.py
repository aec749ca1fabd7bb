"""The MLLP listener: HL7 v2 ADT messages in over TCP, an original-mode acknowledgement back for each.

python-hl7's asyncio streams frame the messages (<VT> ... <FS><CR>). Each connection is read one
message at a time and answered in order; the database work runs on one thread of its own, so the
event loop only moves bytes. An acknowledgement is written after the message's transaction commits:
a listener killed before it loses nothing it acknowledged, and the sender resends what it did not
get an answer for (the control id makes the resend harmless).

Backpressure: a connection's next message is not read until its previous one is answered, so a
sender that floods fills its own socket buffer, not this process; connections beyond
max_connections are closed at once, and a message longer than max_message_bytes is refused.
"""

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.db import DatabaseError, close_old_connections, connection
from hl7.mllp import InvalidBlockError, start_hl7_server

from healthcare.encounters.ingest.hl7 import (
    APPLICATION_INTERNAL_ERROR,
    SEGMENT_SEQUENCE_ERROR,
    Header,
    Hl7Reject,
    Problem,
    ack,
    normalise,
    parse_adt,
    read_header,
)
from healthcare.encounters.ingest.mapping import ClassMapping
from healthcare.encounters.metrics import HL7_ACK_SECONDS, HL7_MESSAGES
from healthcare.encounters.services.adt import adt_apply, adt_log_unread

logger = logging.getLogger(__name__)

DEFAULT_MAX_MESSAGE_BYTES = 1 << 20
DEFAULT_MAX_CONNECTIONS = 32


@dataclass
class AdtListener:
    """Answers ADT messages for one source (the encounters' source, e.g. "hl7") with one mapping."""

    source: str
    mapping: ClassMapping
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES

    def __post_init__(self) -> None:
        # One thread: its database connection is reused, and messages are applied in the order read.
        self._database = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hl7-db")
        self._connections = 0

    async def start(self, host: str, port: int) -> asyncio.Server:
        """Listen on host:port (port 0: any free port, see server.sockets)."""
        return await start_hl7_server(self._connection, host, port, limit=self.max_message_bytes)

    def close(self) -> None:
        self._database.shutdown(wait=True)

    async def _connection(self, reader, writer) -> None:
        peer = writer.get_extra_info("peername")
        if self._connections >= self.max_connections:
            logger.warning("hl7: refused a connection from %s (already %d open)", peer, self._connections)
            writer.close()
            return
        self._connections += 1
        logger.info("hl7: connection from %s", peer)
        loop = asyncio.get_running_loop()
        try:
            while True:
                try:
                    block = await reader.readblock()
                except asyncio.IncompleteReadError:
                    break  # the sender closed, perhaps mid-message: nothing of it was acknowledged
                except (ValueError, InvalidBlockError) as exc:
                    reply = self._framing_reply(exc)
                else:
                    reply = await loop.run_in_executor(self._database, self.answer, block)
                writer.writeblock(reply.encode("utf-8"))
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            self._connections -= 1
            writer.close()
            logger.info("hl7: connection from %s closed", peer)

    def _framing_reply(self, exc: Exception) -> str:
        if isinstance(exc, InvalidBlockError):
            problem = Problem("MSH", None, SEGMENT_SEQUENCE_ERROR, "the MLLP block does not begin with <VT>")
        else:
            problem = Problem("MSH", None, SEGMENT_SEQUENCE_ERROR, f"longer than {self.max_message_bytes} bytes")
        HL7_MESSAGES.labels(trigger="", outcome="AR", reason="MSH").inc()
        return ack(None, "AR", problem=problem)

    def answer(self, block: bytes) -> str:
        """The acknowledgement of one MLLP block (runs on the database thread)."""
        started = time.perf_counter()
        close_old_connections()  # a connection the database dropped is replaced, not reused
        message = None
        try:
            adt, message = parse_adt(normalise(block))
            outcome = adt_apply(message=adt, source=self.source, mapping=self.mapping)
            code, problem, trigger = outcome.code, outcome.problem, adt.trigger
            reason = f"{problem.segment}-{problem.field}" if problem else outcome.note.split(" ")[0]
        except Hl7Reject as exc:
            message = exc.message
            code, problem, reason = exc.code, exc.problem, f"{exc.problem.segment}-{exc.problem.field or ''}"
            trigger = read_header(message).trigger if message is not None else ""
            self._log_unread(message, exc)
        except DatabaseError:
            logger.exception("hl7: database error; answered AE so that the sender resends")
            connection.close()
            code, reason = "AE", "database"
            trigger = read_header(message).trigger if message is not None else ""
            problem = Problem("MSH", 10, APPLICATION_INTERNAL_ERROR, "not stored (database unavailable); resend it")
        HL7_MESSAGES.labels(trigger=trigger, outcome=code, reason=reason).inc()
        HL7_ACK_SECONDS.observe(time.perf_counter() - started)
        return ack(message, code, problem=problem)

    def _log_unread(self, message, exc: Hl7Reject) -> None:
        header = read_header(message) if message is not None else Header()
        try:
            adt_log_unread(header=header, source=self.source, outcome=exc.code, problem=exc.problem)
        except DatabaseError:
            logger.exception("hl7: could not log a rejected message")
            connection.close()
