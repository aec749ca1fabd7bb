"""The audit trail: one function writes it; a middleware and the sign-in paths call it."""

import ipaddress
import logging
from functools import cache, partial

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest

from healthcare.db.statements import RowInsert
from healthcare.private_pieces import private_piece_enabled
from monitoring_app.models import AuditEvent

logger = logging.getLogger(__name__)

# Reads of encounter-level data (everything else is aggregate: counts per hour, forecasts, plans).
ENCOUNTER_READ_PREFIXES = ("/api/v1/encounters", "/api/v1/fhir/", "/admin/encounters/encounter/")
UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
# Sign-ins are recorded where their outcome and user name are known (healthcare/accounts).
NOT_HERE = ("/api/v1/auth/token/", "/accounts/login/", "/admin/login/", "/static/")


def client_address(request: HttpRequest) -> str | None:
    """The client's address, from the header the proxy sets when configured (as the rate limits use)."""
    key = settings.RATELIMIT_IP_META_KEY or "REMOTE_ADDR"
    address = request.META.get(key, "") if isinstance(key, str) else ""
    address = address.split(",")[0].strip()
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:  # absent, or a forged header that is no address: never a reason to lose the event
        return None


@cache
def _audit_insert():
    """The audit row's INSERT, compiled once: it follows every encounter read and every write."""
    return RowInsert(AuditEvent)


def audit_record(
    *, action: str, outcome: int, request: HttpRequest | None = None, user=None, username: str = "", target: str = ""
) -> None:
    """Append one event. A failure to write it is logged loudly, never raised into the work it records."""

    if request is not None:
        user = user if user is not None else getattr(request, "user", None)
        target = target or request.get_full_path()[:1000]
    if user is not None and not user.is_authenticated:
        user = None
    event = AuditEvent(
        user=user,
        username=username or (user.get_username() if user else ""),
        action=action,
        method=(request.method or "") if request is not None else "",
        target=target[:1000],
        ip=client_address(request) if request is not None else None,
        outcome=outcome,
    )
    if not private_piece_enabled("statements"):
        save = partial(event.save, force_insert=True)
    else:
        save = partial(_audit_insert().save, event)
    try:
        if transaction.get_connection().in_atomic_block:
            # A savepoint: a failed insert must not break the transaction of the work it records.
            with transaction.atomic():
                save()
        else:
            save()  # one INSERT in autocommit: no BEGIN and COMMIT around it
    except Exception:  # noqa: BLE001 - the audit must never turn a done request into an error
        logger.exception("audit event not written: %s %s %s", action, target, outcome)


SIGN_IN_PATHS = ("/api/v1/auth/token/", "/accounts/login/", "/admin/login/")


def audited_action(request: HttpRequest, status: int) -> str | None:
    """What the middleware records this request as, or None."""
    path = request.path
    if path.startswith(SIGN_IN_PATHS) and status in (429, 503):
        return "login.blocked"  # stopped by a rate limit before any password was checked
    if path.startswith(NOT_HERE):
        return None
    if request.method in UNSAFE_METHODS:
        return "admin.write" if path.startswith("/admin/") else "write"
    if request.method == "GET" and path.startswith(ENCOUNTER_READ_PREFIXES):
        return "read.encounters"
    return None


class AuditMiddleware:
    """Every write (API, pages, admin) and every read of encounter-level data, with its outcome."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        action = audited_action(request, response.status_code)
        if action is not None:
            audit_record(action=action, outcome=response.status_code, request=request)
        return response
