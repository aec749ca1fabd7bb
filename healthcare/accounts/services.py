"""Token lifecycle: revoke a user's refresh tokens (logout everywhere, password change, deactivation).
Single sign-on: the user of a provider account, with the roles and departments its claims give."""

import hashlib
import logging
import re
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from healthcare.accounts.models import OidcIdentity
from healthcare.accounts.signals import departments_claimed

logger = logging.getLogger(__name__)


def user_tokens_revoke(*, user) -> int:
    """Blacklist every refresh token issued to `user` that is not blacklisted yet. Returns how many.

    Access tokens are short-lived (JWT_ACCESS_MINUTES) and carry a digest of the password,
    so a password change also rejects them at once; deactivation rejects them at once too.
    """
    outstanding = OutstandingToken.objects.filter(user=user).exclude(blacklistedtoken__isnull=False)
    revoked = [BlacklistedToken(token=token) for token in outstanding]
    BlacklistedToken.objects.bulk_create(revoked, ignore_conflicts=True)
    return len(revoked)


@dataclass(frozen=True)
class ClaimedAccess:
    """What a provider's claims give a user here: role names (groups) and department codes."""

    roles: frozenset[str]
    departments: frozenset[str]


def _claim_values(claims: dict, name: str) -> list[str]:
    """The strings of a claim: a list, or one string; a dotted name reads nested objects
    (Keycloak's realm_access.roles)."""
    value = claims
    for part in name.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def claims_access(claims: dict, mapping: dict) -> ClaimedAccess:
    """The roles and departments the claims map to (settings.OIDC_CLAIMS_MAPPING); unmapped values are ignored."""
    groups = _claim_values(claims, mapping["roles_claim"])
    roles = {mapping["roles"][group] for group in groups if group in mapping["roles"]}
    departments = set(_claim_values(claims, mapping["departments_claim"]))
    departments.update(mapping["departments"][group] for group in groups if group in mapping["departments"])
    return ClaimedAccess(roles=frozenset(roles), departments=frozenset(departments))


def _username_for(claims: dict, issuer: str) -> str:
    """A free user name for a new single sign-on user: their preferred name when no one has it yet,
    else with a suffix from their identity (never a local account's name)."""
    wanted = claims.get("preferred_username") or claims.get("email") or "sso"
    base = re.sub(r"[^\w.@+-]", "", str(wanted))[:120] or "sso"
    if not get_user_model().objects.filter(username__iexact=base).exists():
        return base
    digest = hashlib.sha256(f"{issuer} {claims['sub']}".encode()).hexdigest()[:10]
    return f"{base}-{digest}"


NO_ROLE = (
    "Your hospital account has no role in Hospital Workload, so it cannot sign you in here. Ask your "
    "manager to add you to one of its groups at the identity provider, then sign in again."
)


class SignInRefused(Exception):
    """A provider account that may not sign in here; the message says why, for the person refused."""


def identity_sign_in(*, issuer: str, claims: dict, mapping: dict):
    """The user of a provider account (issuer and `sub`), with exactly the roles and departments its
    claims give now; created at their first sign-in.

    Roles are groups: the user's groups become the mapped ones, and the admin role alone opens the
    admin (is_staff). Departments are set by healthcare.encounters (signals.departments_claimed).
    Raises SignInRefused when the claims map to no role (an existing user has then lost every role,
    department and admin right, committed) or when the user was deactivated here.
    """
    access = claims_access(claims, mapping)
    User = get_user_model()
    with transaction.atomic():
        identity = OidcIdentity.objects.select_related("user").filter(issuer=issuer, subject=claims["sub"]).first()
        if identity is None and not access.roles:
            raise SignInRefused(NO_ROLE)
        if identity is None:
            user = User.objects.create_user(username=_username_for(claims, issuer))  # no usable password
            identity = OidcIdentity.objects.create(user=user, issuer=issuer, subject=claims["sub"])
        user = identity.user
        if not user.is_active:
            raise SignInRefused("This account has been deactivated here. Ask an administrator of Hospital Workload.")
        groups = list(Group.objects.filter(name__in=access.roles))
        if len(groups) < len(access.roles):
            unknown = sorted(access.roles - {group.name for group in groups})
            logger.error("OIDC_CLAIMS_MAPPING maps to roles that do not exist: %s", unknown)
        user.groups.set(groups)
        user.is_staff = any(group.name == "admin" for group in groups)
        for field, claim in (("email", "email"), ("first_name", "given_name"), ("last_name", "family_name")):
            if isinstance(claims.get(claim), str):
                setattr(user, field, claims[claim][: User._meta.get_field(field).max_length])
        user.save(update_fields=["is_staff", "email", "first_name", "last_name"])
        codes = access.departments if groups else frozenset()
        departments_claimed.send(sender=OidcIdentity, user=user, codes=codes)
    if not groups:
        raise SignInRefused(NO_ROLE)
    return user
