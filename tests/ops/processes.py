"""Real processes for the operations proofs (tests/ops and bench/faults.py): daphne, Celery workers,
redis-server and manage.py commands, each started in its own session (process group) and stopped by
its id, plus the small clients the proofs need (HTTP, a websocket reader, a read load).

Only the standard library: no client dependency beyond what the product already has.
"""

import base64
import contextlib
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent  # the virtualenv's bin: daphne, celery, gunicorn


class WaitTimeout(AssertionError):
    """A bounded wait ran out; the message says what was awaited and what was seen."""


def wait_for(predicate: Callable, *, timeout: float, what: str, seen: Callable[[], str] | None = None, interval=0.05):
    """Poll `predicate` until it returns something true (returned), or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            detail = f"; seen: {seen()}" if seen else ""
            raise WaitTimeout(f"waited {timeout:g} s for {what}{detail}")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Service:
    """A process started in its own session: its group is the process and every child it forks."""

    name: str
    argv: list[str]
    popen: subprocess.Popen
    log_path: Path
    base: str = ""  # a web process's URL
    backing: bool = False  # stopped after the others

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    def group_alive(self) -> bool:
        """True while any process of the group (the service or a child it forked) still runs."""
        self.popen.poll()  # reap the leader once it exits, so it does not linger as a zombie
        return bool(group_members(self.pid))

    def kill_group(self) -> None:
        """kill -9 the process and every child in its group (a container or machine lost)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)
        self.popen.wait(timeout=10)

    def stop(self, timeout: float = 15) -> None:
        """SIGTERM to the group, then SIGKILL to whatever of it is left after `timeout` seconds."""
        if self.group_alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while self.group_alive() and time.monotonic() < deadline:
                time.sleep(0.05)
            if self.group_alive():
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=10)


@dataclass
class Services:
    """Starts processes and stops every one of them (by process group) on close, pass or fail."""

    directory: Path
    started: list[Service] = field(default_factory=list)

    def start(self, name: str, argv: list, env: dict, *, cwd: Path = REPO, backing: bool = False) -> Service:
        """Start `argv` in a new session, its output in <name>.log (a name started before gets a suffix).

        backing: a service the others use (Redis), stopped after them on close."""
        taken = sum(service.name == name or service.name.startswith(f"{name}#") for service in self.started)
        name = f"{name}#{taken + 1}" if taken else name
        log_path = self.directory / f"{name}.log"
        handle = log_path.open("ab")
        try:
            popen = subprocess.Popen(
                [str(part) for part in argv],
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            handle.close()
        service = Service(name=name, argv=[str(part) for part in argv], popen=popen, log_path=log_path, backing=backing)
        self.started.append(service)
        return service

    def close(self) -> None:
        """Stop everything, newest first, backing services last (so the others do not retry them meanwhile)."""
        newest_first = self.started[::-1]
        for service in [s for s in newest_first if not s.backing] + [s for s in newest_first if s.backing]:
            service.stop()


def service_env(*, database_url: str, redis_url: str, **extra: str) -> dict:
    """Environment of a web or worker process: the product's settings, only from the environment."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        DEBUG="true",
        TASK_LOG_LEVEL="INFO",  # the tests read the workers' "Task ... succeeded" lines
        DJANGO_SETTINGS_MODULE="healthcare.settings",
        PYTHONUNBUFFERED="1",
        **extra,
    )
    return env


# --- Starting the product's processes ------------------------------------------------------------------


def web_start(services: Services, name: str, env: dict) -> Service:
    """daphne serving healthcare.asgi:application (HTTP and websockets) on a free port."""
    port = free_port()
    service = services.start(name, [BIN / "daphne", "-b", "127.0.0.1", "-p", port, "healthcare.asgi:application"], env)
    service.base = f"http://127.0.0.1:{port}"
    return service


def web_ready(service: Service, *, timeout: float = 60) -> None:
    """Wait until the web process answers its liveness probe."""

    def answers() -> bool:
        if not service.alive():
            raise WaitTimeout(f"{service.name} exited with {service.popen.returncode}:\n{service.log_tail()}")
        try:
            return http("GET", f"{service.base}/api/v1/health", timeout=2)[0] == 200
        except OSError:
            return False

    wait_for(answers, timeout=timeout, what=f"{service.name} to answer GET /api/v1/health", seen=service.log_tail)


def worker_argv(name: str, *, slow_plan: bool = False) -> list:
    """The production worker command (README), one pool process; or the same worker with slowed plans."""
    arguments = ["worker", "-l", "info", "--concurrency", "1", "-n", f"{name}@%h"]
    if slow_plan:
        return [sys.executable, "-m", "tests.ops.slow_worker", *arguments]
    return [BIN / "celery", "-A", "healthcare", *arguments]


def worker_start(services: Services, name: str, env: dict, *, slow_plan: bool = False) -> Service:
    return services.start(name, worker_argv(name, slow_plan=slow_plan), env)


def worker_ready(service: Service, *, timeout: float = 60) -> None:
    """Celery logs '<name>@<host> ready.' once it consumes the queue."""

    def ready() -> bool:
        if not service.alive():
            raise WaitTimeout(f"{service.name} exited with {service.popen.returncode}:\n{service.log_tail()}")
        return f"{service.name}@" in service.log() and " ready." in service.log()

    wait_for(ready, timeout=timeout, what=f"worker {service.name} to be ready", seen=service.log_tail)


def tasks_succeeded(service: Service, task: str) -> int:
    """How many times this worker logged `task` as succeeded."""
    return len(re.findall(rf"Task {re.escape(task)}\[[0-9a-f-]+\] succeeded", service.log()))


def pool_pids(service: Service) -> list[int]:
    """Pids of the processes the service forked (Celery's prefork pool)."""
    children = Path(f"/proc/{service.pid}/task/{service.pid}/children")
    try:
        return [int(pid) for pid in children.read_text().split()]
    except FileNotFoundError:
        return []


def group_members(group: int) -> list[int]:
    """Pids of the running (not zombie) processes of a process group (Linux /proc)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # pid (comm) state ppid pgrp ...: comm may hold spaces, so split after its closing parenthesis
            state, _, pgrp = stat.read_text().rpartition(")")[2].split()[:3]
        except (OSError, ValueError):
            continue
        if int(pgrp) == group and state != "Z":
            members.append(int(stat.parent.name))
    return members


def pid_alive(pid: int) -> bool:
    try:  # a zombie is dead: it only waits for its parent to read its status
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False


@dataclass
class RedisServer:
    """A private redis-server (no persistence) that a test may stop and start again on the same port."""

    services: Services
    port: int = field(default_factory=free_port)
    service: Service | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, *, timeout: float = 10) -> None:
        argv = ["redis-server", "--port", self.port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.service = self.services.start(
            f"redis-{self.port}", argv, dict(os.environ), cwd=self.services.directory, backing=True
        )
        wait_for(self.answers, timeout=timeout, what=f"redis-server on {self.port}", seen=self.service.log_tail)

    def stop(self) -> None:
        """Stop it as an operator would (SIGTERM: no save, no persistence) and wait until it is gone."""
        self.service.stop()

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as connection:
                connection.sendall(b"PING\r\n")
                return connection.recv(16).startswith(b"+PONG")
        except OSError:
            return False


# --- Clients ---------------------------------------------------------------------------------------------


def http(method: str, url: str, *, token: str | None = None, body=None, timeout: float = 10) -> tuple[int, object]:
    """(status, JSON body or text) of one request; HTTP errors are answers, not exceptions."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(
        url, data=json.dumps(body).encode() if body is not None else None, method=method, headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


class WebSocketClosed(ConnectionError):
    def __init__(self, code: int | None):
        super().__init__(f"the server closed the websocket (code {code})")
        self.code = code


class WebSocket:
    """A minimal websocket client (RFC 6455), enough to open a department's feed with a session
    cookie, as a browser does, and read its JSON messages."""

    def __init__(self, base: str, path: str, *, session: str, timeout: float = 10):
        parts = urlsplit(base)
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=timeout)
        self.buffer = bytearray()
        self.received: list[dict] = []
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nOrigin: {base}\r\n"
                f"Cookie: sessionid={session}\r\n\r\n"
            ).encode()
        )
        while b"\r\n\r\n" not in self.buffer:
            self._fill(time.monotonic() + timeout)
        head, _, rest = bytes(self.buffer).partition(b"\r\n\r\n")
        self.buffer = bytearray(rest)
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise ConnectionError(f"websocket handshake refused: {head.decode(errors='replace')}")

    def _fill(self, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no websocket data in time")
        self.sock.settimeout(remaining)
        chunk = self.sock.recv(65536)
        if not chunk:
            raise WebSocketClosed(None)
        self.buffer.extend(chunk)

    def _take(self, count: int, deadline: float) -> bytes:
        while len(self.buffer) < count:
            self._fill(deadline)
        taken = bytes(self.buffer[:count])
        del self.buffer[:count]
        return taken

    def _send(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)  # a client masks every frame it sends
        masked = bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))
        self.sock.sendall(bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked)

    def receive(self, timeout: float = 10) -> dict:
        """The next JSON message (answering pings on the way)."""
        deadline = time.monotonic() + timeout
        message = b""
        while True:
            first, second = self._take(2, deadline)
            opcode, length = first & 0x0F, second & 0x7F
            if length == 126:
                (length,) = struct.unpack("!H", self._take(2, deadline))
            elif length == 127:
                (length,) = struct.unpack("!Q", self._take(8, deadline))
            payload = self._take(length, deadline)
            if opcode == 0x8:
                raise WebSocketClosed(struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None)
            if opcode == 0x9:
                self._send(0xA, payload)
                continue
            if opcode in (0x1, 0x0):
                message += payload
                if first & 0x80:
                    decoded = json.loads(message)
                    self.received.append(decoded)
                    return decoded

    def receive_until(self, predicate: Callable[[dict], bool], *, timeout: float, what: str) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            try:
                message = self.receive(timeout=max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                events = [m.get("event") for m in self.received]
                raise WaitTimeout(f"waited {timeout:g} s on the websocket for {what}; received {events}") from None
            if predicate(message):
                return message

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._send(0x8, struct.pack("!H", 1000))
        self.sock.close()


@dataclass
class Outcome:
    at: float  # time.monotonic() when the answer came
    path: str
    status: int | str  # HTTP status, or the exception's name when no answer came
    seconds: float


class ReadLoad:
    """Threads reading API endpoints in a loop with a bearer token, recording every outcome."""

    def __init__(self, base: str, token: str, paths: list[str], *, threads: int = 3, pause: float = 0.02):
        self.base, self.token, self.paths, self.pause = base, token, paths, pause
        self.outcomes: list[Outcome] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(threads)]

    def _run(self, number: int) -> None:
        turn = number
        while not self._stop.is_set():
            path = self.paths[turn % len(self.paths)]
            turn += 1
            started = time.monotonic()
            try:
                status, _ = http("GET", f"{self.base}{path}", token=self.token, timeout=10)
            except OSError as exc:
                status = type(exc).__name__
            self.outcomes.append(Outcome(time.monotonic(), path, status, time.monotonic() - started))
            self._stop.wait(self.pause)

    def __enter__(self) -> "ReadLoad":
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=15)

    def between(self, start: float, end: float) -> list[Outcome]:
        return [outcome for outcome in list(self.outcomes) if start <= outcome.at < end]
