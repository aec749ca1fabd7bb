"""Rate limits (django-ratelimit counts in the shared cache), answered with 429 and Retry-After.

When the cache cannot be reached the outcome is chosen per limit, not left to chance:
sign-in fails closed (503: guessing passwords must not get easier while Redis is down),
data writes fail open (a ward's admissions keep flowing; the outage is logged).
"""

import json
import logging
from dataclasses import dataclass
from functools import wraps

from django.conf import settings
from django_ratelimit.core import is_ratelimited
from django_ratelimit.exceptions import Ratelimited
from rest_framework.exceptions import ParseError, UnsupportedMediaType
from rest_framework.request import Request

logger = logging.getLogger(__name__)


class LimitUnavailable(Exception):
    """The cache that counts requests is down and this limit fails closed."""


def _period_seconds(rate: str) -> int:
    """'10/m' -> 60: how long a client waits at most before its window starts again."""
    unit = rate.split("/")[1]
    count = "".join(ch for ch in unit if ch.isdigit())
    seconds = {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit.lstrip("0123456789")[0]]
    return seconds * (int(count) if count else 1)


def username_key(group: str, request) -> str:
    """The user name being tried, from a DRF request, a form or a JSON body (empty if none)."""
    if isinstance(request, Request):  # DRF: the body is parsed once, through request.data
        try:
            data = request.data
        except (ParseError, UnsupportedMediaType):  # the view answers 400 or 415 for this body
            data = None
        username = data.get("username", "") if hasattr(data, "get") else ""
    else:
        username = request.POST.get("username", "")
        if not username and request.content_type == "application/json":
            try:
                username = json.loads(request.body or b"{}").get("username", "")
            except (ValueError, AttributeError):
                username = ""
    return str(username).strip().lower()


def user_or_ip_key(group: str, request) -> str:
    user = getattr(request, "user", None)
    return f"user:{user.pk}" if user is not None and user.is_authenticated else f"ip:{request.META.get('REMOTE_ADDR')}"


@dataclass(frozen=True)
class RateLimit:
    """The limits a view is decorated with: their groups, and whether a store outage lets requests through."""

    groups: tuple[str, ...]
    fail_open: bool


def limited(*limits: tuple[str, object, str], fail_open: bool):
    """Decorate a view (or a DRF method) with limits: (group, key, rate) each, on unsafe methods only.

    Over a limit: Ratelimited, with retry_after set (the handlers answer 429 + Retry-After).
    """

    def decorate(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if settings.RATELIMIT_ENABLE and request.method not in ("GET", "HEAD", "OPTIONS"):
                for group, key, rate in limits:
                    try:
                        over = is_ratelimited(request, group=group, key=key, rate=rate, increment=True)
                    except Exception as exc:  # noqa: BLE001 - any cache failure: the limit's own policy
                        logger.warning("rate limit %s: cache unavailable (%s)", group, type(exc).__name__)
                        if fail_open:
                            continue
                        raise LimitUnavailable(group) from exc
                    if over:
                        exception = Ratelimited(f"too many requests ({group})")
                        exception.retry_after = _period_seconds(rate)
                        raise exception
            return view(request, *args, **kwargs)

        # The API schema documents 429 (and 503 for limits that fail closed) from this mark.
        wrapped.rate_limit = RateLimit(groups=tuple(group for group, _, _ in limits), fail_open=fail_open)
        return wrapped

    return decorate


def refresh_limited(view):
    """Token refresh (no user name is sent): per address; fails closed."""
    return limited(("sign-in-ip", "ip", settings.RATELIMIT_SIGN_IN), fail_open=False)(view)


def sign_in_limited(view):
    """Token and sign-in forms: per address and per user name tried; fails closed."""
    return limited(
        ("sign-in-ip", "ip", settings.RATELIMIT_SIGN_IN),
        ("sign-in-user", username_key, settings.RATELIMIT_SIGN_IN_USER),
        fail_open=False,
    )(view)


def write_limited(view):
    """Data writes (encounters, events, FHIR): per user; fails open."""
    return limited(("write", user_or_ip_key, settings.RATELIMIT_WRITES), fail_open=True)(view)


def job_limited(view):
    """Forecast and plan requests (each costs a worker seconds): per user; fails open."""
    return limited(("jobs", user_or_ip_key, settings.RATELIMIT_JOBS), fail_open=True)(view)


def limit_response_headers(exc: Exception) -> tuple[int, dict, str] | None:
    """(status, headers, message) for a limit exception; None for any other exception."""
    if isinstance(exc, Ratelimited):
        retry_after = getattr(exc, "retry_after", 60)
        return 429, {"Retry-After": str(retry_after)}, f"Too many requests; try again in {retry_after} s."
    if isinstance(exc, LimitUnavailable):
        return 503, {"Retry-After": "30"}, "Sign-in is paused while the rate-limit store is unavailable."
    return None
