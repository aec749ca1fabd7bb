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

from django.db import DatabaseError, connection, connections
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
from healthcare.encounters.services.adt import AdtOutcome, adt_apply_batch, adt_log_unread

logger = logging.getLogger(__name__)

DEFAULT_MAX_MESSAGE_BYTES = 1 << 20
DEFAULT_MAX_CONNECTIONS = 32
# Messages already received on a connection that are applied together in one transaction.
DEFAULT_MAX_BATCH = 64


@dataclass
class AdtListener:
    """Answers ADT messages for one source (the encounters' source, e.g. "hl7") with one mapping."""

    source: str
    mapping: ClassMapping
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    max_batch: int = DEFAULT_MAX_BATCH

    def __post_init__(self) -> None:
        # One thread: its database connection is reused, and messages are applied in the order read.
        self._database = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hl7-db")
        self._connections = 0

    async def start(self, host: str, port: int) -> asyncio.Server:
        """Listen on host:port (port 0: any free port, see server.sockets)."""
        return await start_hl7_server(self._connection, host, port, limit=self.max_message_bytes)

    def close(self) -> None:
        """Close the database thread's connections, then the thread."""
        self._database.submit(connections.close_all).result()
        self._database.shutdown(wait=True)

    async def _connection(self, reader, writer) -> None:
        peer = writer.get_extra_info("peername")
        if self._connections >= self.max_connections:
            logger.warning("hl7: refused a connection from %s (already %d open)", peer, self._connections)
            writer.close()
            return
        self._connections += 1
        logger.info("hl7: connection from %s", peer)
        # A bounded queue between reading and answering: when it is full, reading stops and the
        # sender's socket fills up, which is the backpressure a flood meets.
        received: asyncio.Queue = asyncio.Queue(maxsize=self.max_batch)
        reading = asyncio.create_task(self._read(reader, received))
        loop = asyncio.get_running_loop()
        try:
            ended = False
            while not ended:
                batch = [await received.get()]
                while len(batch) < self.max_batch and not received.empty():
                    batch.append(received.get_nowait())
                if batch[-1] is None:
                    ended = True  # the sender closed, perhaps mid-message: nothing of that was acknowledged
                    batch.pop()
                if not batch:
                    continue
                replies = await loop.run_in_executor(self._database, self.answer_all, batch)
                for reply in replies:
                    writer.writeblock(reply.encode("utf-8"))
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            reading.cancel()
            self._connections -= 1
            writer.close()
            logger.info("hl7: connection from %s closed", peer)

    async def _read(self, reader, received: asyncio.Queue) -> None:
        """Put each MLLP block (or the framing error in its place) on the queue; None when the sender closes."""
        while True:
            try:
                block = await reader.readblock()
            except (asyncio.IncompleteReadError, ConnectionError):
                break
            except (ValueError, InvalidBlockError) as exc:
                block = exc
            await received.put(block)
        await received.put(None)

    def _framing_reply(self, exc: Exception) -> str:
        if isinstance(exc, InvalidBlockError):
            problem = Problem("MSH", None, SEGMENT_SEQUENCE_ERROR, "the MLLP block does not begin with <VT>")
        else:
            problem = Problem("MSH", None, SEGMENT_SEQUENCE_ERROR, f"longer than {self.max_message_bytes} bytes")
        HL7_MESSAGES.labels(trigger="", outcome="AR", reason="MSH").inc()
        return ack(None, "AR", problem=problem)

    def answer_all(self, blocks: list) -> list[str]:
        """The acknowledgements of MLLP blocks read together, in order (runs on the database thread).

        The messages among them are applied as one batch (adt_apply_batch); framing errors and
        messages that cannot be read are answered AR on their own.
        """
        started = time.perf_counter()
        replies: list[str | None] = [None] * len(blocks)
        readable = []  # (position, AdtMessage, parsed message)
        for position, block in enumerate(blocks):
            if isinstance(block, Exception):
                replies[position] = self._framing_reply(block)
                continue
            try:
                adt, message = parse_adt(normalise(block))
            except Hl7Reject as exc:
                replies[position] = self._rejected(exc)
                continue
            readable.append((position, adt, message))
        if readable:
            messages = [adt for _, adt, _ in readable]
            try:
                outcomes = adt_apply_batch(messages=messages, source=self.source, mapping=self.mapping)
            except DatabaseError:
                # The thread keeps its connection between batches; after an error it is closed, and
                # the next batch opens a new one (the database may be back by then).
                logger.exception("hl7: database error; answered AE so that the sender resends")
                connection.close()
                problem = Problem("MSH", 10, APPLICATION_INTERNAL_ERROR, "not stored (database unavailable); resend it")
                outcomes = [AdtOutcome("AE", "database", problem) for _ in messages]
            for (position, adt, message), outcome in zip(readable, outcomes, strict=True):
                problem = outcome.problem
                reason = outcome.note.split(" ")[0] if outcome.note else f"{problem.segment}-{problem.field}"
                HL7_MESSAGES.labels(trigger=adt.trigger, outcome=outcome.code, reason=reason).inc()
                replies[position] = ack(message, outcome.code, problem=problem)
        elapsed = time.perf_counter() - started
        for _ in blocks:
            HL7_ACK_SECONDS.observe(elapsed)
        return replies

    def _rejected(self, exc: Hl7Reject) -> str:
        message = exc.message
        trigger = read_header(message).trigger if message is not None else ""
        HL7_MESSAGES.labels(
            trigger=trigger, outcome=exc.code, reason=f"{exc.problem.segment}-{exc.problem.field or ''}"
        ).inc()
        self._log_unread(message, exc)
        return ack(message, exc.code, problem=exc.problem)

    def _log_unread(self, message, exc: Hl7Reject) -> None:
        header = read_header(message) if message is not None else Header()
        try:
            adt_log_unread(header=header, source=self.source, outcome=exc.code, problem=exc.problem)
        except DatabaseError:
            logger.exception("hl7: could not log a rejected message")
            connection.close()
