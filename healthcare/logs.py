"""Structured logs that follow one piece of work: a request id from the request (or the proxy's
X-Request-ID) into the Celery tasks it queues and the live events it causes.

Each line carries the request id and the user id, never patient data: request lines name the
view (its route), not the path, whose ids and query could identify a patient.
"""

import contextvars
import json
import logging
import re
import time
import uuid
from datetime import UTC, datetime

from django.utils.functional import empty
from opentelemetry import trace

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
user_id_var: contextvars.ContextVar[int | None] = contextvars.ContextVar("user_id", default=None)
task_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("task", default=None)
_request_var: contextvars.ContextVar = contextvars.ContextVar("request", default=None)

# What a proxy may hand us as a request id; anything else is replaced (it ends up in every log line).
REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9._-]{8,64}")
REQUEST_HEADER = "HTTP_X_REQUEST_ID"
RESPONSE_HEADER = "X-Request-ID"

request_logger = logging.getLogger("healthcare.request")


def current_request_id() -> str | None:
    return request_id_var.get()


def current_user_id() -> int | None:
    """The signed-in user of this request (once authentication ran), or the user a task was queued by."""
    request = _request_var.get()
    if request is not None:
        user = request.__dict__.get("user")
        # AuthenticationMiddleware's user is lazy: read it only if something already did (no query here).
        wrapped = getattr(user, "_wrapped", user)
        if wrapped is not None and wrapped is not empty and getattr(wrapped, "is_authenticated", False):
            return wrapped.pk
    return user_id_var.get()


class RequestIdMiddleware:
    """Gives each request an id (the proxy's X-Request-ID when it is sane), returns it in the
    response, and logs one line per request: view, method, status, milliseconds, user."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        offered = request.META.get(REQUEST_HEADER, "")
        request_id = offered if REQUEST_ID_PATTERN.fullmatch(offered) else uuid.uuid4().hex
        tokens = (request_id_var.set(request_id), _request_var.set(request))
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response[RESPONSE_HEADER] = request_id
            match = getattr(request, "resolver_match", None)
            request_logger.info(
                "request",
                extra={
                    "view": match.view_name if match else None,
                    "route": match.route if match else None,
                    "method": request.method,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
            return response
        finally:
            request_id_var.reset(tokens[0])
            _request_var.reset(tokens[1])


class ContextFilter(logging.Filter):
    """Adds request_id, user_id, task and, with tracing on, trace_id to every record (None when there is none)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id()
        record.user_id = current_user_id()
        record.task = task_var.get()
        span = trace.get_current_span().get_span_context()
        record.trace_id = format(span.trace_id, "032x") if span.is_valid else None
        return True


# LogRecord attributes that are not extra fields (the rest, given with extra=, are logged as such).
_RECORD_FIELDS = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, context, extras, exception."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RECORD_FIELDS and value is not None:
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


# --- Celery: the ids travel in the task message's headers -----------------------------------------


def task_headers_add(headers: dict | None = None, **kwargs) -> None:
    """before_task_publish: put this request's id and user into the message."""
    if headers is not None:
        headers.setdefault("request_id", current_request_id())
        headers.setdefault("user_id", current_user_id())


_task_tokens: dict[str, tuple] = {}


def task_context_enter(task_id=None, task=None, **kwargs) -> None:
    """task_prerun: log under the id of the request that queued the task (an eager task keeps its
    caller's; one from beat gets its own)."""
    request = task.request
    request_id = getattr(request, "request_id", None) or current_request_id() or f"task-{task_id}"
    user_id = getattr(request, "user_id", None) or current_user_id()
    _task_tokens[task_id] = (request_id_var.set(request_id), user_id_var.set(user_id), task_var.set(task.name))


def task_context_leave(task_id=None, **kwargs) -> None:
    """task_postrun: back to what was before (nothing on a worker, the caller's request when eager)."""
    tokens = _task_tokens.pop(task_id, None)
    if tokens is not None:
        for var, token in zip((request_id_var, user_id_var, task_var), tokens, strict=True):
            var.reset(token)
