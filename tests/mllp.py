"""An MLLP listener on a thread of the test process, and a sender using python-hl7's own MLLP client."""

import asyncio
import threading

import hl7
from hl7.mllp import open_hl7_connection

from healthcare.encounters.ingest.mapping import ClassMapping
from healthcare.encounters.mllp import AdtListener


class Running:
    """An AdtListener serving on a free port from an event loop on a thread of its own."""

    def __init__(self, mapping: ClassMapping, **options):
        self.listener = AdtListener(source="hl7", mapping=mapping, **options)
        self.loop = asyncio.new_event_loop()
        started = threading.Event()

        def run():
            asyncio.set_event_loop(self.loop)
            self.server = self.loop.run_until_complete(self.listener.start("127.0.0.1", 0))
            started.set()
            self.loop.run_forever()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        assert started.wait(10)
        self.port = self.server.sockets[0].getsockname()[1]

    def stop(self):
        async def shutdown():
            self.server.close()
            connections = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in connections:
                task.cancel()
            await asyncio.gather(*connections, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()
        self.listener.close()


async def exchange(port: int, blocks: list[bytes], *, wait_each: bool = True) -> list[hl7.Message]:
    """Send MLLP blocks on one connection; the acknowledgements, in order."""
    reader, writer = await open_hl7_connection("127.0.0.1", port, encoding="utf-8")
    answers = []
    try:
        for block in blocks:
            writer.writeblock(block)
            await writer.drain()
            if wait_each:
                answers.append(await asyncio.wait_for(reader.readmessage(), 10))
        if not wait_each:
            for _ in blocks:
                answers.append(await asyncio.wait_for(reader.readmessage(), 30))
    finally:
        writer.close()
        await writer.wait_closed()
    return answers


def send(port: int, *blocks: bytes, wait_each: bool = True) -> list[hl7.Message]:
    return asyncio.run(exchange(port, list(blocks), wait_each=wait_each))
